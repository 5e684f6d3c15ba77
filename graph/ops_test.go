package graph_test

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/graph/internal/nd"
)

// Tolerances on |got - want| / max(1, |want|). Exact ops (arithmetic,
// data movement, sums) differ from the reference only by summation order;
// transcendental ones by ORT's own exp/log/erf approximations; float32 rows
// by float32 rounding of the computation itself.
const (
	exactTol          = 1e-12
	transcendentalTol = 1e-9
	float32Tol        = 1e-5
)

// refInput is one graph input of a row: its dtype, shape (symbolic dims
// allowed) and value generator.
type refInput struct {
	dtype graph.DType
	shape graph.Shape
	gen   func(r *rand.Rand) float64 // nil: uniform in [-1, 1)
}

// refRow runs the nodes build adds on fresh inputs in ONNX Runtime and
// compares every output with ref computed on the same input values.
type refRow struct {
	name   string
	inputs []refInput
	sizes  map[string]int64 // concrete sizes fed for symbolic input dims
	build  func(g *graph.Graph, in []*graph.Value) []*graph.Value
	ref    func(in []nd.Array) []nd.Array
	tol    float64
}

func input(dt graph.DType, dims ...any) refInput {
	in := refInput{dtype: dt, shape: graph.S(dims...)}
	switch dt {
	case graph.Bool:
		in.gen = func(r *rand.Rand) float64 { return float64(r.Intn(2)) }
	case graph.Int64, graph.Int32:
		in.gen = func(r *rand.Rand) float64 { return float64(r.Intn(11) - 5) }
	}
	return in
}

func in64(dims ...any) refInput   { return input(graph.Float64, dims...) }
func in32(dims ...any) refInput   { return input(graph.Float32, dims...) }
func inI64(dims ...any) refInput  { return input(graph.Int64, dims...) }
func inBool(dims ...any) refInput { return input(graph.Bool, dims...) }

// indexIn holds int64 indices in [lo, hi): a negative lo exercises ONNX's
// counting from the end.
func indexIn(lo, hi int, dims ...any) refInput {
	in := inI64(dims...)
	in.gen = func(r *rand.Rand) float64 { return float64(lo + r.Intn(hi-lo)) }
	return in
}

// with replaces an input's generator.
func (in refInput) with(gen func(r *rand.Rand) float64) refInput {
	in.gen = gen
	return in
}

// positiveVals keeps Sqrt, Log, Div and Pow away from their poles and NaNs.
func positiveVals(r *rand.Rand) float64 { return 0.2 + 2*r.Float64() }

// smallInts makes equal elements likely, so Equal/Sign/Cast see ties and zeros.
func smallInts(r *rand.Rand) float64 { return float64(r.Intn(5) - 2) }

// scaled spreads values over [-3, 3) so Cast truncates both signs.
func scaled(r *rand.Rand) float64 { return 6*r.Float64() - 3 }

// row builds a single-output row.
func row(name string, tol float64, inputs []refInput, build func(g *graph.Graph, in []*graph.Value) *graph.Value, ref func(in []nd.Array) nd.Array) refRow {
	return refRow{name: name, inputs: inputs, tol: tol,
		build: func(g *graph.Graph, in []*graph.Value) []*graph.Value { return []*graph.Value{build(g, in)} },
		ref:   func(in []nd.Array) []nd.Array { return []nd.Array{ref(in)} }}
}

// tolerance overrides a row's tolerance.
func (r refRow) tolerance(tol float64) refRow {
	r.tol = tol
	return r
}

// symbolic binds the symbolic dims of a row's inputs.
func (r refRow) symbolic(sizes map[string]int64) refRow {
	r.sizes = sizes
	return r
}

func unaryRow(name string, tol float64, in refInput, op func(*graph.Value) *graph.Value, ref func(float64) float64) refRow {
	return row(name, tol, []refInput{in},
		func(_ *graph.Graph, v []*graph.Value) *graph.Value { return op(v[0]) },
		func(a []nd.Array) nd.Array { return nd.Map(ref, a[0]) })
}

func binaryRow(name string, tol float64, a, b refInput, op func(a, b *graph.Value) *graph.Value, ref func(x, y float64) float64) refRow {
	return row(name, tol, []refInput{a, b},
		func(_ *graph.Graph, v []*graph.Value) *graph.Value { return op(v[0], v[1]) },
		func(x []nd.Array) nd.Array { return nd.Binary(ref, x[0], x[1]) })
}

func castRow(name string, in refInput, to graph.DType, ref func(float64) float64) refRow {
	return unaryRow(name, exactTol, in, func(x *graph.Value) *graph.Value { return graph.Cast(x, to) }, ref)
}

// constRow checks a Constant node. The graph gets an unused input because
// runtime.Session.Run panics on a model without inputs (onnxruntime_go
// indexes the empty input slice).
func constRow(name string, data *graph.Data, want nd.Array) refRow {
	return row(name, exactTol, []refInput{in64(1)},
		func(g *graph.Graph, _ []*graph.Value) *graph.Value { return graph.Const(g, data) },
		func([]nd.Array) nd.Array { return want })
}

var batch2 = map[string]int64{"batch": 2}

