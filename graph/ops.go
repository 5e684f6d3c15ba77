package graph

import (
	"encoding/binary"
)

// Builders: thin typed wrappers over AddNode. Axes are normalised to
// non-negative values here so gradient rules can rely on it.

func add1(op string, inputs []*Value, attrs Attrs) *Value {
	return graphOf(op, inputs...).AddNode(op, inputs, attrs)[0]
}

// Add is a + b, elementwise with numpy broadcasting.
func Add(a, b *Value) *Value { return add1("Add", []*Value{a, b}, nil) }

// Sub is a - b, elementwise with numpy broadcasting.
func Sub(a, b *Value) *Value { return add1("Sub", []*Value{a, b}, nil) }

// Mul is a * b, elementwise with numpy broadcasting.
func Mul(a, b *Value) *Value { return add1("Mul", []*Value{a, b}, nil) }

// Div is a / b, elementwise with numpy broadcasting.
func Div(a, b *Value) *Value { return add1("Div", []*Value{a, b}, nil) }

// Pow is a raised to the power b, elementwise with numpy broadcasting.
func Pow(a, b *Value) *Value { return add1("Pow", []*Value{a, b}, nil) }

// Max is the larger of a and b, elementwise with numpy broadcasting.
func Max(a, b *Value) *Value { return add1("Max", []*Value{a, b}, nil) }

// Min is the smaller of a and b, elementwise with numpy broadcasting.
func Min(a, b *Value) *Value { return add1("Min", []*Value{a, b}, nil) }

// Equal is whether a == b (bool), elementwise with numpy broadcasting.
func Equal(a, b *Value) *Value { return add1("Equal", []*Value{a, b}, nil) }

// Less is whether a < b (bool), elementwise with numpy broadcasting.
func Less(a, b *Value) *Value { return add1("Less", []*Value{a, b}, nil) }

// Greater is whether a > b (bool), elementwise with numpy broadcasting.
func Greater(a, b *Value) *Value { return add1("Greater", []*Value{a, b}, nil) }

// MatMul is the matrix product a @ b over the last two axes, with the
// leading (batch) axes broadcast as numpy's matmul does.
func MatMul(a, b *Value) *Value { return add1("MatMul", []*Value{a, b}, nil) }

// Neg is -x, elementwise.
func Neg(x *Value) *Value { return add1("Neg", []*Value{x}, nil) }

// Abs is |x|, elementwise.
func Abs(x *Value) *Value { return add1("Abs", []*Value{x}, nil) }

// Sign is the sign of x: -1, 0 or 1, elementwise.
func Sign(x *Value) *Value { return add1("Sign", []*Value{x}, nil) }

// Sqrt is the square root of x, elementwise.
func Sqrt(x *Value) *Value { return add1("Sqrt", []*Value{x}, nil) }

// Reciprocal is 1/x, elementwise.
func Reciprocal(x *Value) *Value { return add1("Reciprocal", []*Value{x}, nil) }

// Exp is e^x, elementwise.
func Exp(x *Value) *Value { return add1("Exp", []*Value{x}, nil) }

// Log is the natural logarithm of x, elementwise.
func Log(x *Value) *Value { return add1("Log", []*Value{x}, nil) }

// Relu is max(x, 0), elementwise.
func Relu(x *Value) *Value { return add1("Relu", []*Value{x}, nil) }

// Sigmoid is 1/(1+e^-x), elementwise.
func Sigmoid(x *Value) *Value { return add1("Sigmoid", []*Value{x}, nil) }

// Tanh is the hyperbolic tangent of x, elementwise.
func Tanh(x *Value) *Value { return add1("Tanh", []*Value{x}, nil) }

// Erf is the error function of x, elementwise.
func Erf(x *Value) *Value { return add1("Erf", []*Value{x}, nil) }

// Cos is the cosine of x (radians), elementwise.
func Cos(x *Value) *Value { return add1("Cos", []*Value{x}, nil) }

