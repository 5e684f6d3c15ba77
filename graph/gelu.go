package graph

import "math"

// GELUTanh is GELU's tanh approximation, 0.5x(1 + tanh(√(2/π)(x +
// 0.044715x³))), the FFN activation of Gemma, emitted as the standard ONNX
// ops it always was (so the forward values are unchanged) and
// differentiated as one function (composite.go).
//
// Through the rules of its eight ops, with their intermediates recomputed
// from x (remat.go), ONNX Runtime held about a dozen FFN-wide float32
// tensors at once in one block's backward pass: 12 x 32 MB at the peak of
// a mid-size (FFN 8192) step at seq 1024, 12 x 64 MB at Gemma-2B's FFN of
// 16,384. Its own rule needs x, tanh(.) recomputed from x, and two
// temporaries of the same size.
func GELUTanh(x *Value) *Value {
	inner := Mul(ScalarLike(x, math.Sqrt(2/math.Pi)),
		Add(x, Mul(ScalarLike(x, geluCubic), Mul(x, Mul(x, x)))))
	t := Tanh(inner)
	y := Mul(Mul(ScalarLike(x, 0.5), x), Add(ScalarLike(x, 1), t))
	y.Producer.composite = &composite{op: "GELUTanh", inputs: []*Value{x}, inner: []*Value{t},
		recompute: func(c *composite) *Value {
			x := c.inputs[0]
			return Mul(Mul(ScalarLike(x, 0.5), x), Add(ScalarLike(x, 1), recomputed(c.inner[0])))
		}}
	return y
}

const geluCubic = 0.044715

// geluTanhVJP: with c = √(2/π), t = tanh(c(x + a·x³)) and 1 - t² =
// (1 - t)(1 + t),
//
//	dy/dx = 0.5(1 + t) + 0.5x(1 - t²)·c(1 + 3a·x²)
//	      = 0.5(1 + t)·(1 + x(1 - t)(c + 3ac·x²))
//
// so gx = gy·0.5(1 + t)·(1 + x(1 - t)(c + 3ac·x²)), t recomputed from x.
func geluTanhVJP(c *composite, y, gy *Value, need []bool) []*Value {
	x := c.inputs[0]
	t := recomputed(c.inner[0])
	k := math.Sqrt(2 / math.Pi)
	slope := Add(Mul(Mul(x, x), ScalarLike(x, 3*geluCubic*k)), ScalarLike(x, k))
	slope = Add(Mul(Mul(slope, x), Sub(ScalarLike(x, 1), t)), ScalarLike(x, 1))
	half := Mul(gy, Add(Mul(t, ScalarLike(x, 0.5)), ScalarLike(x, 0.5)))
	return []*Value{Mul(half, slope)}
}
