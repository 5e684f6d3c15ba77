package graph_test

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
)

// arr is a float64 n-d array: the independent reference the op tests
// compare ONNX Runtime against. Plain loops, written from the ONNX spec.
type arr struct {
	shape []int
	data  []float64
}

func size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func strides(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// unravel converts a flat index to coordinates.
func unravel(i int, shape []int) []int {
	c := make([]int, len(shape))
	for k := len(shape) - 1; k >= 0; k-- {
		c[k] = i % shape[k]
		i /= shape[k]
	}
	return c
}

func (a arr) at(c []int) float64 {
	st := strides(a.shape)
	off := 0
	for k := range c {
		off += c[k] * st[k]
	}
	return a.data[off]
}

// broadcastAt reads a at output coordinates c (numpy broadcasting).
func (a arr) broadcastAt(c []int) float64 {
	lead := len(c) - len(a.shape)
	cc := make([]int, len(a.shape))
	for k := range a.shape {
		if a.shape[k] != 1 {
			cc[k] = c[lead+k]
		}
	}
	return a.at(cc)
}

func bshape(shapes ...[]int) []int {
	r := 0
	for _, s := range shapes {
		r = max(r, len(s))
	}
	out := make([]int, r)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		for k, d := range s {
			if d != 1 {
				out[r-len(s)+k] = d
			}
		}
	}
	return out
}

func mapN(f func(x []float64) float64, ins ...arr) arr {
	shapes := make([][]int, len(ins))
	for i, a := range ins {
		shapes[i] = a.shape
	}
	out := arr{shape: bshape(shapes...)}
	out.data = make([]float64, size(out.shape))
	xs := make([]float64, len(ins))
	for i := range out.data {
		c := unravel(i, out.shape)
		for k, a := range ins {
			xs[k] = a.broadcastAt(c)
		}
		out.data[i] = f(xs)
	}
	return out
}

func reduce(a arr, axes []int, keep bool, init float64, f func(acc, x float64) float64, finish func(acc float64, n int) float64) arr {
	red := make([]bool, len(a.shape))
	for _, ax := range axes {
		red[ax] = true
	}
	var outShape, keepShape []int
	n := 1
	for k, d := range a.shape {
		if red[k] {
			keepShape = append(keepShape, 1)
			n *= d
			if keep {
				outShape = append(outShape, 1)
			}
		} else {
			keepShape = append(keepShape, d)
			outShape = append(outShape, d)
		}
	}
	acc := make([]float64, size(keepShape))
	for i := range acc {
		acc[i] = init
	}
	ks := strides(keepShape)
	for i, x := range a.data {
		c := unravel(i, a.shape)
		off := 0
		for k := range c {
			if !red[k] {
				off += c[k] * ks[k]
			}
		}
		acc[off] = f(acc[off], x)
	}
	for i := range acc {
		acc[i] = finish(acc[i], n)
	}
	if outShape == nil {
		outShape = []int{}
	}
	return arr{shape: outShape, data: acc}
}

func matmul(a, b arr) arr {
	ra, rb := len(a.shape), len(b.shape)
	m, k, n := a.shape[ra-2], a.shape[ra-1], b.shape[rb-1]
	batch := bshape(a.shape[:ra-2], b.shape[:rb-2])
	out := arr{shape: append(append([]int{}, batch...), m, n)}
	out.data = make([]float64, size(out.shape))
	for i := range out.data {
		c := unravel(i, out.shape)
		s := 0.0
		for kk := 0; kk < k; kk++ {
			ca := append(append([]int{}, c[:len(batch)]...), c[len(batch)], kk)
			cb := append(append([]int{}, c[:len(batch)]...), kk, c[len(batch)+1])
			s += arr{a.shape, a.data}.broadcastAt2(ca, len(batch)) * b.broadcastAt2(cb, len(batch))
		}
		out.data[i] = s
	}
	return out
}

// broadcastAt2 reads a at coordinates whose batch part (first nb dims) is
// broadcast against a's own batch dims.
func (a arr) broadcastAt2(c []int, nb int) float64 {
	r := len(a.shape)
	cc := make([]int, r)
	lead := nb - (r - 2)
	for k := 0; k < r-2; k++ {
		if a.shape[k] != 1 {
			cc[k] = c[lead+k]
		}
	}
	cc[r-2], cc[r-1] = c[nb], c[nb+1]
	return a.at(cc)
}

