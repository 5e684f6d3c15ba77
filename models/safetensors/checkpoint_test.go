package safetensors

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type goldenTensor struct {
	DType       DType    `json:"dtype"`
	Shape       []int64  `json:"shape"`
	DataOffset  int64    `json:"data_offset"`
	ByteLen     int64    `json:"byte_len"`
	SHA256      string   `json:"sha256"`
	Float64Bits []uint64 `json:"float64_bits"`
}

// golden.safetensors was written by gen_golden.py from PyTorch tensors, with
// an unpadded header in insertion order; golden.json says what it holds.
func TestOpenGoldenFile(t *testing.T) {
	raw, err := os.ReadFile(testdataPath(t, "golden.json"))
	require.NoError(t, err)
	var golden struct {
		Metadata map[string]string       `json:"metadata"`
		Tensors  map[string]goldenTensor `json:"tensors"`
	}
	require.NoError(t, json.Unmarshal(raw, &golden))
	require.Len(t, golden.Tensors, 17)

	c, err := Open(testdataPath(t, "golden.safetensors"))
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, slices.Sorted(maps.Keys(golden.Tensors)), c.Names())
	assert.Equal(t, golden.Metadata, c.Metadata())
	abs, err := filepath.Abs(testdataPath(t, "golden.safetensors"))
	require.NoError(t, err)
	assert.Equal(t, []string{abs}, c.Files())
	file, err := os.ReadFile(abs)
	require.NoError(t, err)

	for name, want := range golden.Tensors {
		t.Run(name, func(t *testing.T) {
			info, ok := c.Info(name)
			require.True(t, ok)
			assert.Equal(t, TensorInfo{Name: name, DType: want.DType, Shape: want.Shape, File: abs, DataOffset: want.DataOffset, ByteLen: want.ByteLen}, info)
			data, err := c.Bytes(name)
			require.NoError(t, err)
			sum := sha256.Sum256(data)
			assert.Equal(t, want.SHA256, hex.EncodeToString(sum[:]))
			// DataOffset is what ONNX external data will point at.
			assert.Equal(t, file[info.DataOffset:info.DataOffset+info.ByteLen], data)

			values, err := c.Float64(name)
			if want.Float64Bits == nil {
				assert.ErrorContains(t, err, "not floating point")
				assert.ErrorContains(t, err, name)
				return
			}
			require.NoError(t, err)
			require.Len(t, values, len(want.Float64Bits))
			for i, bits := range want.Float64Bits {
				if wantNaN := math.IsNaN(math.Float64frombits(bits)); wantNaN {
					assert.True(t, math.IsNaN(values[i]), "element %d", i)
					continue
				}
				assert.Equal(t, bits, math.Float64bits(values[i]), "element %d: %v, want %v", i, values[i], math.Float64frombits(bits))
			}
			values32, err := c.Float32(name)
			require.NoError(t, err)
			for i := range values32 {
				if !math.IsNaN(values[i]) {
					assert.Equal(t, float32(values[i]), values32[i])
				}
			}
		})
	}
}

// Every dtype survives Write then Open bit for bit, through the memory map
// and through the ReadAt fallback.
func TestRoundTripEveryDType(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var tensors []Tensor
	for i, dtype := range dtypeOrder {
		shape := []int64{2, int64(i%3 + 1)}
		data := make([]byte, 2*shape[1]*dtype.Size())
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		tensors = append(tensors, Tensor{Name: "t." + string(dtype), DType: dtype, Shape: shape, Data: data})
	}
	tensors = append(tensors,
		Tensor{Name: "scalar", DType: F64, Shape: nil, Data: make([]byte, 8)},
		Tensor{Name: "empty", DType: BF16, Shape: []int64{0, 4}})
	path := filepath.Join(t.TempDir(), "round.safetensors")
	require.NoError(t, Write(path, tensors, map[string]string{"format": "pt"}))

	for _, mmap := range []bool{true, false} {
		t.Run(map[bool]string{true: "mmap", false: "readat"}[mmap], func(t *testing.T) {
			useMmap = mmap
			t.Cleanup(func() { useMmap = true })
			c, err := Open(path)
			require.NoError(t, err)
			defer c.Close()
			assert.Equal(t, mmap, c.shards[0].mapped != nil)
			require.Len(t, c.Names(), len(tensors))
			for _, want := range tensors {
				info, ok := c.Info(want.Name)
				require.True(t, ok, want.Name)
				assert.Equal(t, want.DType, info.DType)
				assert.Equal(t, nonNil(want.Shape), info.Shape)
				assert.Zero(t, info.DataOffset%want.DType.Size(), "%s is not naturally aligned", want.Name)
				got, err := c.Bytes(want.Name)
				require.NoError(t, err)
				assert.Equal(t, nonNil(want.Data), nonNil(got), want.Name)
			}
			assert.Equal(t, map[string]string{"format": "pt"}, c.Metadata())
		})
	}
}

