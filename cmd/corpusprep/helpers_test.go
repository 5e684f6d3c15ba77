package main

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// checkGolden compares docs with testdata/NAME, or rewrites it with -update.
func checkGolden(t *testing.T, name string, docs []document) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, writeJSONL(path, docs))
	}
	want, err := readJSONL(path)
	require.NoError(t, err, "golden file missing: run go test -run %s -update", t.Name())
	require.Equal(t, want, docs)
}

func gzipBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

// rWriter serializes the subset of R objects the reader supports (XDR,
// version 3), to build lazy-load databases for tests.
type rWriter struct{ b bytes.Buffer }

func newRWriter() *rWriter {
	w := &rWriter{}
	w.b.WriteString("X\n")
	w.int(3)
	w.int(0x040201)
	w.int(0x030500)
	w.int(5)
	w.b.WriteString("UTF-8")
	return w
}

func (w *rWriter) int(x int32) { _ = binary.Write(&w.b, binary.BigEndian, x) }

func (w *rWriter) char(s string) {
	w.int(rChar | 1<<15) // UTF-8 flag in the levels bits, as R writes
	w.int(int32(len(s)))
	w.b.WriteString(s)
}

// names writes the attribute pairlist (names = ...) that follows a vector.
func (w *rWriter) names(names []string) {
	w.int(rPairList | rTagBit)
	w.int(rSymbol)
	w.char("names")
	w.strings(names, nil)
	w.int(rNilValue)
}

func (w *rWriter) strings(values []string, names []string) {
	flags := int32(rString)
	if names != nil {
		flags |= rAttrBit
	}
	w.int(flags)
	w.int(int32(len(values)))
	for _, s := range values {
		w.char(s)
	}
	if names != nil {
		w.names(names)
	}
}

func (w *rWriter) ints(values ...int32) {
	w.int(rInt)
	w.int(int32(len(values)))
	for _, x := range values {
		w.int(x)
	}
}

// writeLazyLoadDB writes NAME.rdx/NAME.rdb holding character vectors.
func writeLazyLoadDB(t *testing.T, dir string, names []string, vectors [][]string) string {
	t.Helper()
	var rdb bytes.Buffer
	var offsets [][2]int32
	for _, v := range vectors {
		w := newRWriter()
		w.strings(v, nil)
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		_, err := zw.Write(w.b.Bytes())
		require.NoError(t, err)
		require.NoError(t, zw.Close())
		start := rdb.Len()
		require.NoError(t, binary.Write(&rdb, binary.BigEndian, uint32(w.b.Len())))
		rdb.Write(z.Bytes())
		offsets = append(offsets, [2]int32{int32(start), int32(rdb.Len() - start)})
	}
	idx := newRWriter()
	idx.int(rList | rAttrBit)
	idx.int(3)
	idx.int(rList | rAttrBit) // variables
	idx.int(int32(len(names)))
	for _, o := range offsets {
		idx.ints(o[0], o[1])
	}
	idx.names(names)
	idx.int(rList) // references: empty list
	idx.int(0)
	idx.int(rLogical) // compressed = TRUE (zlib)
	idx.int(1)
	idx.int(1)
	idx.names([]string{"variables", "references", "compressed"})

	rdx := filepath.Join(dir, "Rdata.rdx")
	require.NoError(t, os.WriteFile(rdx, gzipBytes(t, idx.b.Bytes()), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Rdata.rdb"), rdb.Bytes(), 0o644))
	return rdx
}