func refRows() []refRow {
	add := func(x, y float64) float64 { return x + y }
	sub := func(x, y float64) float64 { return x - y }
	mul := func(x, y float64) float64 { return x * y }
	div := func(x, y float64) float64 { return x / y }
	neg := func(x float64) float64 { return -x }
	identity := func(x float64) float64 { return x }
	equal := func(x, y float64) float64 { return nd.Bool(x == y) }
	less := func(x, y float64) float64 { return nd.Bool(x < y) }
	greater := func(x, y float64) float64 { return nd.Bool(x > y) }
	not := func(x float64) float64 { return nd.Bool(x == 0) }
	ints := func(xs ...int64) []int64 { return xs }
	rows := []refRow{
		// Elementwise unary.
		unaryRow("Neg [batch,3]", exactTol, in64("batch", 3), graph.Neg, neg).symbolic(map[string]int64{"batch": 4}),
		unaryRow("Neg int64", exactTol, inI64(5), graph.Neg, neg),
		unaryRow("Abs", exactTol, in64(2, 3), graph.Abs, math.Abs),
		unaryRow("Abs int64", exactTol, inI64(6), graph.Abs, math.Abs),
		unaryRow("Sign with zeros", exactTol, in64(3, 4).with(smallInts), graph.Sign, nd.Sign),
		unaryRow("Sqrt", exactTol, in64(2, 3).with(positiveVals), graph.Sqrt, math.Sqrt),
		unaryRow("Reciprocal", exactTol, in64(2, 3).with(positiveVals), graph.Reciprocal, nd.Reciprocal),
		unaryRow("Exp", transcendentalTol, in64("batch", 3).with(scaled), graph.Exp, math.Exp).symbolic(batch2),
		unaryRow("Exp float32", float32Tol, in32(2, 3).with(scaled), graph.Exp, math.Exp),
		unaryRow("Log", transcendentalTol, in64(2, 3).with(positiveVals), graph.Log, math.Log),
		unaryRow("Relu", exactTol, in64(2, 3), graph.Relu, nd.Relu),
		unaryRow("Relu float32", exactTol, in32(2, 3), graph.Relu, nd.Relu),
		unaryRow("Sigmoid", transcendentalTol, in64(2, 3).with(scaled), graph.Sigmoid, nd.Sigmoid),
		unaryRow("Sigmoid float32", float32Tol, in32(2, 3).with(scaled), graph.Sigmoid, nd.Sigmoid),
		unaryRow("Tanh", transcendentalTol, in64(2, 3).with(scaled), graph.Tanh, math.Tanh),
		unaryRow("Tanh float32", float32Tol, in32(2, 3).with(scaled), graph.Tanh, math.Tanh),
		// ORT's CPU provider has no float64 Erf, Cos or Sin kernels: float32 only.
		unaryRow("Cos float32", float32Tol, in32(2, 3).with(scaled), graph.Cos, math.Cos),
		unaryRow("Sin float32", float32Tol, in32(2, 3).with(scaled), graph.Sin, math.Sin),
		unaryRow("Erf float32", float32Tol, in32(2, 3).with(scaled), graph.Erf, math.Erf),
		unaryRow("Identity", exactTol, in64(2, 3), graph.Identity, identity),
		unaryRow("Identity bool", exactTol, inBool(4), graph.Identity, identity),
		unaryRow("Not", exactTol, inBool("batch", 3), graph.Not, not).symbolic(batch2),

		// Elementwise binary, with numpy broadcasting.
		binaryRow("Add [2,1,4]+[3,1]", exactTol, in64(2, 1, 4), in64(3, 1), graph.Add, add),
		binaryRow("Add [batch,seq,4]+[seq,1]", exactTol, in64("batch", "seq", 4), in64("seq", 1), graph.Add, add).
			symbolic(map[string]int64{"batch": 2, "seq": 3}),
		binaryRow("Add float32 [2,3]+scalar", float32Tol, in32(2, 3), in32(), graph.Add, add),
		binaryRow("Add int64", exactTol, inI64(2, 3), inI64(3), graph.Add, add),
		binaryRow("Sub [2,3]-[3]", exactTol, in64(2, 3), in64(3), graph.Sub, sub),
		binaryRow("Sub int64 [1]-[2,2]", exactTol, inI64(1), inI64(2, 2), graph.Sub, sub),
		binaryRow("Mul [4,1]*[1,3]", exactTol, in64(4, 1), in64(1, 3), graph.Mul, mul),
		binaryRow("Mul float32", float32Tol, in32(2, 3), in32(2, 1), graph.Mul, mul),
		binaryRow("Div", exactTol, in64(2, 3), in64(2, 3).with(positiveVals), graph.Div, div),
		binaryRow("Div float32 [batch,3]/[3]", float32Tol, in32("batch", 3), in32(3).with(positiveVals), graph.Div, div).symbolic(batch2),
		binaryRow("Pow", transcendentalTol, in64(2, 3).with(positiveVals), in64(3).with(scaled), graph.Pow, math.Pow),
		binaryRow("Pow float32", float32Tol, in32(2, 3).with(positiveVals), in32(2, 1), graph.Pow, math.Pow),
		binaryRow("Max [2,3],[1]", exactTol, in64(2, 3), in64(1), graph.Max, math.Max),
		binaryRow("Max int64", exactTol, inI64(2, 3), inI64(2, 1), graph.Max, math.Max),
		binaryRow("Min [3],[2,3]", exactTol, in64(3), in64(2, 3), graph.Min, math.Min),
		binaryRow("Min float32", exactTol, in32(3, 1), in32(3, 2), graph.Min, math.Min),
		binaryRow("Equal with ties", exactTol, in64(2, 3).with(smallInts), in64(3).with(smallInts), graph.Equal, equal),
		binaryRow("Equal int64", exactTol, inI64(4, 3), inI64(4, 1), graph.Equal, equal),
		binaryRow("Equal bool", exactTol, inBool(2, 3), inBool(3), graph.Equal, equal),
		binaryRow("Less", exactTol, in64(2, 3), in64(3), graph.Less, less),
		binaryRow("Less int64 [batch,3]<[3]", exactTol, inI64("batch", 3), inI64(3), graph.Less, less).symbolic(batch2),
		binaryRow("Greater [2,1]>[3]", exactTol, in64(2, 1), in64(3), graph.Greater, greater),
		binaryRow("Greater int64", exactTol, inI64(3, 3), inI64(3, 3), graph.Greater, greater),
		row("Max of three [2,3],[1],[3]", exactTol, []refInput{in64(2, 3), in64(1), in64(3)},
			func(g *graph.Graph, in []*graph.Value) *graph.Value { return g.AddNode("Max", in, nil)[0] },
			func(in []nd.Array) nd.Array {
				return nd.MapN(func(x []float64) float64 { return max(x[0], x[1], x[2]) }, in...)
			}),
		row("Min of one", exactTol, []refInput{in64(2, 3)},
			func(g *graph.Graph, in []*graph.Value) *graph.Value { return g.AddNode("Min", in, nil)[0] },
			func(in []nd.Array) nd.Array { return in[0] }),

		// Where, Cast, Clip.
		row("Where [2,3] ? [3] : [2,1]", exactTol, []refInput{inBool(2, 3), in64(3), in64(2, 1)},
			func(_ *graph.Graph, in []*graph.Value) *graph.Value { return graph.Where(in[0], in[1], in[2]) },
			func(in []nd.Array) nd.Array { return nd.Where(in[0], in[1], in[2]) }),
		row("Where float32 scalar y", exactTol, []refInput{inBool(3, 1), in32(1, 4), in32()},
			func(_ *graph.Graph, in []*graph.Value) *graph.Value { return graph.Where(in[0], in[1], in[2]) },
			func(in []nd.Array) nd.Array { return nd.Where(in[0], in[1], in[2]) }),
		row("Where int64 [batch,3]", exactTol, []refInput{inBool("batch", 1), inI64("batch", 3), inI64(3)},
			func(_ *graph.Graph, in []*graph.Value) *graph.Value { return graph.Where(in[0], in[1], in[2]) },
			func(in []nd.Array) nd.Array { return nd.Where(in[0], in[1], in[2]) }).symbolic(map[string]int64{"batch": 3}),
		castRow("Cast float64->int64 truncates", in64(3, 4).with(scaled), graph.Int64, nd.CastInt),
		castRow("Cast float32->int64", in32(6).with(scaled), graph.Int64, nd.CastInt),
		castRow("Cast int64->float64", inI64(2, 3), graph.Float64, identity),
		castRow("Cast float64->float32 rounds", in64(2, 3), graph.Float32, nd.RoundFloat32),
		castRow("Cast float32->float64", in32("batch", 3), graph.Float64, identity).symbolic(batch2),
		castRow("Cast bool->float64", inBool(5), graph.Float64, identity),
		castRow("Cast float64->bool", in64(2, 4).with(smallInts), graph.Bool, nd.CastBool),
		castRow("Cast int64->bool", inI64(6), graph.Bool, nd.CastBool),
		row("Clip both bounds", exactTol, []refInput{in64(2, 4)},
			func(g *graph.Graph, in []*graph.Value) *graph.Value {
				return graph.Clip(in[0], graph.Scalar(g, graph.Float64, -0.3), graph.Scalar(g, graph.Float64, 0.4))
			},
			func(in []nd.Array) nd.Array { return nd.Clip(in[0], -0.3, 0.4) }),
		row("Clip min only", exactTol, []refInput{in32("batch", 4)},
			func(g *graph.Graph, in []*graph.Value) *graph.Value {
				return graph.Clip(in[0], graph.Scalar(g, graph.Float32, 0.25), nil)
			},
			func(in []nd.Array) nd.Array { return nd.Clip(in[0], float64(float32(0.25)), math.Inf(1)) }).symbolic(batch2),
		row("Clip max only (min input omitted)", exactTol, []refInput{in64(3, 2)},
			func(g *graph.Graph, in []*graph.Value) *graph.Value {
				return graph.Clip(in[0], nil, graph.Scalar(g, graph.Float64, 0.1))
			},
			func(in []nd.Array) nd.Array { return nd.Clip(in[0], math.Inf(-1), 0.1) }),
		row("Clip int64", exactTol, []refInput{inI64(2, 5)},
			func(g *graph.Graph, in []*graph.Value) *graph.Value {
				return graph.Clip(in[0], graph.Scalar(g, graph.Int64, -2), graph.Scalar(g, graph.Int64, 3))
			},
			func(in []nd.Array) nd.Array { return nd.Clip(in[0], -2, 3) }),

		// Matrix products.
		binaryOpRow("MatMul batch broadcast [2,1,3,4]x[3,4,5]", exactTol, in64(2, 1, 3, 4), in64(3, 4, 5), graph.MatMul, nd.MatMul),
		binaryOpRow("MatMul [3,4]x[2,4,5]", exactTol, in64(3, 4), in64(2, 4, 5), graph.MatMul, nd.MatMul),
		binaryOpRow("MatMul [batch,3,4]x[4,2]", exactTol, in64("batch", 3, 4), in64(4, 2), graph.MatMul, nd.MatMul).
			symbolic(map[string]int64{"batch": 3}),
		binaryOpRow("MatMul float32", float32Tol, in32(5, 8), in32(8, 3), graph.MatMul, nd.MatMul),
		dynamicQuantizeMatMulRow(graph.Int8, 63),
		dynamicQuantizeMatMulRow(graph.Uint8, 127),
		row("Gemm transB alpha beta C[5]", exactTol, []refInput{in64(3, 4), in64(5, 4), in64(5)},
			func(_ *graph.Graph, in []*graph.Value) *graph.Value {
				return graph.Gemm(in[0], in[1], in[2], graph.GemmOptions{TransB: true, Alpha: 0.5, Beta: 2})
			},
			func(in []nd.Array) nd.Array { return nd.Gemm(in[0], in[1], &in[2], false, true, 0.5, 2) }),
		row("Gemm transA no C", exactTol, []refInput{in64(4, 3), in64(4, 2)},
			func(_ *graph.Graph, in []*graph.Value) *graph.Value {
				return graph.Gemm(in[0], in[1], nil, graph.GemmOptions{TransA: true})
			},
			func(in []nd.Array) nd.Array { return nd.Gemm(in[0], in[1], nil, true, false, 1, 0) }),
		row("Gemm transA transB C[3,1]", exactTol, []refInput{in64(2, 3), in64(4, 2), in64(3, 1)},
			func(_ *graph.Graph, in []*graph.Value) *graph.Value {
				return graph.Gemm(in[0], in[1], in[2], graph.GemmOptions{TransA: true, TransB: true, Alpha: -1.5, Beta: 0.25})
			},
			func(in []nd.Array) nd.Array { return nd.Gemm(in[0], in[1], &in[2], true, true, -1.5, 0.25) }),
		row("Gemm float32 scalar C", float32Tol, []refInput{in32(3, 4), in32(4, 2), in32()},
			func(_ *graph.Graph, in []*graph.Value) *graph.Value {
				return graph.Gemm(in[0], in[1], in[2], graph.GemmOptions{}) // defaults: a·b + c
			},
			func(in []nd.Array) nd.Array { return nd.Gemm(in[0], in[1], &in[2], false, false, 1, 1) }),

		// Softmax and reductions.
		axisRow("Softmax axis -1 [batch,5]", transcendentalTol, in64("batch", 5), -1, graph.Softmax, nd.Softmax).symbolic(batch2),
		axisRow("Softmax axis 1 of 3-D", transcendentalTol, in64(2, 3, 4).with(scaled), 1, graph.Softmax, nd.Softmax),
		axisRow("Softmax float32", float32Tol, in32(3, 4).with(scaled), -1, graph.Softmax, nd.Softmax),
		axisRow("LogSoftmax axis 0", transcendentalTol, in64(3, 4).with(scaled), 0, graph.LogSoftmax, nd.LogSoftmax),
		axisRow("LogSoftmax float32", float32Tol, in32("batch", 6).with(scaled), -1, graph.LogSoftmax, nd.LogSoftmax).symbolic(batch2),
		reduceRow("ReduceSum axes 0,2", exactTol, in64(2, 3, 4), []int{0, 2}, false, graph.ReduceSum, nd.ReduceSum),
		reduceRow("ReduceSum all keepdims", exactTol, in64(2, 3, 4), nil, true, graph.ReduceSum, nd.ReduceSum),
		reduceRow("ReduceSum axis -1 [batch,seq,4]", exactTol, in64("batch", "seq", 4), []int{-1}, false, graph.ReduceSum, nd.ReduceSum).
			symbolic(map[string]int64{"batch": 2, "seq": 3}),
		reduceRow("ReduceSum float32", float32Tol, in32(4, 5), []int{0}, true, graph.ReduceSum, nd.ReduceSum),
		reduceRow("ReduceMean axis -1 keepdims", exactTol, in64("batch", 3, 4), []int{-1}, true, graph.ReduceMean, nd.ReduceMean).symbolic(batch2),
		reduceRow("ReduceMean all to scalar", exactTol, in64(3, 4), nil, false, graph.ReduceMean, nd.ReduceMean),
		reduceRow("ReduceMax all to scalar", exactTol, in64(3, 4), nil, false, graph.ReduceMax, nd.ReduceMax),
		reduceRow("ReduceMax axis 1 keepdims", exactTol, in64(2, 3, 4), []int{1}, true, graph.ReduceMax, nd.ReduceMax),
		reduceRow("ReduceMax float32", exactTol, in32("batch", 7), []int{1}, false, graph.ReduceMax, nd.ReduceMax).symbolic(batch2),
		cumSumRow("CumSum axis 1", in64(2, 4), 1, false, false),
		cumSumRow("CumSum exclusive", in64(3, 4), 0, true, false),
		cumSumRow("CumSum reverse", in64(3, 4), -1, false, true),
		cumSumRow("CumSum exclusive reverse [batch,5]", in64("batch", 5), 1, true, true).symbolic(batch2),
		cumSumRow("CumSum int64", inI64(2, 3, 2), 1, false, false),

		// Shapes and data movement.
		row("Reshape [batch,seq,4] to 0,-1,2,2", exactTol, []refInput{in64("batch", "seq", 4)},
			func(_ *graph.Graph, in []*graph.Value) *graph.Value { return graph.Reshape(in[0], 0, -1, 2, 2) },
			func(in []nd.Array) nd.Array { return nd.Reshape(in[0], 0, -1, 2, 2) }).
			symbolic(map[string]int64{"batch": 2, "seq": 3}),
		row("Reshape [2,3,4] to 4,-1", exactTol, []refInput{in64(2, 3, 4)},
			func(_ *graph.Graph, in []*graph.Value) *graph.Value { return graph.Reshape(in[0], 4, -1) },
			func(in []nd.Array) nd.Array { return nd.Reshape(in[0], 4, -1) }),
		row("Reshape int64 flatten", exactTol, []refInput{inI64(2, 3)},
			func(_ *graph.Graph, in []*graph.Value) *graph.Value { return graph.Reshape(in[0], 6) },
			func(in []nd.Array) nd.Array { return nd.Reshape(in[0], 6) }),
		row("Transpose perm 2,0,1", exactTol, []refInput{in64(2, 3, 4)},
			func(_ *graph.Graph, in []*graph.Value) *graph.Value { return graph.Transpose(in[0], 2, 0, 1) },
			func(in []nd.Array) nd.Array { return nd.Transpose(in[0], 2, 0, 1) }),
		row("Transpose [batch,3] perm 1,0", exactTol, []refInput{in32("batch", 3)},
			func(_ *graph.Graph, in []*graph.Value) *graph.Value { return graph.Transpose(in[0], 1, 0) },
			func(in []nd.Array) nd.Array { return nd.Transpose(in[0], 1, 0) }).symbolic(batch2),
		row("Transpose without perm reverses", exactTol, []refInput{in64(2, 3, 4)},
			func(g *graph.Graph, in []*graph.Value) *graph.Value { return g.AddNode("Transpose", in, nil)[0] },
			func(in []nd.Array) nd.Array { return nd.Transpose(in[0]) }),
		row("Concat axis 1 of three", exactTol, []refInput{in64(2, 3), in64(2, 1), in64(2, 2)},
			func(_ *graph.Graph, in []*graph.Value) *graph.Value { return graph.Concat(1, in...) },
			func(in []nd.Array) nd.Array { return nd.Concat(1, in...) }),
		row("Concat axis 0 symbolic rows", exactTol, []refInput{in64("batch", 2), in64("batch", 2)},
			func(_ *graph.Graph, in []*graph.Value) *graph.Value { return graph.Concat(0, in...) },
			func(in []nd.Array) nd.Array { return nd.Concat(0, in...) }).symbolic(map[string]int64{"batch": 3}),
		row("Concat axis -1 int64 [batch,k]", exactTol, []refInput{inI64("batch", 1), inI64("batch", 3)},
			func(_ *graph.Graph, in []*graph.Value) *graph.Value { return graph.Concat(-1, in...) },
			func(in []nd.Array) nd.Array { return nd.Concat(-1, in...) }).symbolic(batch2),
		sliceRow("Slice negative start, step 2", in64(4, 5), ints(1, -4), ints(3, 100), []int{0, 1}, ints(1, 2)),
		sliceRow("Slice reverse whole axis", in64(3, 4), ints(-1), ints(-100), []int{1}, ints(-1)),
		sliceRow("Slice reverse from before the start", in64(3, 4), ints(-100), ints(-200), []int{1}, ints(-1)),
		sliceRow("Slice reverse step -2 clamped start", in64(6), ints(10), ints(0), []int{0}, ints(-2)),
		sliceRow("Slice empty", in64(2, 5), ints(4), ints(1), []int{1}, nil),
		sliceRow("Slice int64 max end", in64(3, 4), ints(1), ints(math.MaxInt64), []int{-1}, nil),
		sliceRow("Slice static axis of [batch,5]", in64("batch", 5), ints(1), ints(-1), []int{1}, nil).symbolic(batch2),
		sliceRow("Slice static window of symbolic dim", in64("batch", 3), ints(0), ints(2), []int{0}, nil).
			symbolic(map[string]int64{"batch": 4}),
		row("Slice table to runtime length [0:seq]", exactTol, []refInput{in64(6, 2), in64("seq")},
			func(g *graph.Graph, in []*graph.Value) *graph.Value {
				return graph.SliceTo(in[0], 0, graph.ConstInts(g, 0), graph.ShapeOf(in[1]))
			},
			func(in []nd.Array) nd.Array {
				return nd.Slice(in[0], []int{0}, []int{in[1].Shape[0]}, []int{0}, nil)
			}).symbolic(map[string]int64{"seq": 4}),
		{name: "Split axis 1 into 2,3", tol: exactTol, inputs: []refInput{in64(2, 5)},
			build: func(_ *graph.Graph, in []*graph.Value) []*graph.Value { return graph.Split(in[0], 1, 2, 3) },
			ref:   func(in []nd.Array) []nd.Array { return nd.Split(in[0], 1, 2, 3) }},
		{name: "Split axis 0 of [6,batch] into 1,2,3", tol: exactTol, inputs: []refInput{inI64(6, "batch")}, sizes: batch2,
			build: func(_ *graph.Graph, in []*graph.Value) []*graph.Value { return graph.Split(in[0], 0, 1, 2, 3) },
			ref:   func(in []nd.Array) []nd.Array { return nd.Split(in[0], 0, 1, 2, 3) }},
		{name: "Split axis -1 float32", tol: exactTol, inputs: []refInput{in32(3, 4)},
			build: func(_ *graph.Graph, in []*graph.Value) []*graph.Value { return graph.Split(in[0], -1, 1, 3) },
			ref:   func(in []nd.Array) []nd.Array { return nd.Split(in[0], -1, 1, 3) }},
		axesRow("Squeeze axis 1", in64(2, 1, 3), graph.Squeeze, nd.Squeeze, 1),
		axesRow("Squeeze axes -1,0 of [1,batch,1]", in64(1, "batch", 1), graph.Squeeze, nd.Squeeze, -1, 0).symbolic(batch2),
		row("Squeeze without axes", exactTol, []refInput{in64(1, 3, 1, 2)},
			func(g *graph.Graph, in []*graph.Value) *graph.Value { return g.AddNode("Squeeze", in, nil)[0] },
			func(in []nd.Array) nd.Array { return nd.Squeeze(in[0]) }),
		axesRow("Unsqueeze axes 1,3", in64(2, 3), graph.Unsqueeze, nd.Unsqueeze, 1, 3),
		axesRow("Unsqueeze axis -1 of [batch]", inI64("batch"), graph.Unsqueeze, nd.Unsqueeze, -1).symbolic(batch2),
		axesRow("Unsqueeze scalar", in64(), graph.Unsqueeze, nd.Unsqueeze, 0),
		row("Expand [3,1] to Shape of [batch,3,4]", exactTol, []refInput{in64(3, 1), in64("batch", 3, 4)},
			func(_ *graph.Graph, in []*graph.Value) *graph.Value { return graph.Expand(in[0], graph.ShapeOf(in[1])) },
			func(in []nd.Array) nd.Array { return nd.Expand(in[0], in[1].Shape) }).symbolic(batch2),
		expandRow("Expand [3,1] to constant [2,3,4]", in64(3, 1), 2, 3, 4),
		expandRow("Expand bidirectional [3,1] to [1,4]", in64(3, 1), 1, 4),
		expandRow("Expand [2,3,1] to shorter [4]", inI64(2, 3, 1), 4),
		row("Pad [2,2] rows before, cols after", exactTol, []refInput{in64(2, 2)},
			func(_ *graph.Graph, in []*graph.Value) *graph.Value { return graph.Pad(in[0], 1, 0, 0, 2) },
			func(in []nd.Array) nd.Array { return nd.Pad(in[0], []int{1, 0, 0, 2}, 0) }),
		row("Pad 3-D float32", exactTol, []refInput{in32(2, 3, 1)},
			func(_ *graph.Graph, in []*graph.Value) *graph.Value { return graph.Pad(in[0], 0, 1, 2, 1, 0, 1) },
			func(in []nd.Array) nd.Array { return nd.Pad(in[0], []int{0, 1, 2, 1, 0, 1}, 0) }),
		row("Pad keeps unpadded symbolic dim", exactTol, []refInput{in64("batch", 3)},
			func(_ *graph.Graph, in []*graph.Value) *graph.Value { return graph.Pad(in[0], 0, 2, 0, 1) },
			func(in []nd.Array) nd.Array { return nd.Pad(in[0], []int{0, 2, 0, 1}, 0) }).symbolic(batch2),
		triluRow("Trilu lower k=-1", in64(2, 3, 3), -1, false),
		triluRow("Trilu upper k=0", in64(4, 4), 0, true),
		triluRow("Trilu upper k=1 non-square", in64(3, 4, 5), 1, true),
		triluRow("Trilu lower k=2 tall", in64(5, 3), 2, false),
		triluRow("Trilu upper [batch,seq,seq]", in32("batch", "seq", "seq"), 0, true).symbolic(map[string]int64{"batch": 2, "seq": 3}),

		// Indexing.
		indexRow("Gather axis 1 [2,2] indices", in64(2, 5, 3), indexIn(0, 5, 2, 2), 1, graph.Gather, nd.Gather),
		indexRow("Gather axis 0 negative indices", in64(4, 3), indexIn(-4, 4, 5), 0, graph.Gather, nd.Gather),
		indexRow("Gather scalar index", in64(4, 3), indexIn(0, 3), -1, graph.Gather, nd.Gather),
		indexRow("Gather int64 rows of [vocab,d] by [batch,seq]", inI64(10, 3), indexIn(0, 10, "batch", "seq"), 0, graph.Gather, nd.Gather).
			symbolic(map[string]int64{"batch": 2, "seq": 3}),
		indexRow("GatherElements axis 1", in64(3, 4), indexIn(0, 4, 3, 2), 1, graph.GatherElements, nd.GatherElements),
		indexRow("GatherElements axis 0 negative", in32(3, 4), indexIn(-3, 3, 2, 4), 0, graph.GatherElements, nd.GatherElements),
		scatterElementsRow("ScatterElements add axis 1", in64(3, 4), indexIn(0, 4, 3, 5), in64(3, 5), 1),
		scatterElementsRow("ScatterElements add axis 0 negative", in64(4, 2), indexIn(-4, 4, 6, 2), in64(6, 2), 0),
		scatterElementsRow("ScatterElements add float32", in32(2, 6), indexIn(0, 6, 2, 3), in32(2, 3), -1).tolerance(float32Tol),
		row("ScatterND add rows", exactTol, []refInput{in64(4, 3), indexIn(0, 4, 5, 1), in64(5, 3)},
			func(_ *graph.Graph, in []*graph.Value) *graph.Value { return graph.ScatterNDAdd(in[0], in[1], in[2]) },
			func(in []nd.Array) nd.Array { return nd.ScatterNDAdd(in[0], in[1], in[2]) }),
		row("ScatterND add elements", exactTol, []refInput{in64(3, 3), indexIn(0, 3, 6, 2), in64(6)},
			func(_ *graph.Graph, in []*graph.Value) *graph.Value { return graph.ScatterNDAdd(in[0], in[1], in[2]) },
			func(in []nd.Array) nd.Array { return nd.ScatterNDAdd(in[0], in[1], in[2]) }),
		indexRow("GatherND rows", in64(4, 3), indexIn(0, 4, 2, 1), 0, ignoreAxis(graph.GatherND), ignoreAxisRef(nd.GatherND)),
		indexRow("GatherND elements", in64(4, 3), indexIn(0, 3, 2, 2), 0, ignoreAxis(graph.GatherND), ignoreAxisRef(nd.GatherND)),
		indexRow("GatherND 3-D [2,2,2] indices", in64(2, 3, 4), indexIn(0, 2, 2, 2, 2), 0, ignoreAxis(graph.GatherND), ignoreAxisRef(nd.GatherND)),
		indexRow("GatherND negative", in64(3, 3), indexIn(-3, 3, 4, 2), 0, ignoreAxis(graph.GatherND), ignoreAxisRef(nd.GatherND)),

		// Constants and Shape.
		constRow("Constant float64", graph.NewData([]int64{2}, []float64{1.5, -2}), nd.New([]int{2}, []float64{1.5, -2})),
		constRow("Constant float32 [2,2]", graph.NewData([]int64{2, 2}, []float32{0.1, 2, -3, 4}),
			nd.New([]int{2, 2}, []float64{float64(float32(0.1)), 2, -3, 4})),
		constRow("Constant int64 scalar", graph.NewData(nil, []int64{-7}), nd.Scalar(-7)),
		constRow("Constant bool", graph.NewData([]int64{3}, []bool{true, false, true}), nd.New([]int{3}, []float64{1, 0, 1})),
		shapeRow("Shape [batch,3]", in64("batch", 3), nil).symbolic(map[string]int64{"batch": 5}),
		shapeRow("Shape start 1 end 2", in64(2, "seq", 4), graph.Attrs{"start": int64(1), "end": int64(2)}).symbolic(map[string]int64{"seq": 3}),
		shapeRow("Shape start -1", inI64(2, 3, 4), graph.Attrs{"start": int64(-1)}),
		shapeRow("Shape of scalar", in64(), nil),
	}
	return rows
}

