package graph_test

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/internal/gradcheck"
)

// inSpec describes one input of a gradient-check case.
type inSpec struct {
	shape []int64
	dtype graph.DType // default Float64
	// gen draws element i; default: uniform in ±[0.1, 1.1] (away from the
	// kinks of Relu/Abs/Max so central differences are valid).
	gen func(r *rand.Rand, i int) float64
	// noGrad excludes the input from wrt (indices, constants).
	noGrad bool
}

type gradCase struct {
	name  string
	op    string // the op whose VJP rule the case targets
	ins   []inSpec
	build func(ins []*graph.Value) *graph.Value
	// h and tol override the step (1e-6) and tolerance (1e-6) for cases
	// that must pass through float32 (ORT has no float64 Erf kernel).
	h, tol float64
}

func positive(r *rand.Rand, _ int) float64 { return 0.5 + r.Float64() }
func indices(n int) func(r *rand.Rand, i int) float64 {
	return func(r *rand.Rand, _ int) float64 { return float64(r.Intn(n)) }
}
func signedAwayFromZero(r *rand.Rand, _ int) float64 {
	v := 0.1 + r.Float64()
	if r.Intn(2) == 0 {
		return -v
	}
	return v
}
func distinct(r *rand.Rand, i int) float64 { return float64(i)*0.37 + 0.1*r.Float64() }

func f64(shape ...int64) inSpec { return inSpec{shape: shape} }