// Sin is the sine of x (radians), elementwise.
func Sin(x *Value) *Value { return add1("Sin", []*Value{x}, nil) }

// Not is the logical negation of bool x, elementwise.
func Not(x *Value) *Value { return add1("Not", []*Value{x}, nil) }

// Identity is x itself, as a new node, elementwise.
func Identity(x *Value) *Value { return add1("Identity", []*Value{x}, nil) }

// Where selects x where cond is true, else y.
func Where(cond, x, y *Value) *Value { return add1("Where", []*Value{cond, x, y}, nil) }

// Cast converts x to dtype to.
func Cast(x *Value, to DType) *Value {
	if x.DType == to {
		return x
	}
	return add1("Cast", []*Value{x}, Attrs{"to": int64(to)})
}

// Clip clamps x to [lo, hi]; either bound may be nil.
func Clip(x, lo, hi *Value) *Value {
	ins := []*Value{x, lo, hi}
	for len(ins) > 1 && ins[len(ins)-1] == nil {
		ins = ins[:len(ins)-1]
	}
	return add1("Clip", ins, nil)
}

// GemmOptions are Gemm's attributes. The zero value is the plain product
// a·b (+ c).
type GemmOptions struct {
	// TransA and TransB use the transpose of a or b: op(x) is x or xᵀ.
	TransA, TransB bool
	// Alpha scales op(a)·op(b) and Beta scales c; 0 means ONNX's default 1.
	Alpha, Beta float32
}

