package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Re-encoding the tensors of golden.safetensors must reproduce, byte for
// byte, canonical.safetensors, which gen_golden.py laid out by the rules of
// the reference Rust writer.
func TestEncodeMatchesReferenceLayout(t *testing.T) {
	c, err := Open(testdataPath(t, "golden.safetensors"))
	require.NoError(t, err)
	defer c.Close()
	var tensors []Tensor
	for _, name := range c.Names() {
		info, _ := c.Info(name)
		data, err := c.Bytes(name)
		require.NoError(t, err)
		tensors = append(tensors, Tensor{Name: name, DType: info.DType, Shape: info.Shape, Data: data})
	}
	var encoded bytes.Buffer
	require.NoError(t, Encode(&encoded, tensors, c.Metadata()))
	want, err := os.ReadFile(testdataPath(t, "canonical.safetensors"))
	require.NoError(t, err)
	assert.Equal(t, string(want), encoded.String())
}

func TestEncodeEmpty(t *testing.T) {
	// The reference implementation's own expected bytes for an empty file,
	// with and without metadata.
	var plain, withMeta bytes.Buffer
	require.NoError(t, Encode(&plain, nil, nil))
	assert.Equal(t, "\x08\x00\x00\x00\x00\x00\x00\x00{}      ", plain.String())
	require.NoError(t, Encode(&withMeta, nil, map[string]string{"framework": "pt"}))
	assert.Equal(t, "\x28\x00\x00\x00\x00\x00\x00\x00"+`{"__metadata__":{"framework":"pt"}}     `, withMeta.String())
}

func TestEncodeRejectsInvalidTensors(t *testing.T) {
	ok := f32Tensor(t, "ok", []int64{1}, 1)
	tests := []struct {
		name    string
		tensors []Tensor
		want    string
	}{
		{"duplicate name", []Tensor{ok, ok}, `tensor "ok" given twice`},
		{"reserved name", []Tensor{{Name: "__metadata__", DType: U8, Shape: []int64{0}}}, "reserved"},
		{"empty name", []Tensor{{DType: U8, Shape: []int64{0}}}, "reserved"},
		{"invalid UTF-8 name", []Tensor{{Name: "w\xff", DType: U8, Shape: []int64{0}}}, "not valid UTF-8"},
		{"unknown dtype", []Tensor{{Name: "w", DType: "F4", Shape: []int64{2}, Data: []byte{0}}}, `tensor "w": unknown dtype "F4"`},
		{"data size mismatch", []Tensor{{Name: "w", DType: F32, Shape: []int64{2}, Data: make([]byte, 4)}}, `tensor "w": F32[2] needs 8 bytes, Data has 4`},
		{"no data", []Tensor{{Name: "w", DType: F32, Shape: []int64{2}}}, "neither Data nor Source"},
		{"negative shape", []Tensor{{Name: "w", DType: F32, Shape: []int64{-2}}}, "negative dimension"},
		{"short source", []Tensor{{Name: "w", DType: F32, Shape: []int64{2}, Source: strings.NewReader("1234")}}, `tensor "w": source ended after 4 of 8 bytes`},
		{"long source", []Tensor{{Name: "w", DType: U8, Shape: []int64{2}, Source: strings.NewReader("123")}}, `tensor "w": source holds more than the 2 bytes`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorContains(t, Encode(io.Discard, tc.tensors, nil), tc.want)
		})
	}
	_, err := FromFloat32("w", F32, []int64{3}, []float32{1, 2})
	assert.ErrorContains(t, err, "F32[3] needs 12 bytes, Data has 8")
}

func TestWriteStreamsSources(t *testing.T) {
	path := filepath.Join(t.TempDir(), "streamed.safetensors")
	require.NoError(t, Write(path, []Tensor{
		{Name: "s", DType: U8, Shape: []int64{3, 2}, Source: strings.NewReader("abcdef")},
		{Name: "d", DType: U8, Shape: []int64{1}, Data: []byte("z")},
	}, nil))
	c, err := Open(path)
	require.NoError(t, err)
	defer c.Close()
	got, err := c.Bytes("s")
	require.NoError(t, err)
	assert.Equal(t, "abcdef", string(got))
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), info.Mode().Perm())
}

// stallingSource hands out its bytes and then calls stall, which fails (as
// a dying GPU copy or a full disk would) or blocks forever.
type stallingSource struct {
	left  int
	stall func() error
}

func (r *stallingSource) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, r.stall()
	}
	n := min(len(p), r.left)
	r.left -= n
	return n, nil
}

// writePrevious saves the checkpoint that a failed save must leave intact.
func writePrevious(t *testing.T) (dir, path string, before []byte) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, SingleFileName)
	require.NoError(t, Write(path, []Tensor{f32Tensor(t, "w", []int64{2}, 1, 2)}, nil))
	before, err := os.ReadFile(path)
	require.NoError(t, err)
	return dir, path, before
}