func gradCases() []gradCase {
	bin := func(op string, f func(a, b *graph.Value) *graph.Value, sa, sb []int64) gradCase {
		return gradCase{name: fmt.Sprintf("%s%v%v", op, sa, sb), op: op,
			ins:   []inSpec{{shape: sa, gen: positive}, {shape: sb, gen: positive}},
			build: func(in []*graph.Value) *graph.Value { return f(in[0], in[1]) }}
	}
	un := func(op string, f func(x *graph.Value) *graph.Value, gen func(*rand.Rand, int) float64) gradCase {
		return gradCase{name: op, op: op, ins: []inSpec{{shape: []int64{2, 3}, gen: gen}},
			build: func(in []*graph.Value) *graph.Value { return f(in[0]) }}
	}
	cases := []gradCase{
		bin("Add", graph.Add, []int64{2, 3}, []int64{2, 3}),
		bin("Add", graph.Add, []int64{2, 1, 4}, []int64{3, 1}),
		bin("Sub", graph.Sub, []int64{2, 3}, []int64{3}),
		bin("Mul", graph.Mul, []int64{4, 1}, []int64{1, 3}),
		bin("Div", graph.Div, []int64{2, 3}, []int64{2, 1}),
		bin("Pow", graph.Pow, []int64{2, 3}, []int64{3}),
		bin("Max", graph.Max, []int64{2, 3}, []int64{3}),
		bin("Min", graph.Min, []int64{2, 3}, []int64{2, 3}),
		bin("MatMul", graph.MatMul, []int64{3, 4}, []int64{4, 2}),
		bin("MatMul", graph.MatMul, []int64{2, 3, 4}, []int64{4, 2}),
		bin("MatMul", graph.MatMul, []int64{2, 2, 3, 4}, []int64{2, 1, 4, 5}),
		dynamicQuantizeMatMulGradCase(graph.Int8, 63),
		dynamicQuantizeMatMulGradCase(graph.Uint8, 127),
		un("Neg", graph.Neg, nil),
		un("Abs", graph.Abs, signedAwayFromZero),
		un("Sqrt", graph.Sqrt, positive),
		un("Reciprocal", graph.Reciprocal, positive),
		un("Exp", graph.Exp, nil),
		un("Log", graph.Log, positive),
		un("Relu", graph.Relu, signedAwayFromZero),
		un("Sigmoid", graph.Sigmoid, nil),
		un("Tanh", graph.Tanh, nil),
		// ORT's CPU provider has no float64 Cos/Sin kernels: through float32.
		{name: "Cos", op: "Cos", ins: []inSpec{f64(2, 3)}, h: 1e-2, tol: 1e-3, build: func(in []*graph.Value) *graph.Value {
			return graph.Cast(graph.Cos(graph.Cast(in[0], graph.Float32)), graph.Float64)
		}},
		{name: "Sin", op: "Sin", ins: []inSpec{f64(2, 3)}, h: 1e-2, tol: 1e-3, build: func(in []*graph.Value) *graph.Value {
			return graph.Cast(graph.Sin(graph.Cast(in[0], graph.Float32)), graph.Float64)
		}},
		{name: "Erf", op: "Erf", ins: []inSpec{f64(2, 3)}, h: 1e-2, tol: 1e-3, build: func(in []*graph.Value) *graph.Value {
			return graph.Cast(graph.Erf(graph.Cast(in[0], graph.Float32)), graph.Float64)
		}},
		un("Identity", graph.Identity, nil),
		{name: "Cast", op: "Cast", ins: []inSpec{f64(2, 3)}, h: 1e-2, tol: 1e-3, build: func(in []*graph.Value) *graph.Value {
			// Cast through float32 and back: the gradient passes through.
			return graph.Cast(graph.Mul(graph.Cast(in[0], graph.Float32), graph.Scalar(in[0].Graph(), graph.Float32, 1)), graph.Float64)
		}},
		{name: "Where", op: "Where", ins: []inSpec{{shape: []int64{2, 3}, gen: signedAwayFromZero}, f64(3), f64(2, 1)},
			build: func(in []*graph.Value) *graph.Value {
				return graph.Where(graph.Greater(in[0], graph.ScalarLike(in[0], 0)), graph.Mul(in[1], in[0]), in[2])
			}},
		{name: "Clip", op: "Clip", ins: []inSpec{{shape: []int64{2, 4}, gen: signedAwayFromZero}}, build: func(in []*graph.Value) *graph.Value {
			return graph.Clip(in[0], graph.ScalarLike(in[0], -0.5), graph.ScalarLike(in[0], 0.55))
		}},
		{name: "Gemm", op: "Gemm", ins: []inSpec{f64(3, 4), f64(4, 2), f64(2)}, build: func(in []*graph.Value) *graph.Value {
			return graph.Gemm(in[0], in[1], in[2], graph.GemmOptions{Alpha: 0.7, Beta: 1.3})
		}},
		{name: "GemmTransA", op: "Gemm", ins: []inSpec{f64(4, 3), f64(4, 2), f64(3, 1)}, build: func(in []*graph.Value) *graph.Value {
			return graph.Gemm(in[0], in[1], in[2], graph.GemmOptions{TransA: true, Beta: 0.5})
		}},
		{name: "GemmTransB", op: "Gemm", ins: []inSpec{f64(3, 4), f64(2, 4)}, build: func(in []*graph.Value) *graph.Value {
			return graph.Gemm(in[0], in[1], nil, graph.GemmOptions{TransB: true})
		}},
		{name: "GemmTransAB", op: "Gemm", ins: []inSpec{f64(4, 3), f64(2, 4)}, build: func(in []*graph.Value) *graph.Value {
			return graph.Gemm(in[0], in[1], nil, graph.GemmOptions{TransA: true, TransB: true, Alpha: 2})
		}},
		{name: "GemmAlpha0", op: "Gemm", ins: []inSpec{f64(3, 4), f64(4, 2), f64(3, 2)}, build: func(in []*graph.Value) *graph.Value {
			// Only an ONNX file can say alpha=0 (GemmOptions reads 0 as 1).
			return in[0].Graph().AddNode("Gemm", in, graph.Attrs{"alpha": float32(0), "beta": float32(1.5)})[0]
		}},
		{name: "Softmax", op: "Softmax", ins: []inSpec{f64(2, 5)}, build: func(in []*graph.Value) *graph.Value { return graph.Softmax(in[0], -1) }},
		{name: "SoftmaxAxis0", op: "Softmax", ins: []inSpec{f64(3, 2)}, build: func(in []*graph.Value) *graph.Value { return graph.Softmax(in[0], 0) }},
		{name: "LogSoftmax", op: "LogSoftmax", ins: []inSpec{f64(2, 5)}, build: func(in []*graph.Value) *graph.Value { return graph.LogSoftmax(in[0], 1) }},
		{name: "ReduceSum", op: "ReduceSum", ins: []inSpec{f64(2, 3, 4)}, build: func(in []*graph.Value) *graph.Value { return graph.ReduceSum(in[0], []int{1}, false) }},
		{name: "ReduceSumKeep", op: "ReduceSum", ins: []inSpec{f64(2, 3, 4)}, build: func(in []*graph.Value) *graph.Value { return graph.ReduceSum(in[0], []int{0, 2}, true) }},
		{name: "ReduceSumAll", op: "ReduceSum", ins: []inSpec{f64(2, 3)}, build: func(in []*graph.Value) *graph.Value { return graph.ReduceSum(in[0], nil, false) }},
		{name: "ReduceMean", op: "ReduceMean", ins: []inSpec{f64(2, 3, 4)}, build: func(in []*graph.Value) *graph.Value { return graph.ReduceMean(in[0], []int{-1}, true) }},
		{name: "ReduceMax", op: "ReduceMax", ins: []inSpec{{shape: []int64{3, 4}, gen: distinct}}, build: func(in []*graph.Value) *graph.Value { return graph.ReduceMax(in[0], []int{1}, false) }},
		{name: "CumSum", op: "CumSum", ins: []inSpec{f64(2, 4)}, build: func(in []*graph.Value) *graph.Value { return graph.CumSum(in[0], 1, false, false) }},
		{name: "CumSumExclusiveReverse", op: "CumSum", ins: []inSpec{f64(3, 2)}, build: func(in []*graph.Value) *graph.Value { return graph.CumSum(in[0], 0, true, true) }},
		{name: "Reshape", op: "Reshape", ins: []inSpec{f64(2, 6)}, build: func(in []*graph.Value) *graph.Value { return graph.Reshape(in[0], 3, -1, 2) }},
		{name: "Squeeze", op: "Squeeze", ins: []inSpec{f64(2, 1, 3)}, build: func(in []*graph.Value) *graph.Value { return graph.Squeeze(in[0], 1) }},
		{name: "Unsqueeze", op: "Unsqueeze", ins: []inSpec{f64(2, 3)}, build: func(in []*graph.Value) *graph.Value { return graph.Unsqueeze(in[0], 0, 3) }},
		{name: "Transpose", op: "Transpose", ins: []inSpec{f64(2, 3, 4)}, build: func(in []*graph.Value) *graph.Value { return graph.Transpose(in[0], 2, 0, 1) }},
		{name: "Concat", op: "Concat", ins: []inSpec{f64(2, 3), f64(2, 1), f64(2, 2)}, build: func(in []*graph.Value) *graph.Value { return graph.Concat(1, in...) }},
		{name: "Slice", op: "Slice", ins: []inSpec{f64(4, 5)}, build: func(in []*graph.Value) *graph.Value {
			return graph.Slice(in[0], []int64{1, -3}, []int64{3, 100}, []int{0, 1}, nil)
		}},
		{name: "Split", op: "Split", ins: []inSpec{f64(2, 5)}, build: func(in []*graph.Value) *graph.Value {
			parts := graph.Split(in[0], 1, 2, 1, 2)
			return graph.Concat(1, graph.Mul(parts[2], parts[0]), parts[1]) // part use is uneven
		}},
		{name: "SplitUnused", op: "Split", ins: []inSpec{f64(4, 2)}, build: func(in []*graph.Value) *graph.Value {
			return graph.Split(in[0], 0, 1, 3)[1]
		}},
		{name: "Expand", op: "Expand", ins: []inSpec{f64(3, 1)}, build: func(in []*graph.Value) *graph.Value {
			return graph.Expand(in[0], graph.ConstInts(in[0].Graph(), 2, 3, 4))
		}},
		{name: "Gather", op: "Gather", ins: []inSpec{f64(5, 3), {shape: []int64{2, 3}, dtype: graph.Int64, gen: indices(5), noGrad: true}},
			build: func(in []*graph.Value) *graph.Value { return graph.Gather(in[0], in[1], 0) }},
		{name: "GatherAxis1", op: "Gather", ins: []inSpec{f64(2, 4, 3), {shape: []int64{5}, dtype: graph.Int64, gen: indices(4), noGrad: true}},
			build: func(in []*graph.Value) *graph.Value { return graph.Gather(in[0], in[1], 1) }},
		{name: "GatherElements", op: "GatherElements", ins: []inSpec{f64(3, 4), {shape: []int64{3, 2}, dtype: graph.Int64, gen: indices(4), noGrad: true}},
			build: func(in []*graph.Value) *graph.Value { return graph.GatherElements(in[0], in[1], 1) }},
		{name: "ScatterElements", op: "ScatterElements", ins: []inSpec{f64(3, 4), {shape: []int64{3, 2}, dtype: graph.Int64, gen: indices(4), noGrad: true}, f64(3, 2)},
			build: func(in []*graph.Value) *graph.Value { return graph.ScatterElementsAdd(in[0], in[1], in[2], 1) }},
		{name: "ScatterND", op: "ScatterND", ins: []inSpec{f64(4, 3), {shape: []int64{2, 2, 1}, dtype: graph.Int64, gen: indices(4), noGrad: true}, f64(2, 2, 3)},
			build: func(in []*graph.Value) *graph.Value { return graph.ScatterNDAdd(in[0], in[1], in[2]) }},
		{name: "GatherND", op: "GatherND", ins: []inSpec{f64(4, 3), {shape: []int64{2, 1}, dtype: graph.Int64, gen: indices(4), noGrad: true}},
			build: func(in []*graph.Value) *graph.Value { return graph.GatherND(in[0], in[1]) }},
		{name: "Trilu", op: "Trilu", ins: []inSpec{f64(2, 3, 3)}, build: func(in []*graph.Value) *graph.Value { return graph.Trilu(in[0], 0, false) }},
		{name: "TriluUpper", op: "Trilu", ins: []inSpec{f64(3, 4)}, build: func(in []*graph.Value) *graph.Value { return graph.Trilu(in[0], 1, true) }},
		{name: "Pad", op: "Pad", ins: []inSpec{f64(2, 3)}, build: func(in []*graph.Value) *graph.Value { return graph.Pad(in[0], 1, 0, 0, 2) }},
		// The SiLU composite's own rule; its backward recomputes sigmoid(x)
		// and x*sigmoid(x), the latter shared with the outer Mul's rule.
		{name: "SiLU", op: "SiLU", ins: []inSpec{f64(2, 3), f64(2, 3)}, build: func(in []*graph.Value) *graph.Value {
			silu := graph.SiLU(in[0])
			return graph.Mul(silu, graph.Add(in[1], silu))
		}},
		// The composite's inner sigmoid read elsewhere too: that reader's
		// gradient reaches x through the Sigmoid rule, added to SiLU's.
		{name: "SiLUInnerReadElsewhere", op: "SiLU", ins: []inSpec{f64(2, 3)}, build: func(in []*graph.Value) *graph.Value {
			silu := graph.SiLU(in[0])
			s := silu.Producer.Inputs[1]
			return graph.Add(silu, graph.Mul(s, s))
		}},
		// The tanh GELU composite's rule, its output also read by a product
		// (as the GeGLU's up projection reads it).
		{name: "GELUTanh", op: "GELUTanh", ins: []inSpec{f64(2, 3), f64(2, 3)}, build: func(in []*graph.Value) *graph.Value {
			gelu := graph.GELUTanh(graph.Mul(in[0], graph.ScalarLike(in[0], 2)))
			return graph.Mul(gelu, graph.Add(in[1], gelu))
		}},
		// x*sigmoid(x) written out by hand is no composite: it goes through
		// the Mul and Sigmoid rules, with the sigmoid recomputed.
		{name: "SigmoidTimesInput", op: "Sigmoid", ins: []inSpec{f64(2, 3)}, build: func(in []*graph.Value) *graph.Value {
			s := graph.Sigmoid(in[0])
			return graph.Add(graph.Mul(s, in[0]), graph.Mul(s, s))
		}},
		{name: "FanOut", op: "Mul", ins: []inSpec{f64(2, 3)}, build: func(in []*graph.Value) *graph.Value {
			return graph.Mul(graph.Exp(in[0]), graph.Mul(in[0], in[0]))
		}},
	}
	return cases
}

