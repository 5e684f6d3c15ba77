package nd

import (
	"fmt"
	"math"
	"slices"
)

// MatMul is numpy's matmul for operands of rank >= 2: the last two dims
// multiply, the leading (batch) dims broadcast.
func MatMul(a, b Array) Array {
	if a.Rank() < 2 || b.Rank() < 2 {
		panic(fmt.Sprintf("nd.MatMul: ranks %d and %d, want >= 2", a.Rank(), b.Rank()))
	}
	m, k := a.Shape[a.Rank()-2], a.Shape[a.Rank()-1]
	k2, n := b.Shape[b.Rank()-2], b.Shape[b.Rank()-1]
	if k != k2 {
		panic(fmt.Sprintf("nd.MatMul: inner dims of %v and %v differ", a.Shape, b.Shape))
	}
	batch, err := BroadcastShape(a.Shape[:a.Rank()-2], b.Shape[:b.Rank()-2])
	if err != nil {
		panic("nd.MatMul: " + err.Error())
	}
	out := Zeros(append(slices.Clone(batch), m, n)...)
	// batchCoords maps a batch coordinate onto an operand's own batch dims.
	batchCoords := func(x Array, c []int) []int {
		lead := len(batch) - (x.Rank() - 2)
		own := make([]int, x.Rank())
		for i := 0; i < x.Rank()-2; i++ {
			if x.Shape[i] != 1 {
				own[i] = c[lead+i]
			}
		}
		return own
	}
	for bi := 0; bi < NumElements(batch); bi++ {
		c := Unravel(bi, batch)
		ca, cb := batchCoords(a, c), batchCoords(b, c)
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				sum := 0.0
				for p := 0; p < k; p++ {
					ca[len(ca)-2], ca[len(ca)-1] = i, p
					cb[len(cb)-2], cb[len(cb)-1] = p, j
					sum += a.At(ca...) * b.At(cb...)
				}
				out.Set(sum, append(slices.Clone(c), i, j)...)
			}
		}
	}
	return out
}

// Gemm is alpha*op(a)*op(b) + beta*c for matrices, c broadcast to the
// result (nil for none).
func Gemm(a, b Array, c *Array, transA, transB bool, alpha, beta float64) Array {
	if transA {
		a = Transpose(a)
	}
	if transB {
		b = Transpose(b)
	}
	out := Map(func(x float64) float64 { return alpha * x }, MatMul(a, b))
	if c == nil {
		return out
	}
	return Binary(func(x, y float64) float64 { return x + beta*y }, out, *c)
}

// Transpose permutes axes: output axis i is input axis perm[i]. No perm
// reverses the axes, as in ONNX.
func Transpose(a Array, perm ...int) Array {
	if len(perm) == 0 {
		for i := a.Rank() - 1; i >= 0; i-- {
			perm = append(perm, i)
		}
	}
	if len(perm) != a.Rank() {
		panic(fmt.Sprintf("nd.Transpose: perm %v for rank %d", perm, a.Rank()))
	}
	shape := make([]int, len(perm))
	for i, p := range perm {
		shape[i] = a.Shape[p]
	}
	out := Zeros(shape...)
	src := make([]int, a.Rank())
	for i := range out.Data {
		c := Unravel(i, shape)
		for k, p := range perm {
			src[p] = c[k]
		}
		out.Data[i] = a.At(src...)
	}
	return out
}

// reduce folds the elements along axes (all axes when none) with f,
// starting from init; finish turns the fold and the count into the value.
func reduce(a Array, axes []int, keepDims bool, init float64, f func(acc, x float64) float64, finish func(acc float64, count int) float64) Array {
	reduced := make([]bool, a.Rank())
	for _, ax := range axes {
		reduced[normAxis(ax, a.Rank())] = true
	}
	if len(axes) == 0 {
		for i := range reduced {
			reduced[i] = true
		}
	}
	keptShape := make([]int, a.Rank()) // the output shape with keepdims
	count := 1
	for i, d := range a.Shape {
		keptShape[i] = d
		if reduced[i] {
			keptShape[i] = 1
			count *= d
		}
	}
	acc := Full(keptShape, init)
	dst := make([]int, a.Rank())
	for i, x := range a.Data {
		for k, ck := range Unravel(i, a.Shape) {
			dst[k] = ck
			if reduced[k] {
				dst[k] = 0
			}
		}
		acc.Set(f(acc.At(dst...), x), dst...)
	}
	for i := range acc.Data {
		acc.Data[i] = finish(acc.Data[i], count)
	}
	if keepDims {
		return acc
	}
	shape := []int{}
	for i, d := range keptShape {
		if !reduced[i] {
			shape = append(shape, d)
		}
	}
	return New(shape, acc.Data)
}

func identityFinish(acc float64, _ int) float64 { return acc }
func sum(acc, x float64) float64                { return acc + x }

// ReduceSum sums over axes (all when none); negative axes count from the end.
func ReduceSum(a Array, axes []int, keepDims bool) Array {
	return reduce(a, axes, keepDims, 0, sum, identityFinish)
}

// ReduceMean averages over axes (all when none).
func ReduceMean(a Array, axes []int, keepDims bool) Array {
	return reduce(a, axes, keepDims, 0, sum, func(acc float64, n int) float64 { return acc / float64(n) })
}

// ReduceMax takes the maximum over axes (all when none).
func ReduceMax(a Array, axes []int, keepDims bool) Array {
	return reduce(a, axes, keepDims, math.Inf(-1), math.Max, identityFinish)
}

// Softmax along one axis (ONNX opset >= 13 semantics), computed as
// exp(x - max) / sum so large inputs do not overflow.
func Softmax(a Array, axis int) Array {
	shifted := Sub(a, ReduceMax(a, []int{axis}, true))
	e := Map(math.Exp, shifted)
	return Div(e, ReduceSum(e, []int{axis}, true))
}

// LogSoftmax along one axis: x - max - log(sum(exp(x - max))).
func LogSoftmax(a Array, axis int) Array {
	shifted := Sub(a, ReduceMax(a, []int{axis}, true))
	logSum := Map(math.Log, ReduceSum(Map(math.Exp, shifted), []int{axis}, true))
	return Sub(shifted, logSum)
}

// CumSum is the running sum along axis; exclusive leaves out the current
// element, reverse runs from the end.
func CumSum(a Array, axis int, exclusive, reverse bool) Array {
	axis = normAxis(axis, a.Rank())
	out := Zeros(a.Shape...)
	n := a.Shape[axis]
	for i := range out.Data {
		c := Unravel(i, a.Shape)
		pos := c[axis]
		total := 0.0
		for j := 0; j < n; j++ {
			before := j < pos
			if reverse {
				before = j > pos
			}
			if before || (j == pos && !exclusive) {
				c[axis] = j
				total += a.At(c...)
			}
		}
		out.Data[i] = total
	}
	return out
}

// Trilu keeps the upper (j - i >= k) or lower (j - i <= k) triangle of the
// last two dims and zeroes the rest.
func Trilu(a Array, k int, upper bool) Array {
	if a.Rank() < 2 {
		panic(fmt.Sprintf("nd.Trilu: rank %d, want >= 2", a.Rank()))
	}
	out := Zeros(a.Shape...)
	for i, x := range a.Data {
		c := Unravel(i, a.Shape)
		row, col := c[len(c)-2], c[len(c)-1]
		if (upper && col-row >= k) || (!upper && col-row <= k) {
			out.Data[i] = x
		}
	}
	return out
}