// binaryOpRow is a row for a two-input op whose reference works on arrays.
func binaryOpRow(name string, tol float64, a, b refInput, op func(a, b *graph.Value) *graph.Value, ref func(a, b nd.Array) nd.Array) refRow {
	return row(name, tol, []refInput{a, b},
		func(_ *graph.Graph, in []*graph.Value) *graph.Value { return op(in[0], in[1]) },
		func(in []nd.Array) nd.Array { return ref(in[0], in[1]) })
}

func axisRow(name string, tol float64, in refInput, axis int, op func(*graph.Value, int) *graph.Value, ref func(nd.Array, int) nd.Array) refRow {
	return row(name, tol, []refInput{in},
		func(_ *graph.Graph, v []*graph.Value) *graph.Value { return op(v[0], axis) },
		func(a []nd.Array) nd.Array { return ref(a[0], axis) })
}

func reduceRow(name string, tol float64, in refInput, axes []int, keepDims bool,
	op func(*graph.Value, []int, bool) *graph.Value, ref func(nd.Array, []int, bool) nd.Array) refRow {
	return row(name, tol, []refInput{in},
		func(_ *graph.Graph, v []*graph.Value) *graph.Value { return op(v[0], axes, keepDims) },
		func(a []nd.Array) nd.Array { return ref(a[0], axes, keepDims) })
}

