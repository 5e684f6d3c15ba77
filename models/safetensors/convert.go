package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/nrgraph/nrgraph/graph"
)

// The scalar conversions live in package graph (the IR needs them for
// constants and it imports nothing); these names keep this package's API.

// BF16BitsToFloat32 widens a bfloat16 exactly.
func BF16BitsToFloat32(bits uint16) float32 { return graph.BF16ToFloat32(bits) }

// Float32ToBF16Bits rounds to the nearest bfloat16, ties to even.
func Float32ToBF16Bits(f float32) uint16 { return graph.Float32ToBF16(f) }

// F16BitsToFloat32 widens an IEEE 754 binary16 exactly.
func F16BitsToFloat32(bits uint16) float32 { return graph.F16ToFloat32(bits) }

// Float32ToF16Bits rounds to the nearest binary16, ties to even.
func Float32ToF16Bits(f float32) uint16 { return graph.Float32ToF16(f) }

// Float32ToBF16 converts a slice with Float32ToBF16Bits.
func Float32ToBF16(values []float32) []uint16 { return mapSlice(values, Float32ToBF16Bits) }

// BF16ToFloat32 converts a slice with BF16BitsToFloat32.
func BF16ToFloat32(bits []uint16) []float32 { return mapSlice(bits, BF16BitsToFloat32) }

// Float32ToF16 converts a slice with Float32ToF16Bits.
func Float32ToF16(values []float32) []uint16 { return mapSlice(values, Float32ToF16Bits) }

// F16ToFloat32 converts a slice with F16BitsToFloat32.
func F16ToFloat32(bits []uint16) []float32 { return mapSlice(bits, F16BitsToFloat32) }

func mapSlice[In, Out any](in []In, f func(In) Out) []Out {
	out := make([]Out, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// DecodeFloats converts raw little-endian F16, BF16, F32 or F64 data to T.
// Widening is exact; F64 to float32 rounds to nearest.
func DecodeFloats[T float32 | float64](dtype DType, raw []byte) ([]T, error) {
	size := dtype.Size()
	switch dtype {
	case F16, BF16, F32, F64:
	default:
		return nil, fmt.Errorf("dtype %s is not floating point (want F16, BF16, F32 or F64)", dtype)
	}
	if int64(len(raw))%size != 0 {
		return nil, fmt.Errorf("%d bytes is not a whole number of %d-byte %s elements", len(raw), size, dtype)
	}
	out := make([]T, int64(len(raw))/size)
	le := binary.LittleEndian
	// One loop per dtype: a switch inside the loop costs about half the
	// throughput on multi-GiB embeddings.
	switch dtype {
	case F16:
		for i := range out {
			out[i] = T(F16BitsToFloat32(le.Uint16(raw[2*i:])))
		}
	case BF16:
		for i := range out {
			out[i] = T(BF16BitsToFloat32(le.Uint16(raw[2*i:])))
		}
	case F32:
		for i := range out {
			out[i] = T(math.Float32frombits(le.Uint32(raw[4*i:])))
		}
	case F64:
		for i := range out {
			out[i] = T(math.Float64frombits(le.Uint64(raw[8*i:])))
		}
	}
	return out, nil
}

// EncodeFloat32 converts values to raw little-endian data of a floating-point
// dtype (F16 and BF16 round to nearest even; F64 is exact).
func EncodeFloat32(dtype DType, values []float32) ([]byte, error) {
	size := dtype.Size()
	switch dtype {
	case F16, BF16, F32, F64:
	default:
		return nil, fmt.Errorf("dtype %s is not floating point (want F16, BF16, F32 or F64)", dtype)
	}
	out := make([]byte, int64(len(values))*size)
	le := binary.LittleEndian
	for i, v := range values {
		element := out[int64(i)*size:]
		switch dtype {
		case F16:
			le.PutUint16(element, Float32ToF16Bits(v))
		case BF16:
			le.PutUint16(element, Float32ToBF16Bits(v))
		case F32:
			le.PutUint32(element, math.Float32bits(v))
		case F64:
			le.PutUint64(element, math.Float64bits(float64(v)))
		}
	}
	return out, nil
}
