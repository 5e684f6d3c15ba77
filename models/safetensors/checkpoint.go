package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Standard Hugging Face file names.
const (
	SingleFileName = "model.safetensors"
	IndexFileName  = "model.safetensors.index.json"
)

// useMmap lets tests exercise the ReadAt fallback used where mapping fails.
var useMmap = true

// maxIndexBytes bounds model.safetensors.index.json; real ones are well under
// 1 MB even for models with thousands of tensors.
const maxIndexBytes = MaxHeaderBytes

// Checkpoint is an open set of safetensors files. Its methods are safe for
// concurrent use, except Close, which must not race with readers.
type Checkpoint struct {
	source  string // what Open was given, for error messages
	shards  []*shard
	tensors map[string]tensorRef
	names   []string
	closed  bool
}

type tensorRef struct {
	info  TensorInfo
	shard *shard
}

// shard is one open file.
type shard struct {
	path     string   // as the caller or the index spelled it
	file     *os.File // kept open only when mapping failed
	mapped   []byte   // the whole file, read-only; nil when not mapped
	metadata map[string]string
}

// Open opens a checkpoint: a single .safetensors file, a
// model.safetensors.index.json, or a directory holding either (the index
// wins when both exist, as in transformers). A directory with neither but
// exactly one *.safetensors file opens that file.
func Open(path string) (*Checkpoint, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open checkpoint: %w", err)
	}
	if !st.IsDir() {
		if strings.HasSuffix(path, ".index.json") {
			return openIndex(path)
		}
		return openFiles(path, []string{path})
	}
	if index := filepath.Join(path, IndexFileName); fileExists(index) {
		return openIndex(index)
	}
	if single := filepath.Join(path, SingleFileName); fileExists(single) {
		return openFiles(path, []string{single})
	}
	found, _ := filepath.Glob(filepath.Join(path, "*.safetensors"))
	if len(found) == 1 {
		return openFiles(path, found)
	}
	return nil, fmt.Errorf("open checkpoint %s: no %s or %s, and %d other *.safetensors files", path, IndexFileName, SingleFileName, len(found))
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

// openFiles opens every file and merges their tensors; a name in two files is
// an error because a loader could not know which one to use.
func openFiles(source string, paths []string) (*Checkpoint, error) {
	c := &Checkpoint{source: source, tensors: map[string]tensorRef{}}
	for _, path := range paths {
		s, header, err := openShard(path)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.shards = append(c.shards, s)
		for _, info := range header.tensors {
			if prev, dup := c.tensors[info.Name]; dup {
				c.Close()
				return nil, formatErr(path, info.Name, "also stored in %s", prev.shard.path)
			}
			c.tensors[info.Name] = tensorRef{info: info, shard: s}
		}
	}
	c.names = slices.Sorted(maps.Keys(c.tensors))
	return c, nil
}

// openShard opens, validates and maps one file.
func openShard(path string) (*shard, *fileHeader, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	header, err := parseHeader(path, f, st.Size())
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	for i := range header.tensors {
		header.tensors[i].File = abs
	}
	s := &shard{path: path, metadata: header.metadata}
	// A mapping outlives its descriptor, so the file can be closed at once;
	// without a mapping (other OSes, filesystems that refuse mmap) reads fall
	// back to ReadAt on the open file.
	if useMmap {
		if mapped, err := mapFile(f, st.Size()); err == nil {
			s.mapped = mapped
			f.Close() // read-only, so nothing can be lost
			return s, header, nil
		}
	}
	s.file = f
	return s, header, nil
}

// shardIndex is model.safetensors.index.json.
type shardIndex struct {
	Metadata  map[string]any    `json:"metadata"`
	WeightMap map[string]string `json:"weight_map"`
}

