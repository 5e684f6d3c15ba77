package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each corrupt file must fail with a FormatError naming the file, the
// offending tensor (when there is one) and the specific problem.
func TestOpenRejectsCorruptFiles(t *testing.T) {
	canonical, err := os.ReadFile(testdataPath(t, "canonical.safetensors"))
	require.NoError(t, err)
	withLength := func(n uint64, rest []byte) []byte {
		return append(binary.LittleEndian.AppendUint64(nil, n), rest...)
	}
	tests := []struct {
		name       string
		file       []byte
		wantTensor string
		wantReason string
	}{
		{"truncated length prefix", []byte{1, 2, 3, 4, 5}, "", "file is 5 bytes, too short"},
		{"header length beyond file", withLength(1000, []byte(`{}`)), "", "header length 1000 exceeds the 2 bytes after the length prefix"},
		{"header length beyond limit", withLength(1<<40, []byte(`{}`)), "", "header length 1099511627776 exceeds the 100000000-byte limit"},
		{"header length near 2^64", withLength(^uint64(0), nil), "", "exceeds the 100000000-byte limit"},
		{"invalid JSON", rawFile(`{,}`, 0), "", "header is not valid JSON"},
		{"JSON cut inside an entry", rawFile(`{"w": {"dtype": "F32",`, 0), "w", "invalid header entry: unexpected EOF"},
		{"JSON array header", rawFile(`[1, 2]`, 0), "", "header is not a JSON object"},
		{"trailing garbage", rawFile(`{} xyz`, 0), "", "trailing garbage"},
		{"invalid UTF-8", rawFile("{\"w\xff\": {}}", 0), "", "not valid UTF-8"},
		{"unknown dtype", rawFile(`{"w": {"dtype": "F4", "shape": [2], "data_offsets": [0, 1]}}`, 1), "w", `unknown dtype "F4"`},
		{"dtype x shape mismatch", rawFile(`{"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}}`, 24), "w", "F32[2 3] needs 24 bytes but data_offsets [0, 20] span 20"},
		{"offsets past end", rawFile(`{"model.layers.3.mlp.up_proj.weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [8, 32]}}`, 24),
			"model.layers.3.mlp.up_proj.weight", "data_offsets [8, 32] exceed data section of 24 bytes"},
		{"overlapping offsets", rawFile(`{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}`, 12),
			"b", `data_offsets [4, 12] overlap tensor "a" at [0, 8]`},
		{"reversed offsets", rawFile(`{"w": {"dtype": "U8", "shape": [0], "data_offsets": [8, 4]}}`, 8), "w", "not an ordered pair"},
		{"negative offset", rawFile(`{"w": {"dtype": "U8", "shape": [4], "data_offsets": [-4, 0]}}`, 8), "w", "not an ordered pair"},
		{"three offsets", rawFile(`{"w": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4, 8]}}`, 8), "w", "must be [begin, end]"},
		{"shape overflow", rawFile(`{"w": {"dtype": "F64", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}}`, 0), "w", "overflows int64"},
		{"shape wraps to small size", rawFile(`{"w": {"dtype": "U8", "shape": [4611686018427387904, 4], "data_offsets": [0, 0]}}`, 0), "w", "overflows int64"},
		{"negative dimension", rawFile(`{"w": {"dtype": "F32", "shape": [-1, 2], "data_offsets": [0, 8]}}`, 8), "w", "negative dimension"},
		{"fractional dimension", rawFile(`{"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}`, 4), "w", "invalid header entry"},
		{"missing field", rawFile(`{"w": {"dtype": "F32", "shape": [1]}}`, 4), "w", "lacks data_offsets"},
		{"field names are case-sensitive", rawFile(`{"w": {"DType": "F32", "shape": [1], "Data_Offsets": [0, 4]}}`, 4), "w", "lacks dtype, data_offsets"},
		{"entry not an object", rawFile(`{"w": [1]}`, 4), "w", "invalid header entry"},
		{"dtype not a string", rawFile(`{"w": {"dtype": 4, "shape": [1], "data_offsets": [0, 4]}}`, 4), "w", "invalid header entry: dtype: json: cannot unmarshal number"},
		{"duplicate tensor", rawFile(`{"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, "w": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}`, 2), "w", "appears twice"},
		{"non-string metadata", rawFile(`{"__metadata__": {"epoch": 3}}`, 0), "", "__metadata__ must map strings to strings"},
		// BOOL sorts last in the reference layout, so cutting one byte hits "mask".
		{"truncated data section", canonical[:len(canonical)-1], "mask", "data_offsets [157, 161] exceed data section of 160 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTestFile(t, filepath.Join(t.TempDir(), "model-00002-of-00003.safetensors"), tc.file)
			c, err := Open(path)
			require.Error(t, err)
			assert.Nil(t, c)
			var formatErr *FormatError
			require.ErrorAs(t, err, &formatErr)
			assert.Equal(t, path, formatErr.File)
			assert.Equal(t, tc.wantTensor, formatErr.Tensor)
			assert.Contains(t, formatErr.Reason, tc.wantReason)
			assert.Contains(t, err.Error(), "model-00002-of-00003.safetensors")
		})
	}
}

// A lying header length or shape must not make the parser allocate what it
// claims: everything allocated is bounded by the bytes actually present.
func TestParseHeaderAllocationIsBounded(t *testing.T) {
	tests := []struct {
		name string
		file []byte
	}{
		{"99 MB header claimed by a 40-byte file", append(binary.LittleEndian.AppendUint64(nil, 99_000_000), make([]byte, 32)...)},
		{"exabyte tensor claimed", rawFile(`{"w": {"dtype": "F64", "shape": [1000000000, 1000000000], "data_offsets": [0, 8000000000000000000]}}`, 16)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := parseHeader("x.safetensors", bytes.NewReader(tc.file), int64(len(tc.file)))
			runtime.ReadMemStats(&after)
			require.Error(t, err)
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<10))
		})
	}
}

func FuzzParseHeader(f *testing.F) {
	for _, name := range []string{"golden.safetensors", "canonical.safetensors"} {
		seed, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(f, err)
		f.Add(seed)
	}
	f.Add(rawFile(`{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}`, 12))
	f.Add(rawFile(`{"__metadata__": {"k": "v"}, "s": {"dtype": "BF16", "shape": [], "data_offsets": [0, 2]}}`, 2))
	f.Add(binary.LittleEndian.AppendUint64(nil, 1<<62))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := parseHeader("fuzz.safetensors", bytes.NewReader(data), int64(len(data)))
		if err != nil {
			var formatErr *FormatError
			if errors.As(err, &formatErr) {
				require.Equal(t, "fuzz.safetensors", formatErr.File)
			}
			return
		}
		// Whatever was accepted must be safe to slice out of the file.
		require.GreaterOrEqual(t, h.dataStart, int64(8))
		end := h.dataStart
		for _, info := range h.tensors {
			require.GreaterOrEqual(t, info.DataOffset, end, "tensors overlap or precede the data section")
			want, err := numBytes(info.DType, info.Shape)
			require.NoError(t, err)
			require.Equal(t, want, info.ByteLen)
			end = info.DataOffset + info.ByteLen
			require.LessOrEqual(t, end, int64(len(data)))
			_ = data[info.DataOffset:end]
		}
	})
}
