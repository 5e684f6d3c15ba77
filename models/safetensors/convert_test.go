package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Bit patterns computed by hand from IEEE 754 (the name of each row says
// which rule it checks).
func TestHalfConversionBits(t *testing.T) {
	// Both directions as bits -> bits, so one table holds them.
	narrow := func(f func(float32) uint16) func(uint32) uint32 {
		return func(bits uint32) uint32 { return uint32(f(math.Float32frombits(bits))) }
	}
	widen := func(f func(uint16) float32) func(uint32) uint32 {
		return func(bits uint32) uint32 { return math.Float32bits(f(uint16(bits))) }
	}
	bf16, f16 := narrow(Float32ToBF16Bits), narrow(Float32ToF16Bits)
	fromBF16, fromF16 := widen(BF16BitsToFloat32), widen(F16BitsToFloat32)
	tests := []struct {
		name    string
		convert func(uint32) uint32
		in      uint32
		want    uint32
	}{
		{"bf16 one", bf16, 0x3F800000, 0x3F80},
		{"bf16 negative zero", bf16, 0x80000000, 0x8000},
		{"bf16 tie rounds down to even", bf16, 0x3F808000, 0x3F80},
		{"bf16 tie rounds up to even", bf16, 0x3F818000, 0x3F82},
		{"bf16 just above half rounds up", bf16, 0x3F808001, 0x3F81},
		{"bf16 just below half rounds down", bf16, 0x3F807FFF, 0x3F80},
		{"bf16 max float overflows to inf", bf16, 0x7F7FFFFF, 0x7F80},
		{"bf16 below overflow threshold stays finite", bf16, 0x7F7F7FFF, 0x7F7F},
		{"bf16 inf", bf16, 0x7F800000, 0x7F80},
		{"bf16 negative inf", bf16, 0xFF800000, 0xFF80},
		{"bf16 quiet nan", bf16, 0x7FC00000, 0x7FC0},
		{"bf16 nan with low payload stays nan", bf16, 0x7F800001, 0x7FC0},
		{"bf16 negative signalling nan stays nan", bf16, 0xFF800001, 0xFFC0},
		{"bf16 nan payload kept", bf16, 0x7FA50000, 0x7FE5},
		{"bf16 smallest subnormal rounds to zero", bf16, 0x00000001, 0x0000},
		{"bf16 subnormal tie to even zero", bf16, 0x00008000, 0x0000},
		{"bf16 subnormal tie to even up", bf16, 0x00018000, 0x0002},
		{"bf16 largest negative subnormal rounds to min normal", bf16, 0x807FFFFF, 0x8080},

		{"f16 one", f16, 0x3F800000, 0x3C00},
		{"f16 negative zero", f16, 0x80000000, 0x8000},
		{"f16 max finite 65504", f16, 0x477FE000, 0x7BFF},
		{"f16 just below 65520 stays finite", f16, 0x477FEFFF, 0x7BFF},
		{"f16 65520 ties to even, which is inf", f16, 0x477FF000, 0x7C00},
		{"f16 65536 overflows", f16, 0x47800000, 0x7C00},
		{"f16 inf", f16, 0x7F800000, 0x7C00},
		{"f16 negative inf", f16, 0xFF800000, 0xFC00},
		{"f16 min normal 2^-14", f16, 0x38800000, 0x0400},
		{"f16 largest subnormal tie rounds to min normal", f16, 0x387FE000, 0x0400},
		{"f16 min subnormal 2^-24", f16, 0x33800000, 0x0001},
		{"f16 2^-25 ties to even zero", f16, 0x33000000, 0x0000},
		{"f16 just above 2^-25 rounds up", f16, 0x33000001, 0x0001},
		{"f16 just below 2^-25 rounds to zero", f16, 0x32FFFFFF, 0x0000},
		{"f16 1.5 * 2^-24 ties up to even 2", f16, 0x33C00000, 0x0002},
		{"f16 3 * 2^-24 exact subnormal", f16, 0x34400000, 0x0003},
		{"f16 negative subnormal", f16, 0xB3800000, 0x8001},
		{"f16 float32 subnormal flushes to zero", f16, 0x00000001, 0x0000},
		{"f16 tie 1 + 2^-11 rounds down to even", f16, 0x3F801000, 0x3C00},
		{"f16 tie 1 + 3*2^-11 rounds up to even", f16, 0x3F803000, 0x3C02},
		{"f16 exact 1 + 2^-10", f16, 0x3F802000, 0x3C01},
		{"f16 quiet nan", f16, 0x7FC00000, 0x7E00},
		{"f16 nan with low payload stays nan", f16, 0x7F800001, 0x7E00},
		{"f16 negative nan payload kept", f16, 0xFFC02000, 0xFE01},

		{"from bf16 one", fromBF16, 0x3F80, 0x3F800000},
		{"from bf16 subnormal", fromBF16, 0x0001, 0x00010000},
		{"from bf16 nan payload", fromBF16, 0x7FC1, 0x7FC10000},
		{"from bf16 negative inf", fromBF16, 0xFF80, 0xFF800000},
		{"from f16 one", fromF16, 0x3C00, 0x3F800000},
		{"from f16 min subnormal", fromF16, 0x0001, 0x33800000},
		{"from f16 negative min subnormal", fromF16, 0x8001, 0xB3800000},
		{"from f16 max subnormal", fromF16, 0x03FF, 0x387FC000},
		{"from f16 min normal", fromF16, 0x0400, 0x38800000},
		{"from f16 max finite", fromF16, 0x7BFF, 0x477FE000},
		{"from f16 negative inf", fromF16, 0xFC00, 0xFF800000},
		{"from f16 nan payload", fromF16, 0x7E01, 0x7FC02000},
		{"from f16 negative zero", fromF16, 0x8000, 0x80000000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.convert(tc.in)
			assert.Equal(t, tc.want, got, "got %#x", got)
		})
	}
}

