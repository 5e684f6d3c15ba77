package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeDictdNumber(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"A", 0, false},
		{"B", 1, false},
		{"/", 63, false},
		{"BA", 64, false},
		{"Gb9L", 6*64*64*64 + 27*64*64 + 61*64 + 11, false}, // foldoc.index's "!" entry
		{"", 0, true},
		{"A=", 0, true},
		{strings.Repeat("/", 12), 0, true},
	} {
		got, err := decodeDictdNumber(tc.in)
		if tc.wantErr {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

// writeDictd writes a dictd database of entries (headword -> body) with
// an extra alias headword for the first entry and a metadata entry.
func writeDictd(t *testing.T, dir string, headwords, bodies []string) string {
	t.Helper()
	var dict strings.Builder
	var index strings.Builder
	encode := func(n int) string {
		if n == 0 {
			return "A"
		}
		var s []byte
		for ; n > 0; n /= 64 {
			s = append([]byte{dictdDigits[n%64]}, s...)
		}
		return string(s)
	}
	add := func(headword, body string) (int, int) {
		off := dict.Len()
		dict.WriteString(body)
		index.WriteString(headword + "\t" + encode(off) + "\t" + encode(len(body)) + "\n")
		return off, len(body)
	}
	add("00-database-info", "This file was converted from the original database.\n")
	for i := range headwords {
		off, n := add(headwords[i], bodies[i])
		if i == 0 {
			index.WriteString("alias of " + headwords[i] + "\t" + encode(off) + "\t" + encode(n) + "\n")
		}
	}
	indexPath := filepath.Join(dir, "test.index")
	require.NoError(t, os.WriteFile(indexPath, []byte(index.String()), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "test.dict.dz"), gzipBytes(t, []byte(dict.String())), 0o644))
	return indexPath
}

func TestReadDictd(t *testing.T) {
	dir := t.TempDir()
	index := writeDictd(t, dir,
		[]string{"ADABAS", "buffer chuck"},
		[]string{
			"ADABAS\n\n   <database> A {relational database} system by {Software\n   AG}.\n\n   (1995-10-30)\n\n",
			"buffer chuck\n n.\n\n    Shorter and ruder syn. for {buffer overflow}.\n\n",
		})
	docs, err := readDictd(index, filepath.Join(dir, "test.dict.dz"), "pkg/test.dict.dz")
	require.NoError(t, err)
	assert.Equal(t, []document{
		{Text: "ADABAS\nA relational database system by Software AG.", URL: "pkg/test.dict.dz#ADABAS"},
		{Text: "buffer chuck n.\nShorter and ruder syn. for buffer overflow.", URL: "pkg/test.dict.dz#buffer chuck"},
	}, docs)
}

func TestParseDictdIndexErrors(t *testing.T) {
	for _, tc := range []struct{ name, index, wantErr string }{
		{"two fields", "word\tA\n", "x.index:1: want 3"},
		{"bad offset", "ok\tA\tB\nword\t*\tB\n", "x.index:2: offset"},
		{"bad length", "word\tA\t-\n", "x.index:1: length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseDictdIndex(strings.NewReader(tc.index), "x.index")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestReadDictdEntryPastEnd(t *testing.T) {
	dir := t.TempDir()
	index := writeDictd(t, dir, []string{"word"}, []string{"word\n\n   text\n"})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "test.dict.dz"), gzipBytes(t, []byte("short")), 0o644))
	_, err := readDictd(index, filepath.Join(dir, "test.dict.dz"), "u")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "past the end")
}

func FuzzParseDictdIndex(f *testing.F) {
	f.Add("!\tGb9L\tK5\n!!!batch\tBCy\tGo\n")
	f.Add("a\tb\n")
	f.Fuzz(func(t *testing.T, index string) {
		entries, err := parseDictdIndex(strings.NewReader(index), "fuzz")
		if err == nil {
			for _, e := range entries {
				assert.GreaterOrEqual(t, e.Offset, int64(0))
				assert.GreaterOrEqual(t, e.Length, int64(0))
			}
		}
	})
}