// openIndex opens a sharded checkpoint and checks that the index and the
// shards agree: every shard named exists, and every tensor the index names is
// in the shard it names.
func openIndex(indexPath string) (*Checkpoint, error) {
	st, err := os.Stat(indexPath)
	if err != nil {
		return nil, fmt.Errorf("open checkpoint: %w", err)
	}
	if st.Size() > maxIndexBytes {
		return nil, fmt.Errorf("%s: %d bytes exceeds the %d-byte limit for an index", indexPath, st.Size(), maxIndexBytes)
	}
	raw, err := os.ReadFile(indexPath)
	if err != nil {
		return nil, fmt.Errorf("open checkpoint: %w", err)
	}
	var index shardIndex
	if err := json.Unmarshal(raw, &index); err != nil {
		return nil, fmt.Errorf("%s: invalid index JSON: %w", indexPath, err)
	}
	if len(index.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: weight_map is missing or empty", indexPath)
	}
	dir := filepath.Dir(indexPath)
	firstTensor := map[string]string{} // shard -> a tensor the index puts there, for errors
	for _, name := range slices.Sorted(maps.Keys(index.WeightMap)) {
		shardName := index.WeightMap[name]
		// Shards must sit beside the index: a downloaded index must not be
		// able to point us at /etc/passwd or ../../elsewhere.
		if shardName == "" || shardName != filepath.Base(shardName) || shardName == "." || shardName == ".." {
			return nil, fmt.Errorf("%s: tensor %q: shard %q is not a plain file name", indexPath, name, shardName)
		}
		if _, ok := firstTensor[shardName]; !ok {
			firstTensor[shardName] = name
		}
	}
	shardNames := slices.Sorted(maps.Keys(firstTensor))
	paths := make([]string, len(shardNames))
	for i, shardName := range shardNames {
		paths[i] = filepath.Join(dir, shardName)
		if _, err := os.Stat(paths[i]); err != nil {
			return nil, fmt.Errorf("%s: tensor %q: shard %s: %w", indexPath, firstTensor[shardName], shardName, err)
		}
	}
	c, err := openFiles(indexPath, paths)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", indexPath, err)
	}
	for _, name := range slices.Sorted(maps.Keys(index.WeightMap)) {
		shardName := index.WeightMap[name]
		ref, ok := c.tensors[name]
		switch {
		case !ok:
			c.Close()
			return nil, fmt.Errorf("%s: tensor %q: index maps it to %s, which has no such tensor", indexPath, name, shardName)
		case filepath.Base(ref.shard.path) != shardName:
			c.Close()
			return nil, fmt.Errorf("%s: tensor %q: index maps it to %s, but it is in %s", indexPath, name, shardName, filepath.Base(ref.shard.path))
		}
	}
	return c, nil
}

// Names lists every tensor, sorted.
func (c *Checkpoint) Names() []string { return slices.Clone(c.names) }

// Info describes one tensor.
func (c *Checkpoint) Info(name string) (TensorInfo, bool) {
	ref, ok := c.tensors[name]
	if !ok {
		return TensorInfo{}, false
	}
	info := ref.info
	info.Shape = slices.Clone(info.Shape)
	return info, true
}

// Files lists the absolute paths of the checkpoint's files, sorted.
func (c *Checkpoint) Files() []string {
	files := make([]string, len(c.shards))
	for i, s := range c.shards {
		files[i], _ = filepath.Abs(s.path)
	}
	return files
}

// Metadata merges the __metadata__ of every file; for a key present in
// several shards the first shard (in name order) wins. HF writers put the
// same map, typically {"format": "pt"}, in every shard.
func (c *Checkpoint) Metadata() map[string]string {
	merged := map[string]string{}
	for i := len(c.shards) - 1; i >= 0; i-- {
		maps.Copy(merged, c.shards[i].metadata)
	}
	return merged
}

func (c *Checkpoint) lookup(name string) (tensorRef, error) {
	if c.closed {
		return tensorRef{}, fmt.Errorf("%s: tensor %q: %w", c.source, name, errClosed)
	}
	ref, ok := c.tensors[name]
	if !ok {
		return tensorRef{}, fmt.Errorf("%s: tensor %q: %w", c.source, name, fs.ErrNotExist)
	}
	return ref, nil
}

// Bytes returns the tensor's raw little-endian bytes. When the file is
// memory-mapped (the normal case on Linux) this is a view of the mapping,
// with no copy: it is read-only (writing to it faults) and valid only until
// Close.
func (c *Checkpoint) Bytes(name string) ([]byte, error) {
	ref, err := c.lookup(name)
	if err != nil {
		return nil, err
	}
	begin, end := ref.info.DataOffset, ref.info.DataOffset+ref.info.ByteLen
	if ref.shard.mapped != nil {
		return ref.shard.mapped[begin:end:end], nil
	}
	buf := make([]byte, ref.info.ByteLen)
	if _, err := ref.shard.file.ReadAt(buf, begin); err != nil {
		return nil, fmt.Errorf("%s: tensor %q: %w", ref.shard.path, name, err)
	}
	return buf, nil
}

// Float32 decodes a floating-point tensor (F16, BF16, F32 or F64) into a new
// slice. F64 values are rounded to the nearest float32.
func (c *Checkpoint) Float32(name string) ([]float32, error) {
	return decodeTensor[float32](c, name)
}

// Float64 decodes a floating-point tensor (F16, BF16, F32 or F64) into a new
// slice; every conversion is exact.
func (c *Checkpoint) Float64(name string) ([]float64, error) {
	return decodeTensor[float64](c, name)
}

func decodeTensor[T float32 | float64](c *Checkpoint, name string) ([]T, error) {
	raw, err := c.Bytes(name)
	if err != nil {
		return nil, err
	}
	ref := c.tensors[name]
	out, err := DecodeFloats[T](ref.info.DType, raw)
	if err != nil {
		return nil, fmt.Errorf("%s: tensor %q: %w", ref.shard.path, name, err)
	}
	return out, nil
}

// Close unmaps and closes every file. Slices returned by Bytes become
// invalid. Close is idempotent.
func (c *Checkpoint) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	for _, s := range c.shards {
		if s.mapped != nil {
			if err := unmapFile(s.mapped); err != nil {
				errs = append(errs, fmt.Errorf("%s: unmap: %w", s.path, err))
			}
			s.mapped = nil
		}
		if s.file != nil {
			if err := s.file.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