// Gemm computes Alpha·op(a)·op(b) + Beta·c for matrices a and b; c may be
// nil and otherwise broadcasts to the result.
func Gemm(a, b, c *Value, opts GemmOptions) *Value {
	alpha, beta := opts.Alpha, opts.Beta
	if alpha == 0 {
		alpha = 1
	}
	ins := []*Value{a, b}
	if c != nil {
		ins = append(ins, c)
		if beta == 0 {
			beta = 1
		}
	} else {
		beta = 0 // no c: written as 0, which ONNX Runtime ignores
	}
	return add1("Gemm", ins, Attrs{"transA": b2i(opts.TransA), "transB": b2i(opts.TransB), "alpha": alpha, "beta": beta})
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func mustAxis(op string, axis, rank int) int64 {
	a, err := normAxis(int64(axis), rank)
	if err != nil {
		fail(op, "", "%v", err)
	}
	return int64(a)
}

func mustAxes(op string, axes []int, rank int) []int64 {
	out := make([]int64, len(axes))
	for i, a := range axes {
		out[i] = mustAxis(op, a, rank)
	}
	return out
}

// Softmax along axis.
func Softmax(x *Value, axis int) *Value {
	return add1("Softmax", []*Value{x}, Attrs{"axis": mustAxis("Softmax", axis, x.Rank())})
}

// LogSoftmax along axis.
func LogSoftmax(x *Value, axis int) *Value {
	return add1("LogSoftmax", []*Value{x}, Attrs{"axis": mustAxis("LogSoftmax", axis, x.Rank())})
}

// ReduceSum over axes (all axes when empty).
func ReduceSum(x *Value, axes []int, keepDims bool) *Value {
	ins := []*Value{x}
	if len(axes) > 0 {
		ins = append(ins, ConstInts(x.g, mustAxes("ReduceSum", axes, x.Rank())...))
	}
	return add1("ReduceSum", ins, Attrs{"keepdims": b2i(keepDims)})
}

func reduceAttr(op string, x *Value, axes []int, keepDims bool) *Value {
	attrs := Attrs{"keepdims": b2i(keepDims)}
	if len(axes) > 0 {
		attrs["axes"] = mustAxes(op, axes, x.Rank())
	}
	return add1(op, []*Value{x}, attrs)
}

// ReduceMean over axes (all when empty).
func ReduceMean(x *Value, axes []int, keepDims bool) *Value {
	return reduceAttr("ReduceMean", x, axes, keepDims)
}

// ReduceMax over axes (all when empty).
func ReduceMax(x *Value, axes []int, keepDims bool) *Value {
	return reduceAttr("ReduceMax", x, axes, keepDims)
}

// CumSum along axis.
func CumSum(x *Value, axis int, exclusive, reverse bool) *Value {
	return add1("CumSum", []*Value{x, ConstInts(x.g, mustAxis("CumSum", axis, x.Rank()))},
		Attrs{"exclusive": b2i(exclusive), "reverse": b2i(reverse)})
}

// Reshape to a constant target (0 copies the input dim, -1 is inferred).
func Reshape(x *Value, dims ...int64) *Value {
	return add1("Reshape", []*Value{x, ConstInts(x.g, dims...)}, nil)
}

// ReshapeTo reshapes to a runtime shape tensor (e.g. from ShapeOf).
func ReshapeTo(x, shape *Value) *Value { return add1("Reshape", []*Value{x, shape}, nil) }

// ReshapeLike reshapes to a shape that may have symbolic dims, building the
// target from Shape(ref) where needed.
func ReshapeLike(x *Value, target Shape, ref *Value) *Value {
	return ReshapeTo(x, ShapeTensor(target, ref))
}

// Transpose permutes axes (no perm: reverse them, as ONNX does).
func Transpose(x *Value, perm ...int) *Value {
	if len(perm) == 0 {
		return add1("Transpose", []*Value{x}, nil)
	}
	p := make([]int64, len(perm))
	for i, a := range perm {
		p[i] = int64(a)
	}
	return add1("Transpose", []*Value{x}, Attrs{"perm": p})
}

// Concat joins along axis.
func Concat(axis int, xs ...*Value) *Value {
	if len(xs) == 0 {
		fail("Concat", "", "no inputs")
	}
	return add1("Concat", xs, Attrs{"axis": mustAxis("Concat", axis, xs[0].Rank())})
}

// Slice takes x[starts:ends:steps] along axes (steps nil means 1).
func Slice(x *Value, starts, ends []int64, axes []int, steps []int64) *Value {
	ins := []*Value{x, ConstInts(x.g, starts...), ConstInts(x.g, ends...)}
	ins = append(ins, ConstInts(x.g, mustAxes("Slice", axes, x.Rank())...))
	if steps != nil {
		ins = append(ins, ConstInts(x.g, steps...))
	}
	return add1("Slice", ins, nil)
}

// SliceTo takes x[start:end] along axis with runtime bounds (1-element int64
// tensors), e.g. a RoPE table cut to the sequence length.
func SliceTo(x *Value, axis int, start, end *Value) *Value {
	return add1("Slice", []*Value{x, start, end, ConstInts(x.g, mustAxis("Slice", axis, x.Rank()))}, nil)
}

// Split cuts x along axis into pieces of the given sizes.
func Split(x *Value, axis int, sizes ...int64) []*Value {
	return x.g.AddNode("Split", []*Value{x, ConstInts(x.g, sizes...)}, Attrs{"axis": mustAxis("Split", axis, x.Rank())})
}

// Squeeze removes size-1 axes.
func Squeeze(x *Value, axes ...int) *Value {
	return add1("Squeeze", []*Value{x, ConstInts(x.g, mustAxes("Squeeze", axes, x.Rank())...)}, nil)
}

// Unsqueeze inserts size-1 axes (positions in the output).
func Unsqueeze(x *Value, axes ...int) *Value {
	return add1("Unsqueeze", []*Value{x, ConstInts(x.g, mustAxes("Unsqueeze", axes, x.Rank()+len(axes))...)}, nil)
}

// Expand broadcasts x to the runtime shape tensor.
func Expand(x, shape *Value) *Value { return add1("Expand", []*Value{x, shape}, nil) }

// Gather takes slices of x along axis at indices.
func Gather(x, indices *Value, axis int) *Value {
	return add1("Gather", []*Value{x, indices}, Attrs{"axis": mustAxis("Gather", axis, x.Rank())})
}

// GatherElements picks x[..., indices, ...] elementwise along axis.
func GatherElements(x, indices *Value, axis int) *Value {
	return add1("GatherElements", []*Value{x, indices}, Attrs{"axis": mustAxis("GatherElements", axis, x.Rank())})
}

// ScatterElementsAdd adds updates into a copy of data at indices along axis.
func ScatterElementsAdd(data, indices, updates *Value, axis int) *Value {
	return add1("ScatterElements", []*Value{data, indices, updates},
		Attrs{"axis": mustAxis("ScatterElements", axis, data.Rank()), "reduction": "add"})
}

// ScatterNDAdd adds updates into a copy of data at the index tuples.
func ScatterNDAdd(data, indices, updates *Value) *Value {
	return add1("ScatterND", []*Value{data, indices, updates}, Attrs{"reduction": "add"})
}

// Trilu keeps the upper (or lower) triangle of the last two dims, offset k.
func Trilu(x *Value, k int64, upper bool) *Value {
	return add1("Trilu", []*Value{x, ConstInts(x.g, k)}, Attrs{"upper": b2i(upper)})
}

// ShapeOf returns x's runtime shape as an int64 vector.
func ShapeOf(x *Value) *Value { return add1("Shape", []*Value{x}, nil) }

// DimOf returns x's runtime size along axis as a 1-element int64 vector.
func DimOf(x *Value, axis int) *Value {
	a := mustAxis("Shape", axis, x.Rank())
	return add1("Shape", []*Value{x}, Attrs{"start": a, "end": a + 1})
}

// ShapeTensor builds a runtime int64 shape for target: static dims become
// constants and each symbolic dim is read from the graph inputs' shapes
// (see Graph.symbolSize) or, failing that, from ref's shape (it must then
// be one of ref's dims). Consecutive static runs are merged to keep the
// graph small.
func ShapeTensor(target Shape, ref *Value) *Value {
	shape, missing := shapeFromInputs(ref.g, target, ref)
	if missing != (Dim{}) {
		fail("Shape", "", "symbolic dim %s of target %s is neither a dim of a graph input nor of %s", missing, target, ref)
	}
	return shape
}

// shapeLike is x's runtime shape: a constant when static, and otherwise
// Shape(x) only when the symbolic dims cannot be read elsewhere: gradient
// code asks for the shapes of forward activations, and a Shape node in the
// backward pass keeps its (large) input alive until then. Measured on the
// d=512/L=8 training step, those Shape nodes held ~40% of peak memory.
func shapeLike(x *Value) *Value {
	if shape, missing := shapeFromInputs(x.g, x.Shape, nil); missing == (Dim{}) {
		return shape
	}
	return ShapeOf(x)
}

// shapeFromInputs builds target from constants, the graph inputs' symbolic
// sizes and (when ref is non-nil) ref's dims. It returns the first dim it
// cannot build instead of failing, so callers can fall back.
func shapeFromInputs(g *Graph, target Shape, ref *Value) (*Value, Dim) {
	if dims, ok := target.Static(); ok {
		return ConstInts(g, dims...), Dim{}
	}
	key := target.String()
	if v, ok := g.shapeTensors[key]; ok {
		return v, Dim{}
	}
	fromInputsOnly := true
	var parts []*Value
	var pending []int64
	flush := func() {
		if pending != nil {
			parts = append(parts, ConstInts(g, pending...))
			pending = nil
		}
	}
	for _, d := range target {
		if n, ok := d.Size(); ok {
			pending = append(pending, n)
			continue
		}
		part, fromRef := g.dimSize(d, ref)
		if part == nil {
			return nil, d
		}
		fromInputsOnly = fromInputsOnly && !fromRef
		flush()
		parts = append(parts, part)
	}
	flush()
	shape := parts[0]
	if len(parts) > 1 {
		shape = Concat(0, parts...)
	}
	if fromInputsOnly {
		if g.shapeTensors == nil {
			g.shapeTensors = map[string]*Value{}
		}
		g.shapeTensors[key] = shape
	}
	return shape, Dim{}
}

// dimSize is a 1-element int64 tensor holding symbolic dim d at run time:
// the product of its symbols' sizes from the graph inputs, or ref's dim
// equal to d (fromRef); nil when neither has it.
func (g *Graph) dimSize(d Dim, ref *Value) (size *Value, fromRef bool) {
	for _, sym := range d.symList() {
		s := g.symbolSize(sym)
		if s == nil {
			size = nil
			break
		}
		if size == nil {
			size = s
		} else {
			size = Mul(size, s)
		}
	}
	if size != nil {
		if d.coef != 1 {
			size = Mul(size, ConstInts(g, d.coef))
		}
		return size, false
	}
	if ref != nil {
		for i, rd := range ref.Shape {
			if rd == d {
				return DimOf(ref, i), true
			}
		}
	}
	return nil, false
}

// symbolSize reads symbol sym's runtime size from the first graph input
// with a dim of exactly that symbol, once per graph. Inputs stay alive for
// the whole run, so reading shapes from them costs no memory.
func (g *Graph) symbolSize(sym string) *Value {
	if v, ok := g.symbolSizes[sym]; ok {
		return v
	}
	want := Sym(sym)
	for _, in := range g.inputs {
		for axis, d := range in.Shape {
			if d == want {
				v := DimOf(in, axis)
				if g.symbolSizes == nil {
					g.symbolSizes = map[string]*Value{}
				}
				g.symbolSizes[sym] = v
				return v
			}
		}
	}
	return nil
}

// Const adds a Constant node holding data.
func Const(g *Graph, data *Data) *Value {
	return g.AddNode("Constant", nil, Attrs{"value": data})[0]
}

// ConstInts adds an int64 vector constant.
func ConstInts(g *Graph, vals ...int64) *Value {
	return Const(g, NewData([]int64{int64(len(vals))}, vals))
}

// Scalar adds a rank-0 constant of dtype dt holding x.
func Scalar(g *Graph, dt DType, x float64) *Value {
	return Const(g, scalarData(dt, x))
}

// ScalarLike adds a rank-0 constant with v's dtype.
func ScalarLike(v *Value, x float64) *Value { return Scalar(v.g, v.DType, x) }

func scalarData(dt DType, x float64) *Data {
	switch dt {
	case Float32:
		return NewData(nil, []float32{float32(x)})
	case Float64:
		return NewData(nil, []float64{x})
	case Int64:
		return NewData(nil, []int64{int64(x)})
	case Int32:
		return NewData(nil, []int32{int32(x)})
	case Bool:
		return NewData(nil, []bool{x != 0})
	case Float16, BFloat16:
		raw := make([]byte, 2)
		bits := Float32ToBF16(float32(x))
		if dt == Float16 {
			bits = Float32ToF16(float32(x))
		}
		binary.LittleEndian.PutUint16(raw, bits)
		d, _ := RawData(dt, nil, raw)
		return d
	}
	fail("Constant", "", "no scalar of dtype %s", dt)
	return nil
}

// Pad adds zeros: pads lists the counts before each axis, then after each.
func Pad(x *Value, pads ...int64) *Value {
	return add1("Pad", []*Value{x, ConstInts(x.g, pads...)}, Attrs{"mode": "constant"})
}

// GatherND picks slices of x at the index tuples in the last axis of indices.
func GatherND(x, indices *Value) *Value { return add1("GatherND", []*Value{x, indices}, nil) }

// ZerosLike returns zeros with x's dtype and shape.
func ZerosLike(x *Value) *Value {
	return Expand(ScalarLike(x, 0), shapeLike(x))
}