func cumSumRow(name string, in refInput, axis int, exclusive, reverse bool) refRow {
	return row(name, exactTol, []refInput{in},
		func(_ *graph.Graph, v []*graph.Value) *graph.Value {
			return graph.CumSum(v[0], axis, exclusive, reverse)
		},
		func(a []nd.Array) nd.Array { return nd.CumSum(a[0], axis, exclusive, reverse) })
}

func sliceRow(name string, in refInput, starts, ends []int64, axes []int, steps []int64) refRow {
	toInts := func(xs []int64) []int {
		if xs == nil {
			return nil
		}
		out := make([]int, len(xs))
		for i, x := range xs {
			out[i] = int(x)
		}
		return out
	}
	return row(name, exactTol, []refInput{in},
		func(_ *graph.Graph, v []*graph.Value) *graph.Value {
			return graph.Slice(v[0], starts, ends, axes, steps)
		},
		func(a []nd.Array) nd.Array { return nd.Slice(a[0], toInts(starts), toInts(ends), axes, toInts(steps)) })
}

func axesRow(name string, in refInput, op func(*graph.Value, ...int) *graph.Value, ref func(nd.Array, ...int) nd.Array, axes ...int) refRow {
	return row(name, exactTol, []refInput{in},
		func(_ *graph.Graph, v []*graph.Value) *graph.Value { return op(v[0], axes...) },
		func(a []nd.Array) nd.Array { return ref(a[0], axes...) })
}