func transpose(a arr, perm []int) arr {
	out := arr{shape: make([]int, len(perm))}
	for i, p := range perm {
		out.shape[i] = a.shape[p]
	}
	out.data = make([]float64, len(a.data))
	for i := range out.data {
		c := unravel(i, out.shape)
		src := make([]int, len(c))
		for k, p := range perm {
			src[p] = c[k]
		}
		out.data[i] = a.at(src)
	}
	return out
}

func softmaxRef(a arr, axis int, logOut bool) arr {
	mx := reduce(a, []int{axis}, true, math.Inf(-1), math.Max, func(x float64, _ int) float64 { return x })
	ex := mapN(func(x []float64) float64 { return math.Exp(x[0] - x[1]) }, a, mx)
	sum := reduce(ex, []int{axis}, true, 0, func(s, x float64) float64 { return s + x }, func(x float64, _ int) float64 { return x })
	if logOut {
		return mapN(func(x []float64) float64 { return x[0] - x[1] - math.Log(x[2]) }, a, mx, sum)
	}
	return mapN(func(x []float64) float64 { return x[0] / x[1] }, ex, sum)
}

// opCase is one op test: inputs (name, shape, dtype, generator), the graph
// built on them, and the reference result.
type opCase struct {
	name  string
	op    string
	ins   []opIn
	sizes map[string]int64 // bindings for symbolic input dims
	build func(in []*graph.Value) *graph.Value
	ref   func(in []arr) arr
	tol   float64
}

type opIn struct {
	shape graph.Shape
	dtype graph.DType
	gen   func(r *rand.Rand) float64
}

func fin(shape ...any) opIn { return opIn{shape: graph.S(shape...), dtype: graph.Float64} }
func intIn(n int, shape ...any) opIn {
	return opIn{shape: graph.S(shape...), dtype: graph.Int64, gen: func(r *rand.Rand) float64 { return float64(r.Intn(n)) }}
}

func un(op string, f func(*graph.Value) *graph.Value, ref func(float64) float64, gen func(*rand.Rand) float64, tol float64) opCase {
	return opCase{name: op, op: op, ins: []opIn{{shape: graph.S("batch", 3), dtype: graph.Float64, gen: gen}}, sizes: map[string]int64{"batch": 2},
		build: func(in []*graph.Value) *graph.Value { return f(in[0]) },
		ref:   func(in []arr) arr { return mapN(func(x []float64) float64 { return ref(x[0]) }, in[0]) }, tol: tol}
}

