package models

import (
	"encoding/binary"
	"fmt"

	"github.com/nrgraph/nrgraph/graph"
)

// ConvertWeight converts a tensor to float32 or bfloat16 (round to nearest
// even, as PyTorch's .to(torch.bfloat16)): the dtypes Hugging Face
// checkpoints are written in.
func ConvertWeight(d *graph.Data, dtype graph.DType) (*graph.Data, error) {
	vals, err := d.Float64s()
	if err != nil {
		return nil, err
	}
	switch dtype {
	case graph.Float32:
		f := make([]float32, len(vals))
		for i, v := range vals {
			f[i] = float32(v)
		}
		return graph.NewData(d.Dims, f), nil
	case graph.BFloat16:
		raw := make([]byte, 2*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint16(raw[2*i:], graph.Float32ToBF16(float32(v)))
		}
		return graph.RawData(graph.BFloat16, d.Dims, raw)
	}
	return nil, fmt.Errorf("cannot write weights as %s: want float32 or bfloat16", dtype)
}