func expandRow(name string, in refInput, shape ...int64) refRow {
	ndShape := make([]int, len(shape))
	for i, d := range shape {
		ndShape[i] = int(d)
	}
	return row(name, exactTol, []refInput{in},
		func(g *graph.Graph, v []*graph.Value) *graph.Value {
			return graph.Expand(v[0], graph.ConstInts(g, shape...))
		},
		func(a []nd.Array) nd.Array { return nd.Expand(a[0], ndShape) })
}

func triluRow(name string, in refInput, k int, upper bool) refRow {
	return row(name, exactTol, []refInput{in},
		func(_ *graph.Graph, v []*graph.Value) *graph.Value { return graph.Trilu(v[0], int64(k), upper) },
		func(a []nd.Array) nd.Array { return nd.Trilu(a[0], k, upper) })
}

func indexRow(name string, data, indices refInput, axis int, op func(x, idx *graph.Value, axis int) *graph.Value, ref func(x, idx nd.Array, axis int) nd.Array) refRow {
	return row(name, exactTol, []refInput{data, indices},
		func(_ *graph.Graph, v []*graph.Value) *graph.Value { return op(v[0], v[1], axis) },
		func(a []nd.Array) nd.Array { return ref(a[0], a[1], axis) })
}

// ignoreAxis and ignoreAxisRef let GatherND, which has no axis, share indexRow.
func ignoreAxis(op func(x, idx *graph.Value) *graph.Value) func(x, idx *graph.Value, _ int) *graph.Value {
	return func(x, idx *graph.Value, _ int) *graph.Value { return op(x, idx) }
}