func bin(op string, f func(a, b *graph.Value) *graph.Value, ref func(a, b float64) float64, sa, sb graph.Shape, outBool bool) opCase {
	dt := graph.Float64
	return opCase{name: fmt.Sprintf("%s%v%v", op, sa, sb), op: op, ins: []opIn{{shape: sa, dtype: dt}, {shape: sb, dtype: dt}},
		build: func(in []*graph.Value) *graph.Value {
			y := f(in[0], in[1])
			if outBool {
				y = graph.Cast(y, graph.Float64)
			}
			return y
		},
		ref: func(in []arr) arr { return mapN(func(x []float64) float64 { return ref(x[0], x[1]) }, in[0], in[1]) }}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func positiveGen(r *rand.Rand) float64 { return 0.1 + 2*r.Float64() }

func opCases() []opCase {
	s := graph.S
	cases := []opCase{
		bin("Add", graph.Add, func(a, b float64) float64 { return a + b }, s(2, 1, 4), s(3, 1), false),
		bin("Sub", graph.Sub, func(a, b float64) float64 { return a - b }, s(2, 3), s(3), false),
		bin("Mul", graph.Mul, func(a, b float64) float64 { return a * b }, s(4, 1), s(1, 3), false),
		bin("Div", graph.Div, func(a, b float64) float64 { return a / b }, s(2, 3), s(2, 3), false),
		bin("Max", graph.Max, math.Max, s(2, 3), s(1), false),
		bin("Min", graph.Min, math.Min, s(3), s(2, 3), false),
		bin("Equal", graph.Equal, func(a, b float64) float64 { return b2f(a == b) }, s(2, 3), s(2, 3), true),
		bin("Less", graph.Less, func(a, b float64) float64 { return b2f(a < b) }, s(2, 3), s(3), true),
		bin("Greater", graph.Greater, func(a, b float64) float64 { return b2f(a > b) }, s(2, 1), s(3), true),
		{name: "Pow", op: "Pow", ins: []opIn{{shape: s(2, 3), dtype: graph.Float64, gen: positiveGen}, fin(3)},
			build: func(in []*graph.Value) *graph.Value { return graph.Pow(in[0], in[1]) },
			ref: func(in []arr) arr {
				return mapN(func(x []float64) float64 { return math.Pow(x[0], x[1]) }, in[0], in[1])
			}, tol: 1e-12},
		un("Neg", graph.Neg, func(x float64) float64 { return -x }, nil, 0),
		un("Abs", graph.Abs, math.Abs, nil, 0),
		un("Sign", graph.Sign, func(x float64) float64 { return b2f(x > 0) - b2f(x < 0) }, nil, 0),
		un("Sqrt", graph.Sqrt, math.Sqrt, positiveGen, 1e-15),
		un("Reciprocal", graph.Reciprocal, func(x float64) float64 { return 1 / x }, positiveGen, 1e-15),
		un("Exp", graph.Exp, math.Exp, nil, 1e-13),
		un("Log", graph.Log, math.Log, positiveGen, 1e-13),
		un("Relu", graph.Relu, func(x float64) float64 { return math.Max(x, 0) }, nil, 0),
		un("Sigmoid", graph.Sigmoid, func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }, nil, 1e-13),
		un("Tanh", graph.Tanh, math.Tanh, nil, 1e-13),
		un("Identity", graph.Identity, func(x float64) float64 { return x }, nil, 0),
		{name: "Erf(float32)", op: "Erf", ins: []opIn{{shape: s(2, 3), dtype: graph.Float32}}, tol: 1e-6,
			build: func(in []*graph.Value) *graph.Value { return graph.Erf(in[0]) },
			ref:   func(in []arr) arr { return mapN(func(x []float64) float64 { return math.Erf(x[0]) }, in[0]) }},
		{name: "Not", op: "Not", ins: []opIn{fin(2, 3)},
			build: func(in []*graph.Value) *graph.Value {
				return graph.Cast(graph.Not(graph.Greater(in[0], graph.ScalarLike(in[0], 0))), graph.Float64)
			},
			ref: func(in []arr) arr { return mapN(func(x []float64) float64 { return b2f(!(x[0] > 0)) }, in[0]) }},
		{name: "Where", op: "Where", ins: []opIn{fin(2, 3), fin(3), fin(2, 1)},
			build: func(in []*graph.Value) *graph.Value {
				return graph.Where(graph.Greater(in[0], graph.ScalarLike(in[0], 0)), in[1], in[2])
			},
			ref: func(in []arr) arr {
				return mapN(func(x []float64) float64 {
					if x[0] > 0 {
						return x[1]
					}
					return x[2]
				}, in[0], in[1], in[2])
			}},
		{name: "Cast(int64)", op: "Cast", ins: []opIn{fin(2, 3)},
			build: func(in []*graph.Value) *graph.Value {
				return graph.Cast(graph.Cast(graph.Mul(in[0], graph.ScalarLike(in[0], 10)), graph.Int64), graph.Float64)
			},
			ref: func(in []arr) arr { return mapN(func(x []float64) float64 { return math.Trunc(10 * x[0]) }, in[0]) }},
		{name: "Clip", op: "Clip", ins: []opIn{fin(2, 4)},
			build: func(in []*graph.Value) *graph.Value {
				return graph.Clip(in[0], graph.ScalarLike(in[0], -0.3), graph.ScalarLike(in[0], 0.4))
			},
			ref: func(in []arr) arr {
				return mapN(func(x []float64) float64 { return math.Min(math.Max(x[0], -0.3), 0.4) }, in[0])
			}},
		{name: "MatMul batched broadcast", op: "MatMul", ins: []opIn{fin(2, 1, 3, 4), fin(3, 4, 5)}, tol: 1e-14,
			build: func(in []*graph.Value) *graph.Value { return graph.MatMul(in[0], in[1]) },
			ref:   func(in []arr) arr { return matmul(in[0], in[1]) }},
		{name: "MatMul symbolic", op: "MatMul", ins: []opIn{fin("batch", 3, 4), fin(4, 2)}, sizes: map[string]int64{"batch": 3}, tol: 1e-14,
			build: func(in []*graph.Value) *graph.Value { return graph.MatMul(in[0], in[1]) },
			ref:   func(in []arr) arr { return matmul(in[0], in[1]) }},
		{name: "Gemm transB", op: "Gemm", ins: []opIn{fin(3, 4), fin(5, 4), fin(5)}, tol: 1e-14,
			build: func(in []*graph.Value) *graph.Value { return graph.Gemm(in[0], in[1], in[2], false, true, 0.5, 2) },
			ref: func(in []arr) arr {
				p := matmul(in[0], transpose(in[1], []int{1, 0}))
				return mapN(func(x []float64) float64 { return 0.5*x[0] + 2*x[1] }, p, in[2])
			}},
		{name: "Gemm transA", op: "Gemm", ins: []opIn{fin(4, 3), fin(4, 2)}, tol: 1e-14,
			build: func(in []*graph.Value) *graph.Value { return graph.Gemm(in[0], in[1], nil, true, false, 1, 0) },
			ref:   func(in []arr) arr { return matmul(transpose(in[0], []int{1, 0}), in[1]) }},
		{name: "Softmax", op: "Softmax", ins: []opIn{fin("batch", 5)}, sizes: map[string]int64{"batch": 2}, tol: 1e-14,
			build: func(in []*graph.Value) *graph.Value { return graph.Softmax(in[0], -1) },
			ref:   func(in []arr) arr { return softmaxRef(in[0], 1, false) }},
		{name: "LogSoftmax axis0", op: "LogSoftmax", ins: []opIn{fin(3, 4)}, tol: 1e-14,
			build: func(in []*graph.Value) *graph.Value { return graph.LogSoftmax(in[0], 0) },
			ref:   func(in []arr) arr { return softmaxRef(in[0], 0, true) }},
		{name: "ReduceSum", op: "ReduceSum", ins: []opIn{fin(2, 3, 4)}, tol: 1e-14,
			build: func(in []*graph.Value) *graph.Value { return graph.ReduceSum(in[0], []int{0, 2}, false) },
			ref: func(in []arr) arr {
				return reduce(in[0], []int{0, 2}, false, 0, func(a, x float64) float64 { return a + x }, func(a float64, _ int) float64 { return a })
			}},
		{name: "ReduceMean keep", op: "ReduceMean", ins: []opIn{fin("batch", 3, 4)}, sizes: map[string]int64{"batch": 2}, tol: 1e-14,
			build: func(in []*graph.Value) *graph.Value { return graph.ReduceMean(in[0], []int{-1}, true) },
			ref: func(in []arr) arr {
				return reduce(in[0], []int{2}, true, 0, func(a, x float64) float64 { return a + x }, func(a float64, n int) float64 { return a / float64(n) })
			}},
		{name: "ReduceMax all", op: "ReduceMax", ins: []opIn{fin(3, 4)},
			build: func(in []*graph.Value) *graph.Value { return graph.ReduceMax(in[0], nil, false) },
			ref: func(in []arr) arr {
				return reduce(in[0], []int{0, 1}, false, math.Inf(-1), math.Max, func(a float64, _ int) float64 { return a })
			}},
		{name: "CumSum exclusive reverse", op: "CumSum", ins: []opIn{fin(2, 4)}, tol: 1e-14,
			build: func(in []*graph.Value) *graph.Value { return graph.CumSum(in[0], 1, true, true) },
			ref: func(in []arr) arr {
				out := arr{shape: in[0].shape, data: make([]float64, 8)}
				for r := 0; r < 2; r++ {
					acc := 0.0
					for c := 3; c >= 0; c-- {
						out.data[r*4+c] = acc
						acc += in[0].data[r*4+c]
					}
				}
				return out
			}},
		{name: "Reshape symbolic", op: "Reshape", ins: []opIn{fin("batch", "seq", 4)}, sizes: map[string]int64{"batch": 2, "seq": 3},
			build: func(in []*graph.Value) *graph.Value { return graph.Reshape(in[0], 0, -1, 2, 2) },
			ref:   func(in []arr) arr { return arr{shape: []int{2, 3, 2, 2}, data: in[0].data} }},
		{name: "Transpose", op: "Transpose", ins: []opIn{fin(2, 3, 4)},
			build: func(in []*graph.Value) *graph.Value { return graph.Transpose(in[0], 2, 0, 1) },
			ref:   func(in []arr) arr { return transpose(in[0], []int{2, 0, 1}) }},
		{name: "Concat", op: "Concat", ins: []opIn{fin(2, 3), fin(2, 1)},
			build: func(in []*graph.Value) *graph.Value { return graph.Concat(1, in[0], in[1]) },
			ref: func(in []arr) arr {
				out := arr{shape: []int{2, 4}}
				for r := 0; r < 2; r++ {
					out.data = append(out.data, in[0].data[r*3:r*3+3]...)
					out.data = append(out.data, in[1].data[r])
				}
				return out
			}},
		{name: "Slice negative", op: "Slice", ins: []opIn{fin(4, 5)},
			build: func(in []*graph.Value) *graph.Value {
				return graph.Slice(in[0], []int64{1, -4}, []int64{3, 100}, []int{0, 1}, []int64{1, 2})
			},
			ref: func(in []arr) arr {
				out := arr{shape: []int{2, 2}}
				for r := 1; r < 3; r++ {
					for c := 1; c < 5; c += 2 {
						out.data = append(out.data, in[0].data[r*5+c])
					}
				}
				return out
			}},
		{name: "Split", op: "Split", ins: []opIn{fin(2, 5)},
			build: func(in []*graph.Value) *graph.Value { return graph.Split(in[0], 1, 2, 3)[1] },
			ref: func(in []arr) arr {
				out := arr{shape: []int{2, 3}}
				for r := 0; r < 2; r++ {
					out.data = append(out.data, in[0].data[r*5+2:r*5+5]...)
				}
				return out
			}},
		{name: "Squeeze/Unsqueeze", op: "Squeeze", ins: []opIn{fin(2, 1, 3)},
			build: func(in []*graph.Value) *graph.Value { return graph.Unsqueeze(graph.Squeeze(in[0], 1), 0) },
			ref:   func(in []arr) arr { return arr{shape: []int{1, 2, 3}, data: in[0].data} }},
		{name: "Unsqueeze", op: "Unsqueeze", ins: []opIn{fin(2, 3)},
			build: func(in []*graph.Value) *graph.Value { return graph.Unsqueeze(in[0], 1, 3) },
			ref:   func(in []arr) arr { return arr{shape: []int{2, 1, 3, 1}, data: in[0].data} }},
		{name: "Expand from Shape", op: "Expand", ins: []opIn{fin(3, 1), fin("batch", 3, 4)}, sizes: map[string]int64{"batch": 2},
			build: func(in []*graph.Value) *graph.Value { return graph.Expand(in[0], graph.ShapeOf(in[1])) },
			ref: func(in []arr) arr {
				return mapN(func(x []float64) float64 { return x[0] }, in[0], arr{shape: []int{2, 3, 4}, data: make([]float64, 24)})
			}},
		{name: "Shape", op: "Shape", ins: []opIn{fin("batch", 3)}, sizes: map[string]int64{"batch": 5},
			build: func(in []*graph.Value) *graph.Value { return graph.Cast(graph.ShapeOf(in[0]), graph.Float64) },
			ref:   func(in []arr) arr { return arr{shape: []int{2}, data: []float64{5, 3}} }},
		{name: "Gather axis1", op: "Gather", ins: []opIn{fin(2, 5, 3), intIn(5, 2, 2)},
			build: func(in []*graph.Value) *graph.Value { return graph.Gather(in[0], in[1], 1) },
			ref: func(in []arr) arr {
				out := arr{shape: []int{2, 2, 2, 3}}
				for a := 0; a < 2; a++ {
					for _, idx := range in[1].data {
						for c := 0; c < 3; c++ {
							out.data = append(out.data, in[0].data[a*15+int(idx)*3+c])
						}
					}
				}
				return out
			}},
		{name: "GatherElements", op: "GatherElements", ins: []opIn{fin(3, 4), intIn(4, 3, 2)},
			build: func(in []*graph.Value) *graph.Value { return graph.GatherElements(in[0], in[1], 1) },
			ref: func(in []arr) arr {
				out := arr{shape: []int{3, 2}}
				for r := 0; r < 3; r++ {
					for k := 0; k < 2; k++ {
						out.data = append(out.data, in[0].data[r*4+int(in[1].data[r*2+k])])
					}
				}
				return out
			}},
		{name: "ScatterElements add", op: "ScatterElements", ins: []opIn{fin(3, 4), intIn(4, 3, 2), fin(3, 2)}, tol: 1e-15,
			build: func(in []*graph.Value) *graph.Value { return graph.ScatterElementsAdd(in[0], in[1], in[2], 1) },
			ref: func(in []arr) arr {
				out := arr{shape: []int{3, 4}, data: append([]float64{}, in[0].data...)}
				for r := 0; r < 3; r++ {
					for k := 0; k < 2; k++ {
						out.data[r*4+int(in[1].data[r*2+k])] += in[2].data[r*2+k]
					}
				}
				return out
			}},
		{name: "ScatterND add", op: "ScatterND", ins: []opIn{fin(4, 3), intIn(4, 3, 1), fin(3, 3)}, tol: 1e-15,
			build: func(in []*graph.Value) *graph.Value { return graph.ScatterNDAdd(in[0], in[1], in[2]) },
			ref: func(in []arr) arr {
				out := arr{shape: []int{4, 3}, data: append([]float64{}, in[0].data...)}
				for u := 0; u < 3; u++ {
					for c := 0; c < 3; c++ {
						out.data[int(in[1].data[u])*3+c] += in[2].data[u*3+c]
					}
				}
				return out
			}},
		{name: "GatherND", op: "GatherND", ins: []opIn{fin(4, 3), intIn(4, 2, 1)},
			build: func(in []*graph.Value) *graph.Value { return graph.GatherND(in[0], in[1]) },
			ref: func(in []arr) arr {
				out := arr{shape: []int{2, 3}}
				for _, i := range in[1].data {
					out.data = append(out.data, in[0].data[int(i)*3:int(i)*3+3]...)
				}
				return out
			}},
		{name: "Trilu lower k=-1", op: "Trilu", ins: []opIn{fin(2, 3, 3)},
			build: func(in []*graph.Value) *graph.Value { return graph.Trilu(in[0], -1, false) },
			ref: func(in []arr) arr {
				out := arr{shape: in[0].shape, data: make([]float64, 18)}
				for i, x := range in[0].data {
					c := unravel(i, in[0].shape)
					if c[2] <= c[1]-1 {
						out.data[i] = x
					}
				}
				return out
			}},
		{name: "Pad", op: "Pad", ins: []opIn{fin(2, 2)},
			build: func(in []*graph.Value) *graph.Value { return graph.Pad(in[0], 1, 0, 0, 2) },
			ref: func(in []arr) arr {
				d := in[0].data
				return arr{shape: []int{3, 4}, data: []float64{0, 0, 0, 0, d[0], d[1], 0, 0, d[2], d[3], 0, 0}}
			}},
		{name: "Constant", op: "Constant", ins: []opIn{fin(2)},
			build: func(in []*graph.Value) *graph.Value {
				return graph.Add(in[0], graph.Const(in[0].Graph(), graph.NewData([]int64{2}, []float64{1.5, -2})))
			},
			ref: func(in []arr) arr {
				return arr{shape: []int{2}, data: []float64{in[0].data[0] + 1.5, in[0].data[1] - 2}}
			}},
	}
	return cases
}

