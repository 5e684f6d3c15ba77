package build

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/nrgraph/nrgraph/models/safetensors"
)

// WriteTensors stores float32 tensors as one safetensors file, atomically
// (temp file, fsync, rename), streaming each tensor's memory to the file:
// no copy of the state is made (a Gemma-2B run's state is 6 GB).
func WriteTensors(path string, tensors map[string][]float32, shapes map[string][]int64, meta map[string]string) error {
	list := make([]safetensors.Tensor, 0, len(tensors))
	for name, vals := range tensors {
		shape, ok := shapes[name]
		if !ok {
			return fmt.Errorf("write %s: no shape for tensor %q", path, name)
		}
		if shape == nil {
			shape = []int64{}
		}
		list = append(list, safetensors.Tensor{Name: name, DType: safetensors.F32, Shape: shape, Data: float32Bytes(vals)})
	}
	return safetensors.Write(path, list, meta)
}

// float32Bytes views vals as little-endian bytes without copying (every
// platform ONNX Runtime ships for is little-endian).
func float32Bytes(vals []float32) []byte {
	if len(vals) == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&vals[0])), 4*len(vals))
}

// ReadTensors loads every float32 tensor of a safetensors file (its header
// validated first).
func ReadTensors(path string) (map[string][]float32, error) {
	out := map[string][]float32{}
	err := ReadTensorsInto(path, func(name string, n int) []float32 {
		out[name] = make([]float32, n)
		return out[name]
	})
	return out, err
}

// ReadTensorsInto copies each float32 tensor of a safetensors file into the
// slice dst returns for it (nil: skip the tensor), straight from the
// memory-mapped file: loading a checkpoint into the trainer's state needs
// no second copy of it.
func ReadTensorsInto(path string, dst func(name string, n int) []float32) error {
	c, err := safetensors.Open(path)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, name := range c.Names() {
		info, _ := c.Info(name)
		if info.DType != safetensors.F32 {
			return fmt.Errorf("%s: tensor %q is %s, want F32", path, name, info.DType)
		}
		n := int(info.NumElements())
		out := dst(name, n)
		if out == nil {
			continue
		}
		if len(out) != n {
			return fmt.Errorf("%s: tensor %q has %d values, want %d", path, name, n, len(out))
		}
		raw, err := c.Bytes(name) // a view of the mapping, or one tensor read
		if err != nil {
			return err
		}
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	}
	return nil
}