// TestGradientsMatchFiniteDifferences checks every VJP rule against
// float64 central differences computed through ONNX Runtime.
func TestGradientsMatchFiniteDifferences(t *testing.T) {
	for _, tc := range gradCases() {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewSource(int64(len(tc.name))))
			feeds := map[string]gradcheck.Feed{}
			var loss *graph.Value
			var wrt []*graph.Value
			g, err := graph.Build(tc.name, func(g *graph.Graph) {
				ins := make([]*graph.Value, len(tc.ins))
				for i, spec := range tc.ins {
					dt := spec.dtype
					if dt == graph.InvalidDType {
						dt = graph.Float64
					}
					name := fmt.Sprintf("x%d", i)
					ins[i] = g.Input(name, dt, graph.StaticShape(spec.shape))
					gen := spec.gen
					if gen == nil {
						gen = signedAwayFromZero
					}
					n := int(graph.NumElements(spec.shape))
					data := make([]float64, n)
					for k := range data {
						data[k] = gen(r, k)
					}
					feeds[name] = gradcheck.Feed{Shape: spec.shape, Data: data}
					if !spec.noGrad {
						wrt = append(wrt, ins[i])
					}
				}
				y := tc.build(ins)
				// loss = sum(y * R): a random projection exercises every
				// element of the output gradient.
				dims, ok := y.Shape.Static()
				require.True(t, ok)
				proj := make([]float64, y.Shape.NumElements().Mul(graph.D(1)).MustStatic())
				for k := range proj {
					proj[k] = r.NormFloat64()
				}
				loss = graph.ReduceSum(graph.Mul(y, graph.Const(g, graph.NewData(dims, proj))), nil, false)
			})
			require.NoError(t, err)
			h, tol := 1e-6, 1e-6
			if tc.h != 0 {
				h, tol = tc.h, tc.tol
			}
			res, err := gradcheck.Check(g, loss, wrt, feeds, h)
			require.NoError(t, err)
			assert.Less(t, res.MaxRelErr, tol, "worst: %s", res.Worst)
			assert.Positive(t, res.Checked)
		})
	}
}