// Every 16-bit pattern survives widening and narrowing back; NaNs come back
// with the quiet bit set, which is the only change allowed.
func TestHalfRoundTripAllBitPatterns(t *testing.T) {
	for bits := range 1 << 16 {
		h := uint16(bits)
		wantF16, wantBF16 := h, h
		if h&0x7C00 == 0x7C00 && h&0x03FF != 0 {
			wantF16 = h | 0x0200
		}
		if h&0x7F80 == 0x7F80 && h&0x007F != 0 {
			wantBF16 = h | 0x0040
		}
		require.Equal(t, wantF16, Float32ToF16Bits(F16BitsToFloat32(h)), "f16 %#04x", h)
		require.Equal(t, wantBF16, Float32ToBF16Bits(BF16BitsToFloat32(h)), "bf16 %#04x", h)
	}
}

// PyTorch's float32 -> bf16/f16 casts (testdata/conversions.json, from
// gen_golden.py) on edge cases and 3000 random values must agree bit for bit.
func TestConversionsMatchPyTorch(t *testing.T) {
	raw, err := os.ReadFile(testdataPath(t, "conversions.json"))
	require.NoError(t, err)
	var golden struct {
		Float32Bits []uint32 `json:"float32_bits"`
		BF16Bits    []uint16 `json:"bf16_bits"`
		F16Bits     []uint16 `json:"f16_bits"`
	}
	require.NoError(t, json.Unmarshal(raw, &golden))
	require.Len(t, golden.Float32Bits, 3030)
	values := make([]float32, len(golden.Float32Bits))
	for i, bits := range golden.Float32Bits {
		values[i] = math.Float32frombits(bits)
	}
	bf16, f16 := Float32ToBF16(values), Float32ToF16(values)
	for i, in := range golden.Float32Bits {
		assert.Equal(t, golden.BF16Bits[i], bf16[i], "bf16 of %#08x", in)
		assert.Equal(t, golden.F16Bits[i], f16[i], "f16 of %#08x", in)
	}
	// And widening what PyTorch produced gives PyTorch's float values back.
	assert.Equal(t, Float32ToBF16(BF16ToFloat32(golden.BF16Bits)), golden.BF16Bits)
	assert.Equal(t, Float32ToF16(F16ToFloat32(golden.F16Bits)), golden.F16Bits)
}

func TestEncodeDecodeFloats(t *testing.T) {
	values := []float32{1, -2.5, 0.1, float32(math.Inf(-1)), 65504, 1e-7}
	tests := []struct {
		dtype DType
		want  []float64 // what DecodeFloats[float64] must give back
	}{
		{F32, []float64{1, -2.5, float64(float32(0.1)), math.Inf(-1), 65504, float64(float32(1e-7))}},
		{F64, []float64{1, -2.5, float64(float32(0.1)), math.Inf(-1), 65504, float64(float32(1e-7))}},
		// bf16 keeps 8 significant bits: 0.1 -> 0.10009765625, 65504 -> 65536,
		// 1e-7 (0x33D6BF95) rounds its dropped half 0xBF95 up to 0x33D7.
		{BF16, []float64{1, -2.5, 0.10009765625, math.Inf(-1), 65536, float64(math.Float32frombits(0x33D70000))}},
		// f16: 0.1 -> 0.0999755859375; 1e-7 is subnormal, 2 * 2^-24.
		{F16, []float64{1, -2.5, 0.0999755859375, math.Inf(-1), 65504, 2 * math.Pow(2, -24)}},
	}
	for _, tc := range tests {
		t.Run(string(tc.dtype), func(t *testing.T) {
			raw, err := EncodeFloat32(tc.dtype, values)
			require.NoError(t, err)
			assert.Len(t, raw, len(values)*int(tc.dtype.Size()))
			got64, err := DecodeFloats[float64](tc.dtype, raw)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got64)
			got32, err := DecodeFloats[float32](tc.dtype, raw)
			require.NoError(t, err)
			for i := range got32 {
				assert.Equal(t, float32(tc.want[i]), got32[i])
			}
		})
	}
	_, err := EncodeFloat32(I32, values)
	assert.ErrorContains(t, err, "not floating point")
	_, err = DecodeFloats[float32](I64, make([]byte, 8))
	assert.ErrorContains(t, err, "not floating point")
	_, err = DecodeFloats[float32](F32, make([]byte, 6))
	assert.ErrorContains(t, err, "not a whole number")
	assert.Equal(t, uint32(0x3F800000), binary.LittleEndian.Uint32(mustEncode(t, F32, 1)))
}

func mustEncode(t *testing.T, dtype DType, values ...float32) []byte {
	raw, err := EncodeFloat32(dtype, values)
	require.NoError(t, err)
	return raw
}