func TestCheckpointAccessors(t *testing.T) {
	path := filepath.Join(t.TempDir(), SingleFileName)
	require.NoError(t, Write(path, []Tensor{f32Tensor(t, "w", []int64{2}, 1.5, -2)}, nil))
	c, err := Open(filepath.Dir(path)) // a directory opens its model.safetensors
	require.NoError(t, err)

	info, ok := c.Info("w")
	require.True(t, ok)
	assert.Equal(t, int64(2), info.NumElements())
	info.Shape[0] = 99 // callers get a copy
	again, _ := c.Info("w")
	assert.Equal(t, []int64{2}, again.Shape)
	_, ok = c.Info("absent")
	assert.False(t, ok)
	assert.Empty(t, c.Metadata())

	values, err := c.Float32("w")
	require.NoError(t, err)
	assert.Equal(t, []float32{1.5, -2}, values)
	_, err = c.Bytes("absent")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorContains(t, err, `tensor "absent"`)

	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
	_, err = c.Float32("w")
	assert.ErrorIs(t, err, errClosed)
}

// writeShards writes a two-shard checkpoint: a and b in shard 1, c in shard 2.
func writeShards(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files, err := WriteSharded(dir, []Tensor{
		f32Tensor(t, "a", []int64{2}, 1, 2),
		f32Tensor(t, "b", []int64{1}, 3),
		f32Tensor(t, "c", []int64{3}, 4, 5, 6),
	}, map[string]string{"format": "pt"}, 12)
	require.NoError(t, err)
	require.Equal(t, []string{ShardFileName(1, 2), ShardFileName(2, 2), IndexFileName}, files)
	return dir
}

func TestOpenSharded(t *testing.T) {
	dir := writeShards(t)
	for _, path := range []string{dir, filepath.Join(dir, IndexFileName)} {
		c, err := Open(path)
		require.NoError(t, err)
		assert.Equal(t, []string{"a", "b", "c"}, c.Names())
		info, _ := c.Info("c")
		assert.Equal(t, filepath.Join(dir, ShardFileName(2, 2)), info.File)
		values, err := c.Float32("c")
		require.NoError(t, err)
		assert.Equal(t, []float32{4, 5, 6}, values)
		assert.Len(t, c.Files(), 2)
		assert.Equal(t, map[string]string{"format": "pt"}, c.Metadata())
		require.NoError(t, c.Close())
	}
}

// An index and its shards that disagree fail with an error naming the
// index, the tensor and the shard.
func TestOpenShardedRejectsInconsistentIndex(t *testing.T) {
	shard1, shard2 := ShardFileName(1, 2), ShardFileName(2, 2)
	tests := []struct {
		name  string
		index string
		setup func(t *testing.T, dir string)
		want  []string
	}{
		{"missing shard", `{"weight_map": {"a": "` + shard1 + `", "b": "` + shard1 + `", "c": "model-00003-of-00003.safetensors"}}`, nil,
			[]string{IndexFileName, `tensor "c"`, "model-00003-of-00003.safetensors", "no such file"}},
		{"tensor absent from its shard", `{"weight_map": {"a": "` + shard1 + `", "b": "` + shard1 + `", "c": "` + shard2 + `", "d": "` + shard2 + `"}}`, nil,
			[]string{IndexFileName, `tensor "d"`, "index maps it to " + shard2 + ", which has no such tensor"}},
		{"tensor in the other shard", `{"weight_map": {"a": "` + shard2 + `", "b": "` + shard1 + `", "c": "` + shard2 + `"}}`, nil,
			[]string{IndexFileName, `tensor "a"`, "index maps it to " + shard2 + ", but it is in " + shard1}},
		{"shard outside the directory", `{"weight_map": {"a": "../` + shard1 + `"}}`, nil,
			[]string{IndexFileName, `tensor "a"`, "not a plain file name"}},
		{"invalid index JSON", `{"weight_map": [`, nil, []string{IndexFileName, "invalid index JSON"}},
		{"empty weight map", `{"metadata": {}}`, nil, []string{IndexFileName, "weight_map is missing or empty"}},
		{"tensor stored in two shards", `{"weight_map": {"a": "` + shard1 + `", "x": "` + shard2 + `"}}`,
			func(t *testing.T, dir string) {
				require.NoError(t, Write(filepath.Join(dir, shard2), []Tensor{f32Tensor(t, "a", []int64{1}, 0)}, nil))
			},
			[]string{IndexFileName, shard2, `tensor "a"`, "also stored in", shard1}},
		{"corrupt shard", `{"weight_map": {"a": "` + shard1 + `", "c": "` + shard2 + `"}}`,
			func(t *testing.T, dir string) {
				writeTestFile(t, filepath.Join(dir, shard2), rawFile(`{"c": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}}`, 4))
			},
			[]string{IndexFileName, shard2, `tensor "c"`, "exceed data section of 4 bytes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeShards(t)
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			writeTestFile(t, filepath.Join(dir, IndexFileName), []byte(tc.index))
			c, err := Open(dir)
			require.Error(t, err)
			assert.Nil(t, c)
			for _, want := range tc.want {
				assert.ErrorContains(t, err, want)
			}
		})
	}
}

func TestOpenDirectoryWithoutCheckpoint(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(dir)
	assert.ErrorContains(t, err, "no "+IndexFileName+" or "+SingleFileName)

	// A lone differently named file is taken; two are ambiguous.
	require.NoError(t, Write(filepath.Join(dir, "adapter.safetensors"), []Tensor{f32Tensor(t, "x", []int64{1}, 1)}, nil))
	c, err := Open(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"x"}, c.Names())
	require.NoError(t, c.Close())
	require.NoError(t, Write(filepath.Join(dir, "other.safetensors"), nil, nil))
	_, err = Open(dir)
	assert.ErrorContains(t, err, "2 other *.safetensors files")

	_, err = Open(filepath.Join(dir, "missing.safetensors"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
}