// TestEveryOpHasAGradientDecision fails when an op is added to the IR
// without either a VJP rule or an explicit non-differentiable marking, and
// when a rule has no finite-difference case above.
func TestEveryOpHasAGradientDecision(t *testing.T) {
	rules := map[string]bool{}
	for _, op := range graph.DifferentiableOps() {
		rules[op] = true
	}
	for _, op := range graph.NonDifferentiableOps() {
		assert.False(t, rules[op], "%s is both differentiable and not", op)
		rules[op] = true
	}
	for _, op := range graph.SupportedOps() {
		assert.True(t, rules[op], "op %s has no gradient rule and is not marked non-differentiable", op)
	}
	covered := map[string]bool{}
	for _, c := range gradCases() {
		covered[c.op] = true
	}
	for _, op := range append(graph.DifferentiableOps(), graph.CompositeOps()...) {
		assert.True(t, covered[op], "gradient rule of %s has no finite-difference case", op)
	}
}

func TestGradErrors(t *testing.T) {
	_, err := graph.Build("noscalar", func(g *graph.Graph) {
		x := g.Input("x", graph.Float64, graph.S(2, 3))
		graph.Grad(graph.Exp(x), []*graph.Value{x})
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "one element")

	_, err = graph.Build("intwrt", func(g *graph.Graph) {
		x := g.Input("x", graph.Int64, graph.S(2))
		y := g.Input("y", graph.Float64, graph.S(2))
		graph.Grad(graph.ReduceSum(y, nil, false), []*graph.Value{x})
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "int64")
}

// TestGradPrunesFrozenBranches checks that a weight outside the path to
// the loss, and a StopGradient path, get no backward nodes: the gradient
// graph of y = x*W (W frozen) has no MatMul/Gemm producing a W gradient.
func TestGradPrunesFrozenBranches(t *testing.T) {
	g, err := graph.Build("prune", func(g *graph.Graph) {
		x := g.Input("x", graph.Float64, graph.S(4, 3))
		w := g.Input("w", graph.Float64, graph.S(3, 3))
		frozen := g.Initializer("frozen", graph.NewData([]int64{3, 3}, make([]float64, 9)))
		h := graph.MatMul(graph.MatMul(x, frozen), w)
		stopped := graph.StopGradient(graph.Exp(w))
		loss := graph.ReduceSum(graph.Mul(h, graph.ReduceSum(stopped, nil, false)), nil, false)
		before := len(g.Nodes())
		gw := graph.Grad(loss, []*graph.Value{w})[0]
		g.Output("gw", gw)
		matmuls := 0
		for _, n := range g.Nodes()[before:] {
			if n.Op == "MatMul" || n.Op == "Gemm" {
				matmuls++
			}
			assert.NotEqual(t, "Exp", n.Op, "StopGradient path was differentiated")
		}
		// dW = (x*frozen)^T g: exactly one product; no gradient for frozen or x.
		assert.Equal(t, 1, matmuls)
	})
	require.NoError(t, err)
	out := runORT(t, g, map[string]feed{"x": {Shape: []int64{4, 3}, Data: make([]float64, 12)}, "w": {Shape: []int64{3, 3}, Data: make([]float64, 9)}})
	assert.Equal(t, make([]float64, 9), out["gw"].Data)
}

// TestBackwardKeepsNoActivationItCanAvoid pins the two memory rules of
// Grad on an FFN-like block with symbolic dims: the backward pass reads no
// Shape of a forward activation (sizes come from the graph inputs) and
// recomputes SiLU's sigmoid(h) and h*sigmoid(h) instead of reading the
// forward copies. The gradient still matches finite differences.
func TestBackwardKeepsNoActivationItCanAvoid(t *testing.T) {
	var loss, w, sig, silu *graph.Value
	var forward int
	g, err := graph.Build("remat", func(g *graph.Graph) {
		x := g.Input("x", graph.Float64, graph.S("batch", "seq", 4))
		w = g.Input("w", graph.Float64, graph.S(6, 4))
		flat := graph.ReshapeLike(x, graph.S(graph.Sym("batch").Mul(graph.Sym("seq")), 4), x)
		h := graph.ReshapeLike(graph.Gemm(flat, w, nil, graph.GemmOptions{TransB: true}), graph.S("batch", "seq", 6), x)
		silu = graph.SiLU(h)
		sig = silu.Producer.Inputs[1]
		require.Equal(t, "Sigmoid", sig.Producer.Op)
		loss = graph.ReduceMean(graph.Mul(silu, graph.Add(h, silu)), nil, false)
		forward = len(g.Nodes())
	})
	require.NoError(t, err)
	r := rand.New(rand.NewSource(3))
	data := func(n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = r.NormFloat64()
		}
		return out
	}
	feeds := map[string]gradcheck.Feed{"x": {Shape: []int64{2, 3, 4}, Data: data(24)}, "w": {Shape: []int64{6, 4}, Data: data(24)}}
	res, err := gradcheck.Check(g, loss, []*graph.Value{w}, feeds, 1e-6)
	require.NoError(t, err)
	assert.Less(t, res.MaxRelErr, 1e-6, "worst: %s", res.Worst)
	backward := g.Nodes()[forward:]
	require.NotEmpty(t, backward)
	for _, n := range backward {
		for _, in := range n.Inputs {
			assert.False(t, in == sig || in == silu, "backward node %s reads the forward %s", n.Name, in)
			if n.Op == "Shape" {
				assert.True(t, in.IsInput(), "backward Shape node %s reads activation %s", n.Name, in)
			}
		}
	}
}

// TestErfGradientClosedForm pins the Erf rule exactly (float32 in ORT,
// which has no float64 Erf) against d/dx erf(x) = 2/sqrt(pi) exp(-x^2).
func TestErfGradientClosedForm(t *testing.T) {
	xs := []float64{-2, -0.7, 0, 0.3, 1.5}
	g, err := graph.Build("erf", func(g *graph.Graph) {
		x := g.Input("x", graph.Float32, graph.S(5))
		loss := graph.ReduceSum(graph.Erf(x), nil, false)
		g.Output("gx", graph.Grad(loss, []*graph.Value{x})[0])
	})
	require.NoError(t, err)
	out := runORT(t, g, map[string]feed{"x": {Shape: []int64{5}, Data: xs}})
	for i, x := range xs {
		assert.InDelta(t, 2/math.Sqrt(math.Pi)*math.Exp(-x*x), out["gx"].Data[i], 1e-6, "x=%g", x)
	}
}

// TestBackwardRecomputesGELUFromItsInput: the tanh GELU's intermediates
// (x², x³, tanh(.), 0.5x, 1 + tanh(.)) are recomputed from x in the
// backward pass instead of held; the product with another activation
// (two roots) stays held. Gradients still match finite differences.
func TestBackwardRecomputesGELUFromItsInput(t *testing.T) {
	var loss, w, up *graph.Value
	var forward int
	g, err := graph.Build("gelu", func(g *graph.Graph) {
		x := g.Input("x", graph.Float64, graph.S(3, 4))
		w = g.Input("w", graph.Float64, graph.S(5, 4))
		h := graph.Gemm(x, w, nil, graph.GemmOptions{TransB: true})
		inner := graph.Mul(graph.ScalarLike(h, math.Sqrt(2/math.Pi)),
			graph.Add(h, graph.Mul(graph.ScalarLike(h, 0.044715), graph.Mul(h, graph.Mul(h, h)))))
		gelu := graph.Mul(graph.Mul(graph.ScalarLike(h, 0.5), h), graph.Add(graph.ScalarLike(h, 1), graph.Tanh(inner)))
		up = graph.Gemm(x, w, nil, graph.GemmOptions{TransB: true, Alpha: 0.5})
		loss = graph.ReduceSum(graph.Mul(gelu, up), nil, false)
		forward = len(g.Nodes())
	})
	require.NoError(t, err)
	feeds := map[string]gradcheck.Feed{
		"x": {Shape: []int64{3, 4}, Data: []float64{0.3, -1, 2, 0.5, 1.5, -0.2, 0.1, -2, 0.7, 0.9, -0.4, 1.1}},
		"w": {Shape: []int64{5, 4}, Data: []float64{0.2, -0.5, 0.3, 0.1, -0.3, 0.4, 0.6, -0.2, 0.5, 0.1, -0.6, 0.3, 0.2, 0.2, -0.1, 0.4, -0.4, 0.3, 0.2, 0.5}},
	}
	res, err := gradcheck.Check(g, loss, []*graph.Value{w}, feeds, 1e-6)
	require.NoError(t, err)
	assert.Less(t, res.MaxRelErr, 1e-6, "worst: %s", res.Worst)
	held := map[*graph.Value]bool{}
	for _, n := range g.Nodes()[forward:] {
		for _, in := range n.Inputs {
			if in.Producer != nil && in.Producer.ID < forward {
				held[in] = true
			}
		}
	}
	for v := range held {
		op := v.Producer.Op
		assert.True(t, op == "Gemm" || v == up || v.Rank() == 0 || op == "Constant",
			"the backward reads forward %s (%s): the GELU should be recomputed from its input", v, op)
	}
}
