package build

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
)

// WriteTensors stores float32 tensors as one safetensors file, atomically
// (temp file, fsync, rename).
func WriteTensors(path string, tensors map[string][]float32, shapes map[string][]int64, meta map[string]string) error {
	data := make(map[string]*graph.Data, len(tensors))
	for name, vals := range tensors {
		shape, ok := shapes[name]
		if !ok {
			return fmt.Errorf("write %s: no shape for tensor %q", path, name)
		}
		data[name] = graph.NewData(shape, vals)
	}
	var buf bytes.Buffer
	if err := models.WriteSafetensors(&buf, data, meta); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return WriteFileAtomic(path, buf.Bytes())
}

// ReadTensors loads every float32 tensor of a safetensors file (its header
// validated first).
func ReadTensors(path string) (map[string][]float32, error) {
	w, err := models.OpenSafetensors(path)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]float32, len(w))
	for name, d := range w {
		if d.DType != graph.Float32 {
			return nil, fmt.Errorf("%s: tensor %q is %s, want float32", path, name, d.DType)
		}
		raw, err := d.Bytes()
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %w", path, name, err)
		}
		vals := make([]float32, len(raw)/4)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		out[name] = vals
	}
	return out, nil
}
