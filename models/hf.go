package models

import (
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models/safetensors"
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
	all, err := OpenSafetensors(dir)
	if err != nil {
		return Config{}, nil, err
	}
	w, err := languageModel(&c, all)
	if err != nil {
		return Config{}, nil, fmt.Errorf("%s: %w", dir, err)
	}
	if err := CheckWeights(c, w); err != nil {
		return Config{}, nil, fmt.Errorf("%s: %w", dir, err)
	}
	return c, w, nil
}

// safetensorsDTypes maps safetensors dtypes to graph dtypes.
var safetensorsDTypes = map[safetensors.DType]graph.DType{
	safetensors.F32: graph.Float32, safetensors.F16: graph.Float16, safetensors.BF16: graph.BFloat16, safetensors.F64: graph.Float64,
	safetensors.I64: graph.Int64, safetensors.I32: graph.Int32, safetensors.BOOL: graph.Bool,
}

// OpenSafetensors indexes every tensor of a safetensors file, sharded
// index or model directory (headers validated by package safetensors
// before anything is trusted) as file-backed data: nothing is read until a
// graph is exported, and then the regions are referenced in place.
func OpenSafetensors(path string) (MapWeights, error) {
	c, err := safetensors.Open(path)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	w := MapWeights{}
	for _, name := range c.Names() {
		info, _ := c.Info(name)
		dt, ok := safetensorsDTypes[info.DType]
		if !ok {
			return nil, fmt.Errorf("%s: tensor %q: dtype %s is not supported for model weights", info.File, name, info.DType)
		}
		d, err := graph.FileData(dt, info.Shape, graph.FileRegion{Path: info.File, Offset: info.DataOffset, Length: info.ByteLen})
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %w", info.File, name, err)
		}
		w[name] = d
	}
	return w, nil
}

// WriteSafetensors streams tensors to w in the safetensors format, loading
// each tensor's data only while writing it.
func WriteSafetensors(w io.Writer, tensors map[string]*graph.Data, metadata map[string]string) error {
	names := slices.Sorted(maps.Keys(tensors))
	out := make([]safetensors.Tensor, 0, len(names))
	for _, n := range names {
		d := tensors[n]
		var st safetensors.DType
		for k, v := range safetensorsDTypes {
			if v == d.DType {
				st = k
			}
		}
		if st == "" {
			return fmt.Errorf("tensor %q: dtype %s has no safetensors name", n, d.DType)
		}
		raw, err := d.Bytes()
		if err != nil {
			return fmt.Errorf("tensor %q: %w", n, err)
		}
		dims := d.Dims
		if dims == nil {
			dims = []int64{}
		}
		out = append(out, safetensors.Tensor{Name: n, DType: st, Shape: dims, Data: raw})
	}
	return safetensors.Encode(w, out, metadata)
}