func ignoreAxisRef(ref func(x, idx nd.Array) nd.Array) func(x, idx nd.Array, _ int) nd.Array {
	return func(x, idx nd.Array, _ int) nd.Array { return ref(x, idx) }
}

func scatterElementsRow(name string, data, indices, updates refInput, axis int) refRow {
	return row(name, exactTol, []refInput{data, indices, updates},
		func(_ *graph.Graph, v []*graph.Value) *graph.Value {
			return graph.ScatterElementsAdd(v[0], v[1], v[2], axis)
		},
		func(a []nd.Array) nd.Array { return nd.ScatterElementsAdd(a[0], a[1], a[2], axis) })
}

// shapeRow checks Shape with optional start/end attributes, computing the
// expected slice of the fed shape with the same clamping rules as Slice.
func shapeRow(name string, in refInput, attrs graph.Attrs) refRow {
	return row(name, exactTol, []refInput{in},
		func(g *graph.Graph, v []*graph.Value) *graph.Value { return g.AddNode("Shape", v, attrs)[0] },
		func(a []nd.Array) nd.Array {
			dims := make([]float64, a[0].Rank())
			for i, d := range a[0].Shape {
				dims[i] = float64(d)
			}
			start, end := int(attrs.Int("start", 0)), int(attrs.Int("end", int64(a[0].Rank())))
			return nd.Slice(nd.New([]int{len(dims)}, dims), []int{start}, []int{end}, nil, nil)
		})
}

