package models

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/nrgraph/nrgraph/graph"
)

// LoadModelDir reads a Hugging Face model directory: config.json and its
// safetensors weights (single file or sharded with model.safetensors.index.json).
// Tensors are file-backed: nothing is read until a graph is exported, and
// then safetensors regions are referenced as ONNX external data in place.
func LoadModelDir(dir string) (Config, Weights, error) {
	c, err := LoadConfig(dir)
	if err != nil {
		return Config{}, nil, err
	}
	w, err := OpenSafetensors(dir)
	if err != nil {
		return Config{}, nil, err
	}
	if err := CheckWeights(c, w); err != nil {
		return Config{}, nil, fmt.Errorf("%s: %w", dir, err)
	}
	return c, w, nil
}

// safetensorsDTypes maps safetensors dtype names to graph dtypes.
var safetensorsDTypes = map[string]graph.DType{
	"F32": graph.Float32, "F16": graph.Float16, "BF16": graph.BFloat16, "F64": graph.Float64,
	"I64": graph.Int64, "I32": graph.Int32, "BOOL": graph.Bool,
}

// maxHeaderBytes bounds the JSON header read from an untrusted file.
const maxHeaderBytes = 100 << 20

// OpenSafetensors indexes every tensor of the safetensors file(s) in dir
// (or the single file dir names), validating each header before trusting
// it: header length bounded by the file, known dtypes, offsets inside the
// data section, sizes equal to dtype × shape, no overlaps.
func OpenSafetensors(dir string) (MapWeights, error) {
	var files []string
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		files = []string{dir}
	} else if raw, err := os.ReadFile(filepath.Join(dir, "model.safetensors.index.json")); err == nil {
		var idx struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(raw, &idx); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "model.safetensors.index.json"), err)
		}
		seen := map[string]bool{}
		for _, f := range idx.WeightMap {
			if !seen[f] {
				seen[f] = true
				files = append(files, filepath.Join(dir, f))
			}
		}
		sort.Strings(files)
		w, err := readSafetensorsFiles(files)
		if err != nil {
			return nil, err
		}
		for name, f := range idx.WeightMap {
			d, ok := w[name]
			if !ok {
				return nil, fmt.Errorf("model.safetensors.index.json maps tensor %q to %s, which does not contain it", name, f)
			}
			if filepath.Base(d.File.Path) != filepath.Base(f) {
				return nil, fmt.Errorf("tensor %q is in %s but the index says %s", name, filepath.Base(d.File.Path), f)
			}
		}
		return w, nil
	} else {
		files, _ = filepath.Glob(filepath.Join(dir, "*.safetensors"))
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: no model.safetensors (or sharded index) found", dir)
		}
		sort.Strings(files)
	}
	return readSafetensorsFiles(files)
}

func readSafetensorsFiles(files []string) (MapWeights, error) {
	w := MapWeights{}
	for _, path := range files {
		entries, err := readSafetensorsHeader(path)
		if err != nil {
			return nil, err
		}
		for name, d := range entries {
			if _, dup := w[name]; dup {
				return nil, fmt.Errorf("%s: tensor %q also appears in another shard", path, name)
			}
			w[name] = d
		}
	}
	return w, nil
}

// readSafetensorsHeader parses and validates one file's header.
func readSafetensorsHeader(path string) (map[string]*graph.Data, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open weights: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return parseSafetensorsHeader(path, f, st.Size())
}

func parseSafetensorsHeader(path string, r io.ReaderAt, size int64) (map[string]*graph.Data, error) {
	var lenBuf [8]byte
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, fmt.Errorf("%s: truncated (no header length): %w", path, err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > maxHeaderBytes || int64(n) > size-8 {
		return nil, fmt.Errorf("%s: header length %d exceeds the file (%d bytes) or the %d-byte limit", path, n, size, maxHeaderBytes)
	}
	raw := make([]byte, n)
	if _, err := r.ReadAt(raw, 8); err != nil {
		return nil, fmt.Errorf("%s: reading header: %w", path, err)
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(raw, &header); err != nil {
		return nil, fmt.Errorf("%s: header is not valid JSON: %w", path, err)
	}
	dataStart := 8 + int64(n)
	dataLen := size - dataStart
	type span struct {
		begin, end int64
		name       string
	}
	var spans []span
	out := map[string]*graph.Data{}
	for name, msg := range header {
		if name == "__metadata__" {
			continue
		}
		var info struct {
			DType   string  `json:"dtype"`
			Shape   []int64 `json:"shape"`
			Offsets []int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(msg, &info); err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %w", path, name, err)
		}
		dt, ok := safetensorsDTypes[info.DType]
		if !ok {
			return nil, fmt.Errorf("%s: tensor %q: unsupported dtype %q", path, name, info.DType)
		}
		if len(info.Offsets) != 2 || info.Offsets[0] < 0 || info.Offsets[1] < info.Offsets[0] || info.Offsets[1] > dataLen {
			return nil, fmt.Errorf("%s: tensor %q: data_offsets %v outside the %d-byte data section", path, name, info.Offsets, dataLen)
		}
		want := int64(dt.Size())
		for _, d := range info.Shape {
			if d < 0 || (d > 0 && want > (1<<62)/d) {
				return nil, fmt.Errorf("%s: tensor %q: invalid shape %v", path, name, info.Shape)
			}
			want *= d
		}
		if got := info.Offsets[1] - info.Offsets[0]; got != want {
			return nil, fmt.Errorf("%s: tensor %q: %s%v needs %d bytes but data_offsets span %d", path, name, info.DType, info.Shape, want, got)
		}
		abs, _ := filepath.Abs(path)
		d, err := graph.FileData(dt, info.Shape, graph.FileRegion{Path: abs, Offset: dataStart + info.Offsets[0], Length: want})
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %w", path, name, err)
		}
		out[name] = d
		spans = append(spans, span{info.Offsets[0], info.Offsets[1], name})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].begin < spans[j].begin })
	for i := 1; i < len(spans); i++ {
		if spans[i].begin < spans[i-1].end {
			return nil, fmt.Errorf("%s: tensors %q and %q overlap", path, spans[i-1].name, spans[i].name)
		}
	}
	return out, nil
}

// safetensorsNames maps graph dtypes back to safetensors names.
func safetensorsName(dt graph.DType) (string, error) {
	for name, d := range safetensorsDTypes {
		if d == dt {
			return name, nil
		}
	}
	return "", fmt.Errorf("dtype %s has no safetensors name", dt)
}

// WriteSafetensors streams tensors to w in the safetensors format (header
// sorted by name, padded to 8 bytes, data in the same order), loading each
// tensor's data only while writing it.
func WriteSafetensors(w io.Writer, tensors map[string]*graph.Data, metadata map[string]string) error {
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	offset := int64(0)
	for _, n := range names {
		d := tensors[n]
		dt, err := safetensorsName(d.DType)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", n, err)
		}
		dims := d.Dims
		if dims == nil {
			dims = []int64{}
		}
		header[n] = map[string]any{"dtype": dt, "shape": dims, "data_offsets": []int64{offset, offset + d.NumBytes()}}
		offset += d.NumBytes()
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(hb)%8 != 0 {
		hb = append(hb, ' ')
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hb)))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return err
	}
	if _, err := w.Write(hb); err != nil {
		return err
	}
	for _, n := range names {
		if _, err := tensors[n].WriteTo(w); err != nil {
			return fmt.Errorf("tensor %q: %w", n, err)
		}
	}
	return nil
}
