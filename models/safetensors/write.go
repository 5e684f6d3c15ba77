package safetensors

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"unicode/utf8"
)

// Tensor is one tensor to write. Data holds its raw little-endian bytes;
// when Data is nil, Source streams them instead (exactly dtype × shape bytes,
// read once), so a writer never needs a whole checkpoint in memory.
type Tensor struct {
	Name   string
	DType  DType
	Shape  []int64
	Data   []byte
	Source io.Reader
}

// FromFloat32 builds a Tensor of a floating-point dtype from float32 values,
// rounding to nearest even for F16 and BF16.
func FromFloat32(name string, dtype DType, shape []int64, values []float32) (Tensor, error) {
	data, err := EncodeFloat32(dtype, values)
	if err != nil {
		return Tensor{}, fmt.Errorf("tensor %q: %w", name, err)
	}
	t := Tensor{Name: name, DType: dtype, Shape: shape, Data: data}
	if _, err := t.byteLen(); err != nil {
		return Tensor{}, err
	}
	return t, nil
}

// byteLen validates t on its own and returns its data size.
func (t Tensor) byteLen() (int64, error) {
	if t.Name == "" || t.Name == metadataKey {
		return 0, fmt.Errorf("tensor name %q is reserved", t.Name)
	}
	if !utf8.ValidString(t.Name) {
		return 0, fmt.Errorf("tensor name %q is not valid UTF-8", t.Name)
	}
	n, err := numBytes(t.DType, t.Shape)
	if err != nil {
		return 0, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	switch {
	case t.Data != nil && int64(len(t.Data)) != n:
		return 0, fmt.Errorf("tensor %q: %s%v needs %d bytes, Data has %d", t.Name, t.DType, t.Shape, n, len(t.Data))
	case t.Data == nil && t.Source == nil && n != 0:
		return 0, fmt.Errorf("tensor %q: neither Data nor Source is set", t.Name)
	}
	return n, nil
}

// Encode writes a complete safetensors file to w, laid out exactly as the
// reference implementation lays it out: __metadata__ first (when non-nil),
// then tensors ordered by dtype alignment descending and then by name, header
// padded with spaces to a multiple of 8 bytes, data contiguous in header
// order. Every tensor thus starts at an offset that is a multiple of its
// element size.
func Encode(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	ordered, header, err := encodeHeader(tensors, metadata)
	if err != nil {
		return err
	}
	var prefix [8]byte
	binary.LittleEndian.PutUint64(prefix[:], uint64(len(header)))
	if _, err := w.Write(prefix[:]); err != nil {
		return err
	}
	if _, err := w.Write(header); err != nil {
		return err
	}
	for _, t := range ordered {
		if err := writeData(w, t); err != nil {
			return fmt.Errorf("tensor %q: %w", t.Name, err)
		}
	}
	return nil
}

// encodeHeader validates the tensors, sorts them into file order and builds
// the padded header JSON.
func encodeHeader(tensors []Tensor, metadata map[string]string) ([]Tensor, []byte, error) {
	sizes := make(map[string]int64, len(tensors))
	for _, t := range tensors {
		n, err := t.byteLen()
		if err != nil {
			return nil, nil, err
		}
		if _, dup := sizes[t.Name]; dup {
			return nil, nil, fmt.Errorf("tensor %q given twice", t.Name)
		}
		sizes[t.Name] = n
	}
	ordered := slices.Clone(tensors)
	slices.SortFunc(ordered, func(a, b Tensor) int {
		if c := cmp.Compare(b.DType.writeRank(), a.DType.writeRank()); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})

	var header bytes.Buffer
	enc := json.NewEncoder(&header)
	// The reference writer (serde_json) leaves <, > and & alone.
	enc.SetEscapeHTML(false)
	put := func(v any) {
		_ = enc.Encode(v)                 // strings, ints and string maps cannot fail
		header.Truncate(header.Len() - 1) // Encode appends a newline
	}
	header.WriteByte('{')
	if metadata != nil {
		header.WriteString(`"__metadata__":`)
		put(metadata)
	}
	offset := int64(0)
	for i, t := range ordered {
		if i > 0 || metadata != nil {
			header.WriteByte(',')
		}
		put(t.Name)
		header.WriteString(`:{"dtype":`)
		put(string(t.DType))
		header.WriteString(`,"shape":`)
		shape := t.Shape
		if shape == nil {
			shape = []int64{} // a scalar is [], never null
		}
		put(shape)
		end := offset + sizes[t.Name]
		fmt.Fprintf(&header, `,"data_offsets":[%d,%d]}`, offset, end)
		offset = end
	}
	header.WriteByte('}')
	for header.Len()%8 != 0 {
		header.WriteByte(' ')
	}
	return ordered, header.Bytes(), nil
}

// writeData copies one tensor's bytes, insisting that a Source yields
// exactly the declared size: a short or long stream would shift every later
// tensor and silently corrupt the file.
func writeData(w io.Writer, t Tensor) error {
	if t.Data != nil || t.Source == nil {
		_, err := w.Write(t.Data)
		return err
	}
	n, _ := numBytes(t.DType, t.Shape)
	copied, err := io.CopyN(w, t.Source, n)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("source ended after %d of %d bytes", copied, n)
		}
		return err
	}
	var extra [1]byte
	if k, _ := io.ReadFull(t.Source, extra[:]); k > 0 {
		return fmt.Errorf("source holds more than the %d bytes %s%v needs", n, t.DType, t.Shape)
	}
	return nil
}