// seedFor derives a row's random seed from its name, so adding a row does
// not change the data of the others.
func seedFor(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// feedFor draws an input's values, rounded to what its dtype can hold so
// the reference sees exactly what ORT sees.
func feedFor(t *testing.T, r *rand.Rand, in refInput, sizes map[string]int64) (feed, nd.Array) {
	t.Helper()
	dims, err := in.shape.Bind(sizes)
	require.NoError(t, err, "bind input shape %s", in.shape)
	shape := make([]int, len(dims))
	for i, d := range dims {
		shape[i] = int(d)
	}
	gen := in.gen
	if gen == nil {
		gen = func(r *rand.Rand) float64 { return 2*r.Float64() - 1 }
	}
	data := make([]float64, nd.NumElements(shape))
	for i := range data {
		data[i] = gen(r)
		if in.dtype == graph.Float32 {
			data[i] = nd.RoundFloat32(data[i])
		}
	}
	return feed{Shape: dims, Data: data}, nd.New(shape, data)
}

// TestOpsAgainstReference runs every op alone in ONNX Runtime on random
// inputs, compares the outputs with the float64 reference in internal/nd,
// and checks that the shape Go inferred at build time (symbolic dims bound
// to the fed sizes) is the shape ORT returns.
func TestOpsAgainstReference(t *testing.T) {
	covered := map[string]bool{}
	names := map[string]bool{}
	for _, tc := range refRows() {
		require.False(t, names[tc.name], "duplicate row name %q", tc.name)
		names[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewSource(seedFor(tc.name)))
			feeds := map[string]feed{}
			refIns := make([]nd.Array, len(tc.inputs))
			var outs []*graph.Value
			g, err := graph.Build(tc.name, func(g *graph.Graph) {
				vals := make([]*graph.Value, len(tc.inputs))
				for i, in := range tc.inputs {
					name := fmt.Sprintf("x%d", i)
					vals[i] = g.Input(name, in.dtype, in.shape)
					feeds[name], refIns[i] = feedFor(t, r, in, tc.sizes)
				}
				outs = tc.build(g, vals)
				for i, o := range outs {
					g.Output(fmt.Sprintf("y%d", i), o)
				}
			})
			require.NoError(t, err)
			opUnderTest := checkOneOp(t, g, outs)
			covered[opUnderTest] = true

			got := runORT(t, g, feeds)
			want := tc.ref(refIns)
			require.Len(t, want, len(outs), "reference output count")
			for i, o := range outs {
				res := got[o.Name()]
				wantShape := toInt64s(want[i].Shape)
				assert.Equal(t, wantShape, toInt64s64(res.Shape), "output %d: ORT shape vs reference", i)
				assert.Equal(t, toInt64s64(res.Shape), toInt64s64(shapeOf(t, o, tc.sizes)),
					"output %d: Go-inferred shape %s vs ORT", i, o.Shape)
				assertClose(t, want[i].Data, res.Data, tc.tol, fmt.Sprintf("output %d", i))
			}
		})
	}
	for _, op := range graph.SupportedOps() {
		assert.True(t, covered[op], "op %s has no row in refRows", op)
	}
}

// checkOneOp asserts that the graph is one op (all outputs from nodes of
// one op type) fed only by graph inputs, Constants and Shape, and returns
// that op.
func checkOneOp(t *testing.T, g *graph.Graph, outs []*graph.Value) string {
	t.Helper()
	require.NotEmpty(t, outs)
	op := ""
	tested := map[*graph.Node]bool{}
	for _, o := range outs {
		require.NotNil(t, o.Producer, "output %s is not computed by a node", o.Name())
		if op == "" {
			op = o.Producer.Op
		}
		require.Equal(t, op, o.Producer.Op, "a row tests one op")
		tested[o.Producer] = true
	}
	for _, n := range g.Nodes() {
		if !tested[n] && n.Op != "Constant" && n.Op != "Shape" {
			t.Errorf("%s is neither the op under test (%s) nor a Constant/Shape feeding it", n, op)
		}
	}
	return op
}

func toInt64s(xs []int) []int64 {
	out := make([]int64, len(xs))
	for i, x := range xs {
		out[i] = int64(x)
	}
	return out
}

// toInt64s64 normalises nil to empty so a scalar's shape compares equal.
func toInt64s64(xs []int64) []int64 { return append([]int64{}, xs...) }

// assertClose reports the worst element of got against want.
func assertClose(t *testing.T, want, got []float64, tol float64, what string) {
	t.Helper()
	if !assert.Len(t, got, len(want), "%s: element count", what) {
		return
	}
	worst, worstAt := 0.0, -1
	for i := range want {
		err := math.Abs(got[i]-want[i]) / math.Max(1, math.Abs(want[i]))
		if math.IsNaN(err) {
			err = math.Inf(1)
		}
		if worstAt < 0 || err > worst {
			worst, worstAt = err, i
		}
	}
	if worstAt >= 0 {
		assert.LessOrEqual(t, worst, tol, "%s: element %d is %v, want %v", what, worstAt, got[worstAt], want[worstAt])
	}
}