// TestOpsAgainstReference runs each op alone in ONNX Runtime, compares the
// result with the float64 reference above, and checks that Go's inferred
// output shape equals the shape ORT returns.
func TestOpsAgainstReference(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range opCases() {
		covered[tc.op] = true
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewSource(int64(len(tc.name))))
			feeds := map[string]feed{}
			refs := make([]arr, len(tc.ins))
			var out *graph.Value
			g, err := graph.Build(tc.name, func(g *graph.Graph) {
				vals := make([]*graph.Value, len(tc.ins))
				for i, in := range tc.ins {
					name := fmt.Sprintf("x%d", i)
					vals[i] = g.Input(name, in.dtype, in.shape)
					dims, err := in.shape.Bind(tc.sizes)
					require.NoError(t, err)
					shape := make([]int, len(dims))
					for k, d := range dims {
						shape[k] = int(d)
					}
					data := make([]float64, size(shape))
					gen := in.gen
					if gen == nil {
						gen = func(r *rand.Rand) float64 { return float64(float32(2*r.Float64() - 1)) }
					}
					for k := range data {
						data[k] = gen(r)
					}
					feeds[name] = feed{Shape: dims, Data: data}
					refs[i] = arr{shape: shape, data: data}
				}
				out = tc.build(vals)
				g.Output("y", out)
			})
			require.NoError(t, err)
			got := runORT(t, g, feeds)["y"]
			want := tc.ref(refs)
			wantShape := make([]int64, len(want.shape))
			for k, d := range want.shape {
				wantShape[k] = int64(d)
			}
			assert.Equal(t, wantShape, got.Shape, "ORT output shape")
			assert.Equal(t, wantShape, shapeOf(t, out, tc.sizes), "Go-inferred shape %s", out.Shape)
			require.Len(t, got.Data, len(want.data))
			for i := range want.data {
				tol := tc.tol * math.Max(1, math.Abs(want.data[i]))
				assert.InDelta(t, want.data[i], got.Data[i], tol+1e-300, "element %d", i)
			}
		})
	}
	for _, op := range graph.SupportedOps() {
		assert.True(t, covered[op], "op %s has no reference test", op)
	}
}