func TestFailedWriteKeepsPreviousFile(t *testing.T) {
	dir, path, before := writePrevious(t)

	err := Write(path, []Tensor{
		f32Tensor(t, "a", []int64{1}, 3),
		{Name: "w", DType: F32, Shape: []int64{1 << 20}, Source: &stallingSource{left: 3 << 20, stall: func() error { return errors.New("device lost") }}},
	}, nil)
	require.ErrorContains(t, err, "device lost")
	assert.ErrorContains(t, err, path)

	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, before, after)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "temporary file left behind")
}

// crashEnv tells the re-executed test binary to act as a writer that gets
// killed half-way.
const crashEnv = "SAFETENSORS_TEST_CRASH_PATH"

func TestCrashingWriterHelper(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("helper process for TestKilledWriterKeepsPreviousFile")
	}
	// 4 MiB reach the temporary file (past the 1 MiB buffer) before the
	// source stalls.
	_ = Write(path, []Tensor{{Name: "w", DType: F32, Shape: []int64{4 << 20}, Source: &stallingSource{left: 4 << 20, stall: func() error { select {} }}}}, nil)
	t.Fatal("write should have blocked")
}

// A writer killed with SIGKILL mid-write leaves the previous file intact.
func TestKilledWriterKeepsPreviousFile(t *testing.T) {
	dir, path, before := writePrevious(t)

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashingWriterHelper$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	require.NoError(t, cmd.Start())
	// Wait until the child has put at least 1 MiB into its temporary file.
	deadline := time.Now().Add(20 * time.Second)
	var tempSize int64
	for tempSize < 1<<20 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		temps, _ := filepath.Glob(filepath.Join(dir, "."+SingleFileName+".tmp-*"))
		for _, temp := range temps {
			if st, err := os.Stat(temp); err == nil {
				tempSize = st.Size()
			}
		}
	}
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	require.GreaterOrEqual(t, tempSize, int64(1<<20), "child never started writing")

	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, before, after)
	c, err := Open(dir) // the orphaned temporary file does not confuse Open
	require.NoError(t, err)
	defer c.Close()
	values, err := c.Float32("w")
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 2}, values)
}

func TestWriteSharded(t *testing.T) {
	dir := t.TempDir()
	tensors := []Tensor{
		f32Tensor(t, "a", []int64{2}, 1, 2),
		f32Tensor(t, "big", []int64{5}, 1, 2, 3, 4, 5), // larger than a shard: alone
		f32Tensor(t, "b", []int64{1}, 3),
		f32Tensor(t, "c", []int64{1}, 4),
		f32Tensor(t, "d", []int64{1}, 5),
	}
	files, err := WriteSharded(dir, tensors, nil, 12)
	require.NoError(t, err)
	assert.Equal(t, []string{ShardFileName(1, 3), ShardFileName(2, 3), ShardFileName(3, 3), IndexFileName}, files)

	raw, err := os.ReadFile(filepath.Join(dir, IndexFileName))
	require.NoError(t, err)
	var index struct {
		Metadata  struct{ TotalSize int64 } `json:"metadata"`
		WeightMap map[string]string         `json:"weight_map"`
	}
	require.NoError(t, json.Unmarshal(raw, &index))
	assert.Equal(t, map[string]string{
		"a": ShardFileName(1, 3), "big": ShardFileName(2, 3),
		"b": ShardFileName(3, 3), "c": ShardFileName(3, 3), "d": ShardFileName(3, 3),
	}, index.WeightMap)
	assert.Contains(t, string(raw), `"total_size": 40`)

	c, err := Open(dir)
	require.NoError(t, err)
	values, err := c.Float32("big")
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 2, 3, 4, 5}, values)
	require.NoError(t, c.Close())

	// Re-saving with different sharding removes the old shards and index.
	files, err = WriteSharded(dir, tensors[:1], nil, 12)
	require.NoError(t, err)
	assert.Equal(t, []string{SingleFileName}, files)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, SingleFileName, entries[0].Name())

	files, err = WriteSharded(dir, tensors[:3], nil, 28) // a+big fill one shard, b the next
	require.NoError(t, err)
	assert.Equal(t, []string{ShardFileName(1, 2), ShardFileName(2, 2), IndexFileName}, files)
	entries, err = os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 3, "stale model.safetensors not removed")

	_, err = WriteSharded(dir, tensors, nil, 0)
	assert.ErrorContains(t, err, "max shard size 0 must be positive")
	_, err = WriteSharded(dir, []Tensor{tensors[0], tensors[0]}, nil, 10)
	assert.ErrorContains(t, err, "given twice")
}