// TestBuildErrorsNameTheNode: malformed graphs fail in Build with
// an error naming the op, the node, where it was built and the offending
// shapes or dtypes.
func TestBuildErrorsNameTheNode(t *testing.T) {
	cases := []struct {
		name  string
		build func(g *graph.Graph)
		op    string // the *graph.Error's Op
		want  []string
	}{
		{"MatMul inner dims", func(g *graph.Graph) {
			graph.MatMul(g.Input("a", graph.Float32, graph.S(2, 3)), g.Input("b", graph.Float32, graph.S(4, 5)))
		}, "MatMul", []string{"MatMul node n0_MatMul", "ops_test.go:", "[2, 3]", "[4, 5]"}},
		{"Add does not broadcast", func(g *graph.Graph) {
			graph.Add(g.Input("a", graph.Float64, graph.S(2, 3)), g.Input("b", graph.Float64, graph.S(4)))
		}, "Add", []string{"Add node n0_Add", "ops_test.go:", "do not broadcast", "[2, 3]", "[4]"}},
		{"Add symbolic dims differ", func(g *graph.Graph) {
			graph.Add(g.Input("a", graph.Float32, graph.S("batch", 3)), g.Input("b", graph.Float32, graph.S("seq", 3)))
		}, "Add", []string{"Add node n0_Add", "[batch, 3]", "[seq, 3]"}},
		{"Add float32 + float64", func(g *graph.Graph) {
			graph.Add(g.Input("a", graph.Float32, graph.S(2)), g.Input("b", graph.Float64, graph.S(2)))
		}, "Add", []string{"Add node n0_Add", "dtype mismatch", "a is float32", "b is float64"}},
		{"Gemm inner dims", func(g *graph.Graph) {
			graph.Gemm(g.Input("a", graph.Float64, graph.S(2, 3)), g.Input("b", graph.Float64, graph.S(2, 3)), nil, graph.GemmOptions{})
		}, "Gemm", []string{"Gemm node n0_Gemm", "[2, 3] x [2, 3]", "transB=0"}},
		{"Concat off-axis dims", func(g *graph.Graph) {
			graph.Concat(0, g.Input("a", graph.Float64, graph.S(2, 3)), g.Input("b", graph.Float64, graph.S(2, 4)))
		}, "Concat", []string{"Concat node n0_Concat", "[2, 4]", "[2, 3]"}},
		{"Split sizes", func(g *graph.Graph) {
			graph.Split(g.Input("a", graph.Float64, graph.S(5)), 0, 2, 2)
		}, "Split", []string{"Split node n1_Split", "[2 2]", "dim 5"}},
		{"Reshape element count", func(g *graph.Graph) {
			graph.Reshape(g.Input("a", graph.Float64, graph.S(2, 3)), 4, 2)
		}, "Reshape", []string{"Reshape node n1_Reshape", "[2, 3]", "[4, 2]"}},
		{"Softmax axis out of range", func(g *graph.Graph) {
			graph.Softmax(g.Input("a", graph.Float64, graph.S(2, 3)), 2)
		}, "Softmax", []string{"Softmax", "axis 2 out of range for rank 2"}},
		{"Where condition not bool", func(g *graph.Graph) {
			x := g.Input("x", graph.Float64, graph.S(2))
			graph.Where(x, x, x)
		}, "Where", []string{"Where node n0_Where", "condition must be bool", "float64"}},
		{"Gather float indices", func(g *graph.Graph) {
			graph.Gather(g.Input("x", graph.Float64, graph.S(4)), g.Input("i", graph.Float64, graph.S(2)), 0)
		}, "Gather", []string{"Gather node n0_Gather", "indices must be int", "float64"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := graph.Build(tc.name, tc.build)
			require.Error(t, err)
			assert.Nil(t, g)
			var ge *graph.Error
			require.ErrorAs(t, err, &ge)
			assert.Equal(t, tc.op, ge.Op)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// TestUnknownOpErrorListsSupportedOps: the reader's generic AddNode path
// must reject ops the IR cannot infer, saying which ones it can.
func TestUnknownOpErrorListsSupportedOps(t *testing.T) {
	_, err := graph.Build("unknown", func(g *graph.Graph) {
		g.AddNode("Frobnicate", []*graph.Value{g.Input("a", graph.Float32, graph.S(2))}, nil)
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown op "Frobnicate"`)
	assert.Contains(t, err.Error(), "ops_test.go:", "error says where the node was built")
	for _, op := range graph.SupportedOps() {
		assert.Contains(t, err.Error(), op)
	}
	// graph.go documents ErrUnknownOp as wrapped by these errors.
	assert.True(t, errors.Is(err, graph.ErrUnknownOp), "errors.Is(err, graph.ErrUnknownOp) for %q", err)
}

// TestSupportedOpsIsSortedAndUnique guards the coverage check above, which
// relies on SupportedOps naming each op once.
func TestSupportedOpsIsSortedAndUnique(t *testing.T) {
	ops := graph.SupportedOps()
	assert.True(t, slices.IsSorted(ops))
	assert.Len(t, slices.Compact(slices.Clone(ops)), len(ops))
}

// TestTwoLayerMLPMatchesReference: a float32 MLP in ORT against the float64
// reference to 1e-5.
func TestTwoLayerMLPMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	rnd := func(shape ...int) nd.Array {
		a := nd.Zeros(shape...)
		for i := range a.Data {
			a.Data[i] = float64(float32(r.NormFloat64()))
		}
		return a
	}
	w1, b1, w2, b2 := rnd(4, 8), rnd(8), rnd(8, 3), rnd(3)
	x := rnd(5, 4)
	f32 := func(a nd.Array) *graph.Data {
		v := make([]float32, len(a.Data))
		for i, d := range a.Data {
			v[i] = float32(d)
		}
		dims := make([]int64, len(a.Shape))
		for i, d := range a.Shape {
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
	got := runORT(t, g, map[string]feed{"x": {Shape: []int64{5, 4}, Data: x.Data}})["y"]
	want := nd.Add(nd.MatMul(nd.Map(nd.Relu, nd.Add(nd.MatMul(x, w1), b1)), w2), b2)
	assert.Equal(t, []int64{5, 3}, got.Shape)
	assert.InDeltaSlice(t, want.Data, got.Data, 1e-5)
}
