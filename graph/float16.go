package graph

import "math"

// Conversions between float32 and the 16-bit float formats, for constants
// and weights. Verified bit for bit against PyTorch by package
// models/safetensors' tests.

// BF16ToFloat32 widens a bfloat16 (the top half of a float32) exactly.
func BF16ToFloat32(bits uint16) float32 {
	return math.Float32frombits(uint32(bits) << 16)
}

// Float32ToBF16 rounds to the nearest bfloat16, ties to even, the same
// rounding PyTorch and the hardware use. Overflow rounds to ±Inf. A NaN stays
// a NaN with its sign and top payload bits: plain truncation could clear
// every remaining mantissa bit and turn it into Inf, so the quiet bit is
// forced on.
func Float32ToBF16(f float32) uint16 {
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

// F16ToFloat32 widens an IEEE 754 binary16 exactly, including
// subnormals, infinities and NaN payloads.
func F16ToFloat32(bits uint16) float32 {
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

// Float32ToF16 rounds to the nearest binary16, ties to even, producing
// subnormals below 2^-14, ±0 below half the smallest subnormal, and ±Inf
// from 65520 up. NaNs keep their sign and top payload bits, quiet bit forced.
func Float32ToF16(f float32) uint16 {
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
