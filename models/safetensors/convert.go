package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
)

// BF16BitsToFloat32 widens a bfloat16 (the top half of a float32) exactly.
func BF16BitsToFloat32(bits uint16) float32 {
	return math.Float32frombits(uint32(bits) << 16)
}

// Float32ToBF16Bits rounds to the nearest bfloat16, ties to even, the same
// rounding PyTorch and the hardware use. Overflow rounds to ±Inf. A NaN stays
// a NaN with its sign and top payload bits: plain truncation could clear
// every remaining mantissa bit and turn it into Inf, so the quiet bit is
// forced on.
func Float32ToBF16Bits(f float32) uint16 {
	bits := math.Float32bits(f)
	if f != f {
		return uint16(bits>>16) | 0x0040
	}
	// Adding 0x7FFF plus the lowest kept bit carries into the kept half
	// exactly when the dropped half is above one half, or equal to it with an
	// odd kept half.
	rounding := uint32(0x7FFF) + (bits>>16)&1
	return uint16((bits + rounding) >> 16)
}

// F16BitsToFloat32 widens an IEEE 754 binary16 exactly, including
// subnormals, infinities and NaN payloads.
func F16BitsToFloat32(bits uint16) float32 {
	sign := uint32(bits&0x8000) << 16
	exponent := uint32(bits>>10) & 0x1F
	mantissa := uint32(bits & 0x3FF)
	switch exponent {
	case 0x1F: // Inf or NaN
		return math.Float32frombits(sign | 0x7F800000 | mantissa<<13)
	case 0: // zero or subnormal: mantissa × 2^-24, exact in float32
		magnitude := float32(mantissa) * (1.0 / (1 << 24))
		return math.Float32frombits(sign | math.Float32bits(magnitude))
	}
	// Rebias the exponent from 15 to 127.
	return math.Float32frombits(sign | (exponent+127-15)<<23 | mantissa<<13)
}

// Float32ToF16Bits rounds to the nearest binary16, ties to even, producing
// subnormals below 2^-14, ±0 below half the smallest subnormal, and ±Inf
// from 65520 up. NaNs keep their sign and top payload bits, quiet bit forced.
func Float32ToF16Bits(f float32) uint16 {
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	exponent := int32(bits>>23) & 0xFF
	mantissa := bits & 0x7FFFFF
	if exponent == 0xFF {
		if mantissa == 0 {
			return sign | 0x7C00
		}
		return sign | 0x7C00 | 0x0200 | uint16(mantissa>>13)
	}
	halfExponent := exponent - 127 + 15
	if halfExponent >= 0x1F {
		return sign | 0x7C00
	}
	if halfExponent <= 0 {
		// Result is subnormal (or rounds up to the smallest normal, which
		// the carry below produces naturally). Values under 2^-25 round to
		// zero; exactly 2^-25 is a tie that goes to even, also zero.
		if halfExponent < -10 {
			return sign
		}
		significand := mantissa | 0x800000 // restore the implicit 1
		shift := uint32(14 - halfExponent)
		return sign | uint16(roundShiftRightEven(significand, shift))
	}
	// Normal: drop 13 mantissa bits. A carry out of the mantissa correctly
	// bumps the exponent, up to Inf for 65520 and beyond.
	return sign | uint16(roundShiftRightEven(uint32(halfExponent)<<23|mantissa, 13))
}

// roundShiftRightEven returns v >> shift rounded to nearest, ties to even.
func roundShiftRightEven(v, shift uint32) uint32 {
	kept := v >> shift
	dropped := v & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if dropped > half || (dropped == half && kept&1 == 1) {
		kept++
	}
	return kept
}

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
