package models

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/nrgraph/nrgraph/graph"
)

// BackbonePrecision is how the frozen linear layers of the backbone run
// (`nrgraph build --backbone-precision`).
type BackbonePrecision string

const (
	// PrecisionFP32 runs every product in the compute dtype (the default).
	PrecisionFP32 BackbonePrecision = "fp32"
	// PrecisionInt8 runs the frozen projections of every block (attention
	// q/k/v/o, FFN gate/up/down) as int8 products: weights quantised once
	// per output channel at build time, activations per call (the CPU
	// analogue of QLoRA). Adapters and their gradients, norms, softmax,
	// the embedding, the LM head and the loss stay float32.
	PrecisionInt8 BackbonePrecision = "int8"
)

// BackbonePrecisions lists the accepted values.
var BackbonePrecisions = []BackbonePrecision{PrecisionFP32, PrecisionInt8}

// ParseBackbonePrecision accepts "" (fp32), fp32 or int8.
func ParseBackbonePrecision(s string) (BackbonePrecision, error) {
	if s == "" {
		return PrecisionFP32, nil
	}
	if p := BackbonePrecision(s); slices.Contains(BackbonePrecisions, p) {
		return p, nil
	}
	return "", fmt.Errorf("unknown backbone precision %q (want fp32 or int8)", s)
}

// Why this op and this encoding, measured on this project's 2-core AMD
// EPYC VM (AVX2 + FMA; no AVX-512, VNNI or AMX; shared with other jobs, so
// loaded), `go run ./bench/int8ops -threads 2 -rounds 5`, GFLOP/s as a
// multiple of fp32 MatMul at 2048 tokens:
//
//	                        512x512  512x1368  1368x512  2048x2048
//	DynamicQuantizeMatMul    1.1-3.0x 2.2-2.4x  1.4-1.7x  2.1-2.6x
//	  (ranges over weights s8, s7 and u8; u8, the one used: 1.1x, 2.4x, 1.7x, 2.3x)
//	DQLinear+MatMulIntToFloat 1.6x    1.8x      1.5x      3.6x
//	DQLinear+MatMulInteger    2.3x    2.3x      1.2x      3.5x
//	MatMulNBits 8-bit acc4    0.7x    0.7x      0.5x      1.3x
//
// The three int8 GEMM routes run the same MLAS kernel and are within this
// machine's noise of each other; DynamicQuantizeMatMul is one node (the
// activation quantisation fused in, nothing extra held for the backward),
// so it is the one emitted. MatMulNBits is slower than fp32 here.
//
// The encoding: uint8 weights with zero point 128, values 128 ± 127.
// Signed int8 in [-127, 127] is wrong on this CPU: MLAS's AVX2 u8·s8
// kernel sums pairs of products in 16 bits and saturates (the hand
// reference in graph/quantized_test.go caught it); signed weights would
// have to be 7-bit ([-63, 63], twice the rounding error), while uint8
// weights take the u8·u8 kernel, which widens first, at full 8-bit
// resolution and the same speed here.
const (
	int8Limit = 127
	int8Zero  = 128
)

// quantizedLinear returns x·Wᵀ of the frozen weight name through its int8
// copy, or nil when name runs in the compute dtype (fp32 mode, trained
// weights).
func (b *builder) quantizedLinear(x *graph.Value, name string) *graph.Value {
	if b.opts.BackbonePrecision != PrecisionInt8 || (b.opts.Trainable != nil && b.opts.Trainable(name)) {
		return nil
	}
	if b.dt != graph.Float32 {
		panic(&graph.Error{Op: "Linear", Node: name, Err: fmt.Errorf("the int8 backbone needs float32 activations, not %s", b.dt)})
	}
	src, err := b.w.Tensor(name)
	if err != nil {
		panic(&graph.Error{Op: "Weights", Node: name, Err: err})
	}
	if len(src.Dims) != 2 {
		panic(&graph.Error{Op: "Linear", Node: name, Err: fmt.Errorf("int8 weights must be matrices, got %v", src.Dims)})
	}
	var q, scales *graph.Data
	if b.opts.Int8File != nil {
		if q, scales, err = b.opts.Int8File.Quantized(name, src); err != nil {
			panic(&graph.Error{Op: "Weights", Node: name, Err: err})
		}
	} else {
		q, scales = QuantizeRows(src)
	}
	w := b.g.Initializer(name+".int8", q)
	s := b.g.Initializer(name+".int8_scale", scales)
	zero, _ := graph.RawData(graph.Uint8, nil, []byte{int8Zero})
	return graph.DynamicQuantizeMatMul(x, w, s, graph.Const(b.g, zero))
}

// QuantizeRows quantises an HF [out, in] weight per output row: scale_o =
// max|W[o,:]| / 127 and q = round(W/scale_o) + 128, stored transposed as
// uint8 [in, out] (the B of y = x·B) with the float32 scales [out]. Both
// are computed on first use and read the weight in chunks of rows.
func QuantizeRows(w *graph.Data) (q, scales *graph.Data) {
	out, in := w.Dims[0], w.Dims[1]
	scales = graph.LazyData(graph.Float32, []int64{out}, func() ([]byte, error) {
		raw := make([]byte, 4*out)
		err := forRows(w, func(o int64, row []float64) {
			m := 0.0
			for _, v := range row {
				m = math.Max(m, math.Abs(v))
			}
			binary.LittleEndian.PutUint32(raw[4*o:], math.Float32bits(rowScale(m)))
		})
		return raw, err
	})
	q = graph.LazyData(graph.Uint8, []int64{in, out}, func() ([]byte, error) {
		s, err := scales.Float64s()
		if err != nil {
			return nil, err
		}
		raw := make([]byte, in*out)
		err = forRows(w, func(o int64, row []float64) {
			for k, v := range row {
				raw[int64(k)*out+o] = byte(int8Zero + max(-int8Limit, min(int8Limit, math.RoundToEven(v/s[o]))))
			}
		})
		return raw, err
	})
	return q, scales
}

// rowScale maps a row's largest magnitude to its scale (an all-zero row
// gets 1, so its quantised values are 0, not NaN).
func rowScale(maxAbs float64) float32 {
	if maxAbs == 0 {
		return 1
	}
	return float32(maxAbs / int8Limit)
}

// forRows decodes w ([rows, cols], any float dtype) 256 rows at a time.
func forRows(w *graph.Data, f func(row int64, vals []float64)) error {
	rows, cols := w.Dims[0], w.Dims[1]
	for from := int64(0); from < rows; from += 256 {
		to := min(from+256, rows)
		chunk, err := w.Rows(from, to)
		if err != nil {
			return err
		}
		vals, err := chunk.Float64s()
		if err != nil {
			return err
		}
		for r := from; r < to; r++ {
			f(r, vals[(r-from)*cols:(r-from+1)*cols])
		}
	}
	return nil
}
