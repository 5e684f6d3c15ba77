package graph_test

import (
	"fmt"
	"math"
	"math/rand"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/graph/internal/nd"
)

// quantizedWeights are a random [k, n] matrix of dt (int8 in
// [-limit, limit], or uint8 in [128-limit, 128+limit] with zero point 128)
// and per-column scales, as graph data and as the float64 reference sees
// them (bRef: the values less the zero point).
func quantizedWeights(dt graph.DType, k, n, limit int) (b, scale *graph.Data, bRef, scaleRef nd.Array) {
	r := rand.New(rand.NewSource(int64(limit)))
	raw := make([]byte, k*n)
	bRef, scaleRef = nd.Zeros(k, n), nd.Zeros(n)
	for i := range raw {
		v := r.Intn(2*limit+1) - limit
		raw[i], bRef.Data[i] = byte(int8(v)), float64(v)
		if dt == graph.Uint8 {
			raw[i] = byte(v + 128)
		}
	}
	s := make([]float32, n)
	for j := range s {
		s[j] = float32(0.01 + 0.02*r.Float64())
		scaleRef.Data[j] = float64(s[j])
	}
	b, err := graph.RawData(dt, []int64{int64(k), int64(n)}, raw)
	if err != nil {
		panic(err)
	}
	return b, graph.NewData([]int64{int64(n)}, s), bRef, scaleRef
}

// dynamicQuantizeMatMulRef is the op done by hand from its specification:
// x quantised to uint8 as DynamicQuantizeLinear does (range widened to
// include 0, float32 scale (max - min)/255, zero point round(-min/scale),
// values round-half-even(x/scale) + zero point saturated to [0, 255]),
// then an exact integer product with b and one float32 rescale.
func dynamicQuantizeMatMulRef(x, b, scale nd.Array) nd.Array {
	lo, hi := 0.0, 0.0
	for _, v := range x.Data {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	xs := nd.RoundFloat32((hi - lo) / 255)
	zp := math.Max(0, math.Min(255, math.RoundToEven(-lo/xs)))
	rows, k, n := x.Shape[0], x.Shape[1], b.Shape[1]
	y := nd.Zeros(rows, n)
	for i := 0; i < rows; i++ {
		for j := 0; j < n; j++ {
			acc := 0.0
			for kk := 0; kk < k; kk++ {
				q := math.Max(0, math.Min(255, math.RoundToEven(nd.RoundFloat32(x.At(i, kk)/xs))+zp))
				acc += (q - zp) * b.At(kk, j)
			}
			y.Set(acc*nd.RoundFloat32(xs*scale.Data[j]), i, j)
		}
	}
	return y
}

// dynamicQuantizeMatMulRow checks the op against dynamicQuantizeMatMulRef
// for weights of dt within limit of their zero point. K = 64 with uniform
// activations makes pairs of large products likely: int8 weights in
// [-127, 127] failed here on AVX2 without VNNI (element 29: 1.066, want
// -0.465), whose u8·s8 kernel sums pairs of products in 16 bits and
// saturates; [-63, 63] and uint8 weights do not.
func dynamicQuantizeMatMulRow(dt graph.DType, limit int) refRow {
	const k, n = 64, 6
	b, scale, bRef, scaleRef := quantizedWeights(dt, k, n, limit)
	return row(fmt.Sprintf("DynamicQuantizeMatMul %s within %d of zero", dt, limit), float32Tol, []refInput{in32(5, k)},
		func(g *graph.Graph, in []*graph.Value) *graph.Value {
			var zero *graph.Value
			if dt == graph.Uint8 {
				zero = graph.Const(g, must(graph.RawData(graph.Uint8, nil, []byte{128})))
			}
			return graph.DynamicQuantizeMatMul(in[0], graph.Const(g, b), graph.Const(g, scale), zero)
		},
		func(in []nd.Array) nd.Array { return dynamicQuantizeMatMulRef(in[0], bRef, scaleRef) })
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// dynamicQuantizeMatMulGradCase checks the op's VJP by central
// differences through float32. x's entries and the step are multiples of
// 1/64 and a constant row pins the quantisation range to [-2, 127/64]
// (scale exactly 1/64, zero point 128), so x ± h quantises without error
// and the finite differences are exact; the tolerance is the backward's
// own rounding: it quantises the incoming gradient to 8 bits per tensor
// (about 1% of its range here).
func dynamicQuantizeMatMulGradCase(dt graph.DType, limit int) gradCase {
	const k, n = 4, 3
	b, scale, _, _ := quantizedWeights(dt, k, n, limit)
	grid := func(r *rand.Rand, _ int) float64 { return float64(r.Intn(201)-100) / 64 }
	return gradCase{name: fmt.Sprintf("DynamicQuantizeMatMul %s", dt), op: "DynamicQuantizeMatMul", h: 1.0 / 64, tol: 3e-2,
		ins: []inSpec{{shape: []int64{3, k}, gen: grid}},
		build: func(in []*graph.Value) *graph.Value {
			g := in[0].Graph()
			pins := graph.Const(g, graph.NewData([]int64{1, k}, []float32{-2, 127.0 / 64, 0, 0}))
			a := graph.Concat(0, graph.Cast(in[0], graph.Float32), pins)
			var zero *graph.Value
			if dt == graph.Uint8 {
				zero = graph.Const(g, must(graph.RawData(graph.Uint8, nil, []byte{128})))
			}
			return graph.Cast(graph.DynamicQuantizeMatMul(a, graph.Const(g, b), graph.Const(g, scale), zero), graph.Float64)
		}}
}