// TestBuildErrorsNameTheNode: shape and dtype mismatches and unknown ops
// are build errors naming the op, the node and the shapes.
func TestBuildErrorsNameTheNode(t *testing.T) {
	cases := []struct {
		name  string
		build func(g *graph.Graph)
		want  []string
	}{
		{"matmul shapes", func(g *graph.Graph) {
			graph.MatMul(g.Input("a", graph.Float32, graph.S(2, 3)), g.Input("b", graph.Float32, graph.S(4, 5)))
		}, []string{"MatMul node n0_MatMul", "[2, 3]", "[4, 5]", "opref_test.go"}},
		{"add broadcast", func(g *graph.Graph) {
			graph.Add(g.Input("a", graph.Float32, graph.S(2, 3)), g.Input("b", graph.Float32, graph.S(4)))
		}, []string{"Add", "do not broadcast", "[2, 3]", "[4]"}},
		{"dtype", func(g *graph.Graph) {
			graph.Add(g.Input("a", graph.Float32, graph.S(2)), g.Input("b", graph.Float64, graph.S(2)))
		}, []string{"dtype mismatch", "float32", "float64"}},
		{"unknown op", func(g *graph.Graph) {
			g.AddNode("Frobnicate", []*graph.Value{g.Input("a", graph.Float32, graph.S(2))}, nil)
		}, []string{`unknown op "Frobnicate"`, "MatMul"}},
		{"symbolic mismatch", func(g *graph.Graph) {
			graph.Add(g.Input("a", graph.Float32, graph.S("batch", 3)), g.Input("b", graph.Float32, graph.S("seq", 3)))
		}, []string{"batch", "seq"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := graph.Build(tc.name, tc.build)
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// TestTwoLayerMLPMatchesReference: a float32 MLP in ORT against the
// float64 reference to 1e-5.
func TestTwoLayerMLPMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	rnd := func(shape ...int) arr {
		a := arr{shape: shape, data: make([]float64, size(shape))}
		for i := range a.data {
			a.data[i] = float64(float32(r.NormFloat64()))
		}
		return a
	}
	w1, b1, w2, b2 := rnd(4, 8), rnd(8), rnd(8, 3), rnd(3)
	x := rnd(5, 4)
	f32 := func(a arr) *graph.Data {
		v := make([]float32, len(a.data))
		for i, d := range a.data {
			v[i] = float32(d)
		}
		dims := make([]int64, len(a.shape))
		for i, d := range a.shape {
			dims[i] = int64(d)
		}
		return graph.NewData(dims, v)
	}
	g, err := graph.Build("mlp", func(g *graph.Graph) {
		in := g.Input("x", graph.Float32, graph.S("batch", 4))
		h := graph.Relu(graph.Add(graph.MatMul(in, g.Initializer("w1", f32(w1))), g.Initializer("b1", f32(b1))))
		g.Output("y", graph.Add(graph.MatMul(h, g.Initializer("w2", f32(w2))), g.Initializer("b2", f32(b2))))
	})
	require.NoError(t, err)
	got := runORT(t, g, map[string]feed{"x": {Shape: []int64{5, 4}, Data: x.data}})["y"]
	h := mapN(func(v []float64) float64 { return math.Max(0, v[0]+v[1]) }, matmul(x, w1), b1)
	want := mapN(func(v []float64) float64 { return v[0] + v[1] }, matmul(h, w2), b2)
	assert.Equal(t, []int64{5, 3}, got.Shape)
	assert.InDeltaSlice(t, want.data, got.Data, 1e-5)
}
