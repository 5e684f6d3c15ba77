package safetensors

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeSparseCheckpoint writes a 1 GiB checkpoint whose data is a hole, so
// it costs no disk: a real header, then Truncate to the full size.
func writeSparseCheckpoint(t testing.TB, dir string) string {
	t.Helper()
	const rows, cols = 1 << 16, 1 << 12 // F32: exactly 1 GiB
	// The real writer builds the header; encodeHeader only checks that each
	// Source is set, never reads it.
	_, header, err := encodeHeader([]Tensor{
		{Name: "model.embed_tokens.weight", DType: F32, Shape: []int64{rows, cols}, Source: strings.NewReader("")},
		{Name: "model.norm.weight", DType: BF16, Shape: []int64{cols}, Source: strings.NewReader("")},
	}, map[string]string{"format": "pt"})
	require.NoError(t, err)
	path := filepath.Join(dir, SingleFileName)
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.Write(append(binary.LittleEndian.AppendUint64(nil, uint64(len(header))), header...))
	require.NoError(t, err)
	require.NoError(t, f.Truncate(int64(8+len(header))+rows*cols*4+cols*2))
	return path
}

// Opening a 1 GiB checkpoint and viewing its largest tensor allocates
// kilobytes: the data is mapped, never read or copied.
func TestOpenLargeFileAllocatesLittle(t *testing.T) {
	path := writeSparseCheckpoint(t, t.TempDir())
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	c, err := Open(path)
	require.NoError(t, err)
	data, err := c.Bytes("model.embed_tokens.weight")
	require.NoError(t, err)
	require.Len(t, data, 1<<30)
	assert.Zero(t, data[0]+data[len(data)-1]) // touch both ends of the hole
	require.NoError(t, c.Close())
	runtime.ReadMemStats(&after)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<10))
}

// BenchmarkOpen1GiB: target is a constant cost, independent of file size
// (a few KiB and a few dozen allocations per Open, microseconds).
func BenchmarkOpen1GiB(b *testing.B) {
	path := writeSparseCheckpoint(b, b.TempDir())
	b.ReportAllocs()
	for b.Loop() {
		c, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

// BenchmarkBF16ToFloat32: decoding throughput for the common Llama case.
func BenchmarkBF16ToFloat32(b *testing.B) {
	raw := make([]byte, 2<<20)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := DecodeFloats[float32](BF16, raw); err != nil {
			b.Fatal(err)
		}
	}
}