// Write atomically writes a safetensors file (see Encode for the layout):
// the data goes to a temporary file in the same directory, which is fsynced
// and renamed over path, and then the directory is fsynced. A crash or error
// at any point leaves either the old file or the new one at path, never a
// partial one.
func Write(path string, tensors []Tensor, metadata map[string]string) error {
	err := writeAtomic(path, func(w io.Writer) error { return Encode(w, tensors, metadata) })
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeAtomic runs fill against a temporary file beside path and renames it
// into place only once everything is on disk.
func writeAtomic(path string, fill func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				tmp.Close()
			}
			os.Remove(tmp.Name())
		}
	}()
	buffered := bufio.NewWriterSize(tmp, 1<<20)
	if err := fill(buffered); err != nil {
		return err
	}
	if err := buffered.Flush(); err != nil {
		return err
	}
	// CreateTemp makes the file 0600; checkpoints are ordinary data files.
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	closed = true
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// ShardFileName is the Hugging Face name of shard i (1-based) of n.
func ShardFileName(i, n int) string {
	return fmt.Sprintf("model-%05d-of-%05d.safetensors", i, n)
}

var shardFilePattern = regexp.MustCompile(`^model-\d{5}-of-\d{5}\.safetensors$`)

// WriteSharded writes tensors into dir as a Hugging Face checkpoint. Tensors
// are packed in the given order into shards of at most maxShardBytes of data
// (a larger tensor gets a shard of its own). One shard is written as
// model.safetensors; several as model-0000x-of-0000y.safetensors plus
// model.safetensors.index.json. Every shard carries metadata. It returns the
// base names of the files written.
//
// Each file is written atomically and the index last, and only then are
// shard files and indexes of an earlier, differently sharded save removed.
// A crash midway through can still leave a new shard beside an old index;
// Open then fails on the mismatch instead of loading mixed weights.
func WriteSharded(dir string, tensors []Tensor, metadata map[string]string, maxShardBytes int64) ([]string, error) {
	if maxShardBytes <= 0 {
		return nil, fmt.Errorf("write %s: max shard size %d must be positive", dir, maxShardBytes)
	}
	if _, _, err := encodeHeader(tensors, metadata); err != nil {
		return nil, fmt.Errorf("write %s: %w", dir, err)
	}
	var shards [][]Tensor
	var shardBytes, totalBytes int64
	for _, t := range tensors {
		n, _ := t.byteLen()
		if len(shards) == 0 || (shardBytes+n > maxShardBytes && shardBytes > 0) {
			shards = append(shards, nil)
			shardBytes = 0
		}
		shards[len(shards)-1] = append(shards[len(shards)-1], t)
		shardBytes += n
		totalBytes += n
	}
	if len(shards) <= 1 {
		if err := Write(filepath.Join(dir, SingleFileName), tensors, metadata); err != nil {
			return nil, err
		}
		written := []string{SingleFileName}
		return written, removeStale(dir, written)
	}
	weightMap := map[string]string{}
	var written []string
	for i, shard := range shards {
		name := ShardFileName(i+1, len(shards))
		if err := Write(filepath.Join(dir, name), shard, metadata); err != nil {
			return nil, err
		}
		for _, t := range shard {
			weightMap[t.Name] = name
		}
		written = append(written, name)
	}
	index := shardIndex{Metadata: map[string]any{"total_size": totalBytes}, WeightMap: weightMap}
	// transformers writes its index with indent=2 and sorted keys; so do we.
	raw, err := json.MarshalIndent(index, "", "  ")
	if err != nil {
		return nil, err
	}
	indexPath := filepath.Join(dir, IndexFileName)
	if err := writeAtomic(indexPath, func(w io.Writer) error {
		_, err := w.Write(append(raw, '\n'))
		return err
	}); err != nil {
		return nil, fmt.Errorf("write %s: %w", indexPath, err)
	}
	written = append(written, IndexFileName)
	return written, removeStale(dir, written)
}

// removeStale deletes checkpoint files in dir left by an earlier save with a
// different sharding, so Open cannot pick up an outdated index or shard.
func removeStale(dir string, written []string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("clean %s: %w", dir, err)
	}
	keep := map[string]bool{}
	for _, name := range written {
		keep[name] = true
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		stale := shardFilePattern.MatchString(name) || name == SingleFileName || name == IndexFileName
		if stale && !keep[name] {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("clean %s: %w", dir, errors.Join(errs...))
	}
	return nil
}
