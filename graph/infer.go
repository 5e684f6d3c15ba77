package graph

import (
	"fmt"
	"maps"
	"slices"
)

// outSpec is what shape inference says about one node output.
type outSpec struct {
	dtype DType
	shape Shape
	known []Dim
}

// opDef describes an op the IR supports: input arity and its shape/dtype
// inference, which runs when the node is added so a mismatch is reported
// at the line that built it.
type opDef struct {
	minInputs, maxInputs int // maxInputs -1: variadic
	infer                func(n *Node) ([]outSpec, error)
}

// opTable is the single registry of supported ONNX ops (opset 17
// semantics).
var opTable = map[string]opDef{
	// Elementwise, one input.
	"Sqrt": {1, 1, inferFloatUnary}, "Reciprocal": {1, 1, inferFloatUnary}, "Exp": {1, 1, inferFloatUnary},
	"Log": {1, 1, inferFloatUnary}, "Relu": {1, 1, inferFloatUnary}, "Sigmoid": {1, 1, inferFloatUnary},
	"Tanh": {1, 1, inferFloatUnary}, "Erf": {1, 1, inferFloatUnary}, "Cos": {1, 1, inferFloatUnary}, "Sin": {1, 1, inferFloatUnary},
	"Neg": {1, 1, inferNumericUnary}, "Abs": {1, 1, inferNumericUnary}, "Sign": {1, 1, inferNumericUnary},
	"Not":      {1, 1, inferNot},
	"Identity": {1, 1, inferIdentity},
	"Cast":     {1, 1, inferCast},
	"Clip":     {1, 3, inferClip},
	// Elementwise with numpy broadcasting.
	"Add": {2, 2, inferBroadcast}, "Sub": {2, 2, inferBroadcast}, "Mul": {2, 2, inferBroadcast},
	"Div": {2, 2, inferBroadcast}, "Pow": {2, 2, inferBroadcast},
	"Max": {1, -1, inferBroadcast}, "Min": {1, -1, inferBroadcast},
	"Equal": {2, 2, inferCompare}, "Less": {2, 2, inferCompare}, "Greater": {2, 2, inferCompare},
	"Where": {3, 3, inferWhere},
	// Products, normalisations and reductions.
	"MatMul": {2, 2, inferMatMul},
	"Gemm":   {2, 3, inferGemm},
	// ONNX Runtime contrib op (opDomains): the int8 backbone.
	"DynamicQuantizeMatMul": {3, 5, inferDynamicQuantizeMatMul},
	"Softmax":               {1, 1, inferSoftmax},
	"LogSoftmax":            {1, 1, inferSoftmax},
	"ReduceSum":             {1, 2, inferReduce},
	"ReduceMean":            {1, 1, inferReduce},
	"ReduceMax":             {1, 1, inferReduce},
	"CumSum":                {2, 2, inferCumSum},
	// Layout.
	"Reshape":   {2, 2, inferReshape},
	"Transpose": {1, 1, inferTranspose},
	"Concat":    {1, -1, inferConcat},
	"Slice":     {3, 5, inferSlice},
	"Split":     {1, 2, inferSplit},
	"Squeeze":   {1, 2, inferSqueeze},
	"Unsqueeze": {2, 2, inferUnsqueeze},
	"Expand":    {2, 2, inferExpand},
	"Pad":       {2, 3, inferPad},
	"Trilu":     {1, 2, inferTrilu},
	// Indexing.
	"Gather":          {2, 2, inferGather},
	"GatherElements":  {2, 2, inferGatherElements},
	"GatherND":        {2, 2, inferGatherND},
	"ScatterElements": {3, 3, inferScatterElements},
	"ScatterND":       {3, 3, inferScatterND},
	// Constants and shapes.
	"Constant": {0, 0, inferConstant},
	"Shape":    {1, 1, inferShape},
}

// SupportedOps lists the op types the IR can build, sorted.
func SupportedOps() []string { return slices.Sorted(maps.Keys(opTable)) }

func one(dt DType, s Shape) ([]outSpec, error) { return []outSpec{{dtype: dt, shape: s}}, nil }

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(axis int64, rank int) (int, error) {
	a := axis
	if a < 0 {
		a += int64(rank)
	}
	if a < 0 || a >= int64(rank) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	return int(a), nil
}

// constInts returns the static content of an int tensor (a constant or a
// value with fully static known content).
func constInts(v *Value) ([]int64, bool) {
	if v == nil {
		return nil, false
	}
	if v.known != nil {
		out := make([]int64, len(v.known))
		for i, d := range v.known {
			n, ok := d.Size()
			if !ok {
				return nil, false
			}
			out[i] = n
		}
		return out, true
	}
	return nil, false
}

// knownDims returns the (possibly symbolic) content of a 1-D int64 tensor.
func knownDims(v *Value) ([]Dim, bool) {
	if v == nil || v.known == nil {
		return nil, false
	}
	return v.known, true
}

func requireFloat(v *Value) error {
	if !v.DType.IsFloat() {
		return fmt.Errorf("needs a floating-point input, got %s", v.DType)
	}
	return nil
}

func sameDType(vs ...*Value) error {
	var first *Value
	for _, v := range vs {
		if v == nil {
			continue
		}
		if first == nil {
			first = v
		} else if v.DType != first.DType {
			return fmt.Errorf("dtype mismatch: %s is %s but %s is %s", first.name, first.DType, v.name, v.DType)
		}
	}
	return nil
}

// inferFloatUnary: elementwise ops on floating-point values.
func inferFloatUnary(n *Node) ([]outSpec, error) {
	x := n.Inputs[0]
	if err := requireFloat(x); err != nil {
		return nil, err
	}
	return one(x.DType, x.Shape.Clone())
}

// inferNumericUnary: elementwise ops on any number (not bool).
func inferNumericUnary(n *Node) ([]outSpec, error) {
	x := n.Inputs[0]
	if x.DType == Bool {
		return nil, fmt.Errorf("needs a numeric input, got bool")
	}
	return one(x.DType, x.Shape.Clone())
}

// inferBroadcast: elementwise ops with numpy broadcasting, output of the
// inputs' dtype. Mul also tracks the product of two known sizes.
func inferBroadcast(n *Node) ([]outSpec, error) {
	s, err := broadcastInputs(n)
	if err != nil {
		return nil, err
	}
	spec := outSpec{dtype: n.Inputs[0].DType, shape: s}
	if n.Op == "Mul" {
		spec.known = knownProduct(n.Inputs[0], n.Inputs[1])
	}
	return []outSpec{spec}, nil
}

// inferCompare: broadcasting comparisons, bool output.
func inferCompare(n *Node) ([]outSpec, error) {
	s, err := broadcastInputs(n)
	if err != nil {
		return nil, err
	}
	return one(Bool, s)
}

// broadcastInputs is the broadcast shape of n's inputs, which must share a
// dtype.
func broadcastInputs(n *Node) (Shape, error) {
	if err := sameDType(n.Inputs...); err != nil {
		return nil, err
	}
	shapes := make([]Shape, len(n.Inputs))
	for i, in := range n.Inputs {
		shapes[i] = in.Shape
	}
	return broadcastShapes(shapes...)
}

// knownProduct multiplies two 1-element shape vectors (a symbolic size
// times another, as dimSize builds "batch*seq"), keeping the result exact.
func knownProduct(a, b *Value) []Dim {
	ka, okA := knownDims(a)
	kb, okB := knownDims(b)
	if !okA || !okB || len(ka) != 1 || len(kb) != 1 {
		return nil
	}
	return []Dim{ka[0].Mul(kb[0])}
}

func inferNot(n *Node) ([]outSpec, error) {
	if n.Inputs[0].DType != Bool {
		return nil, fmt.Errorf("needs a bool input, got %s", n.Inputs[0].DType)
	}
	return one(Bool, n.Inputs[0].Shape.Clone())
}

func inferIdentity(n *Node) ([]outSpec, error) {
	x := n.Inputs[0]
	return []outSpec{{dtype: x.DType, shape: x.Shape.Clone(), known: x.known}}, nil
}

func inferWhere(n *Node) ([]outSpec, error) {
	c, x, y := n.Inputs[0], n.Inputs[1], n.Inputs[2]
	if c.DType != Bool {
		return nil, fmt.Errorf("condition must be bool, got %s", c.DType)
	}
	if err := sameDType(x, y); err != nil {
		return nil, err
	}
	s, err := broadcastShapes(c.Shape, x.Shape, y.Shape)
	if err != nil {
		return nil, err
	}
	return one(x.DType, s)
}

func inferCast(n *Node) ([]outSpec, error) {
	to := DType(n.Attrs.Int("to", 0))
	if !to.Valid() {
		return nil, fmt.Errorf("unsupported target dtype %d", n.Attrs.Int("to", 0))
	}
	x := n.Inputs[0]
	var known []Dim
	if to.IsInt() {
		known = x.known
	}
	return []outSpec{{dtype: to, shape: x.Shape.Clone(), known: known}}, nil
}

func inferClip(n *Node) ([]outSpec, error) {
	if err := sameDType(n.Inputs...); err != nil {
		return nil, err
	}
	for _, b := range n.Inputs[1:] {
		if b != nil && b.Rank() != 0 {
			return nil, fmt.Errorf("min/max must be scalars, got shape %s", b.Shape)
		}
	}
	return one(n.Inputs[0].DType, n.Inputs[0].Shape.Clone())
}

func inferCumSum(n *Node) ([]outSpec, error) {
	x := n.Inputs[0]
	ax, ok := constInts(n.Inputs[1])
	if !ok || len(ax) != 1 {
		return nil, fmt.Errorf("axis must be a constant scalar")
	}
	if _, err := normAxis(ax[0], x.Rank()); err != nil {
		return nil, err
	}
	return one(x.DType, x.Shape.Clone())
}

func inferTranspose(n *Node) ([]outSpec, error) {
	x := n.Inputs[0]
	perm := n.Attrs.Ints("perm")
	if perm == nil {
		for i := x.Rank() - 1; i >= 0; i-- {
			perm = append(perm, int64(i))
		}
	}
	if len(perm) != x.Rank() {
		return nil, fmt.Errorf("perm %v has wrong length for rank %d", perm, x.Rank())
	}
	seen := make([]bool, x.Rank())
	out := make(Shape, x.Rank())
	for i, p := range perm {
		if p < 0 || int(p) >= x.Rank() || seen[p] {
			return nil, fmt.Errorf("perm %v is not a permutation", perm)
		}
		seen[p] = true
		out[i] = x.Shape[p]
	}
	return one(x.DType, out)
}

func inferExpand(n *Node) ([]outSpec, error) {
	target, ok := knownDims(n.Inputs[1])
	if !ok {
		return nil, fmt.Errorf("target shape must be a constant or derived from Shape")
	}
	s, err := broadcastShapes(n.Inputs[0].Shape, Shape(target))
	if err != nil {
		return nil, err
	}
	return one(n.Inputs[0].DType, s)
}

func inferGatherElements(n *Node) ([]outSpec, error) {
	x, idx := n.Inputs[0], n.Inputs[1]
	if !idx.DType.IsInt() {
		return nil, fmt.Errorf("indices must be int32/int64, got %s", idx.DType)
	}
	if idx.Rank() != x.Rank() {
		return nil, fmt.Errorf("indices rank %d != data rank %d", idx.Rank(), x.Rank())
	}
	if _, err := normAxis(n.Attrs.Int("axis", 0), x.Rank()); err != nil {
		return nil, err
	}
	return one(x.DType, idx.Shape.Clone())
}

func inferScatterElements(n *Node) ([]outSpec, error) {
	data, idx, upd := n.Inputs[0], n.Inputs[1], n.Inputs[2]
	if err := sameDType(data, upd); err != nil {
		return nil, err
	}
	if !idx.DType.IsInt() || idx.Rank() != data.Rank() || !idx.Shape.Equal(upd.Shape) {
		return nil, fmt.Errorf("indices (%s%s) and updates (%s) must have equal shapes of the data's rank", idx.DType, idx.Shape, upd.Shape)
	}
	if _, err := normAxis(n.Attrs.Int("axis", 0), data.Rank()); err != nil {
		return nil, err
	}
	return one(data.DType, data.Shape.Clone())
}

func inferScatterND(n *Node) ([]outSpec, error) {
	data, idx, upd := n.Inputs[0], n.Inputs[1], n.Inputs[2]
	if err := sameDType(data, upd); err != nil {
		return nil, err
	}
	k, err := indexTupleLen(idx, data)
	if err != nil {
		return nil, err
	}
	want := append(idx.Shape[:idx.Rank()-1].Clone(), data.Shape[k:]...)
	if !want.Equal(upd.Shape) {
		return nil, fmt.Errorf("updates shape %s, want %s", upd.Shape, want)
	}
	return one(data.DType, data.Shape.Clone())
}

func inferTrilu(n *Node) ([]outSpec, error) {
	x := n.Inputs[0]
	if x.Rank() < 2 {
		return nil, fmt.Errorf("needs rank >= 2, got %d", x.Rank())
	}
	return one(x.DType, x.Shape.Clone())
}

func inferConstant(n *Node) ([]outSpec, error) {
	d, ok := n.Attrs["value"].(*Data)
	if !ok {
		return nil, fmt.Errorf("needs a tensor attribute \"value\"")
	}
	spec := outSpec{dtype: d.DType, shape: StaticShape(d.Dims)}
	if d.DType == Int64 && len(d.Dims) <= 1 && NumElements(d.Dims) <= 16 {
		vals, err := d.Int64s()
		if err != nil {
			return nil, err
		}
		spec.known = make([]Dim, len(vals))
		for i, v := range vals {
			spec.known[i] = D(v)
		}
	}
	return []outSpec{spec}, nil
}

func inferShape(n *Node) ([]outSpec, error) {
	x := n.Inputs[0]
	start, end := n.Attrs.Int("start", 0), n.Attrs.Int("end", int64(x.Rank()))
	if start < 0 {
		start += int64(x.Rank())
	}
	if end < 0 {
		end += int64(x.Rank())
	}
	start, end = max(0, min(start, int64(x.Rank()))), max(0, min(end, int64(x.Rank())))
	end = max(end, start)
	known := append([]Dim{}, x.Shape[start:end]...)
	return []outSpec{{dtype: Int64, shape: S(int(end - start)), known: known}}, nil
}

func inferSoftmax(n *Node) ([]outSpec, error) {
	x := n.Inputs[0]
	if err := requireFloat(x); err != nil {
		return nil, err
	}
	if _, err := normAxis(n.Attrs.Int("axis", -1), x.Rank()); err != nil {
		return nil, err
	}
	return one(x.DType, x.Shape.Clone())
}

func inferMatMul(n *Node) ([]outSpec, error) {
	a, b := n.Inputs[0], n.Inputs[1]
	if err := sameDType(a, b); err != nil {
		return nil, err
	}
	if a.Rank() < 2 || b.Rank() < 2 {
		return nil, fmt.Errorf("operands need rank >= 2 (got %s and %s)", a.Shape, b.Shape)
	}
	k1, k2 := a.Shape[a.Rank()-1], b.Shape[b.Rank()-2]
	if k1 != k2 {
		return nil, fmt.Errorf("inner dims differ: %s x %s", a.Shape, b.Shape)
	}
	batch, err := broadcastShapes(a.Shape[:a.Rank()-2], b.Shape[:b.Rank()-2])
	if err != nil {
		return nil, err
	}
	return one(a.DType, append(batch, a.Shape[a.Rank()-2], b.Shape[b.Rank()-1]))
}

func inferGemm(n *Node) ([]outSpec, error) {
	a, b := n.Inputs[0], n.Inputs[1]
	if err := sameDType(n.Inputs...); err != nil {
		return nil, err
	}
	if a.Rank() != 2 || b.Rank() != 2 {
		return nil, fmt.Errorf("operands must be matrices (got %s and %s)", a.Shape, b.Shape)
	}
	m, k1 := a.Shape[0], a.Shape[1]
	if n.Attrs.Int("transA", 0) != 0 {
		m, k1 = k1, m
	}
	k2, cols := b.Shape[0], b.Shape[1]
	if n.Attrs.Int("transB", 0) != 0 {
		k2, cols = cols, k2
	}
	if k1 != k2 {
		return nil, fmt.Errorf("inner dims differ: %s x %s (transA=%d transB=%d)", a.Shape, b.Shape, n.Attrs.Int("transA", 0), n.Attrs.Int("transB", 0))
	}
	out := Shape{m, cols}
	if len(n.Inputs) > 2 && n.Inputs[2] != nil {
		s, err := broadcastShapes(out, n.Inputs[2].Shape)
		if err != nil || !s.Equal(out) {
			return nil, fmt.Errorf("C shape %s does not broadcast to %s", n.Inputs[2].Shape, out)
		}
	}
	return one(a.DType, out)
}

// reduceAxes reads the axes of a reduction: input 1 for ReduceSum, the
// "axes" attribute for ReduceMean/ReduceMax (opset 17).
func reduceAxes(n *Node) ([]int, error) {
	x := n.Inputs[0]
	var raw []int64
	if n.Op == "ReduceSum" {
		if len(n.Inputs) > 1 && n.Inputs[1] != nil {
			var ok bool
			if raw, ok = constInts(n.Inputs[1]); !ok {
				return nil, fmt.Errorf("axes must be a constant")
			}
		}
	} else {
		raw = n.Attrs.Ints("axes")
	}
	if len(raw) == 0 {
		if n.Attrs.Int("noop_with_empty_axes", 0) != 0 {
			return nil, nil
		}
		return firstAxes[int](x.Rank()), nil
	}
	axes := make([]int, len(raw))
	for i, a := range raw {
		na, err := normAxis(a, x.Rank())
		if err != nil {
			return nil, err
		}
		axes[i] = na
	}
	return axes, nil
}

func inferReduce(n *Node) ([]outSpec, error) {
	x := n.Inputs[0]
	axes, err := reduceAxes(n)
	if err != nil {
		return nil, err
	}
	keep := n.Attrs.Int("keepdims", 1) != 0
	reduced := make([]bool, x.Rank())
	for _, a := range axes {
		reduced[a] = true
	}
	var out Shape
	for i, d := range x.Shape {
		switch {
		case !reduced[i]:
			out = append(out, d)
		case keep:
			out = append(out, D(1))
		}
	}
	if out == nil {
		out = Shape{}
	}
	return one(x.DType, out)
}

func inferReshape(n *Node) ([]outSpec, error) {
	x := n.Inputs[0]
	target, ok := knownDims(n.Inputs[1])
	if !ok {
		return nil, fmt.Errorf("target shape must be a constant or derived from Shape")
	}
	out := make(Shape, len(target))
	inferAt := -1
	known := D(1)
	for i, d := range target {
		switch {
		case d.Is(0):
			if i >= x.Rank() {
				return nil, fmt.Errorf("0 at position %d copies a dim the input (rank %d) lacks", i, x.Rank())
			}
			out[i] = x.Shape[i]
		case d.Is(-1):
			if inferAt >= 0 {
				return nil, fmt.Errorf("target shape has more than one -1")
			}
			inferAt = i
			continue
		default:
			if n, ok := d.Size(); ok && n < 0 {
				return nil, fmt.Errorf("negative target dim %d", n)
			}
			out[i] = d
		}
		known = known.Mul(out[i])
	}
	total := x.Shape.NumElements()
	if inferAt >= 0 {
		rest, ok := total.Div(known)
		if !ok {
			return nil, fmt.Errorf("cannot reshape %s to %v: %s is not divisible by %s", x.Shape, Shape(target), total, known)
		}
		out[inferAt] = rest
	} else if known != total {
		return nil, fmt.Errorf("cannot reshape %s (%s elements) to %s (%s elements)", x.Shape, total, out, known)
	}
	return []outSpec{{dtype: x.DType, shape: out, known: reshapeKnown(x, out)}}, nil
}

func reshapeKnown(x *Value, out Shape) []Dim {
	if x.known != nil && out.Rank() <= 1 {
		return x.known
	}
	return nil
}

func inferConcat(n *Node) ([]outSpec, error) {
	first := n.Inputs[0]
	if err := sameDType(n.Inputs...); err != nil {
		return nil, err
	}
	axis, err := normAxis(n.Attrs.Int("axis", 0), first.Rank())
	if err != nil {
		return nil, err
	}
	out := first.Shape.Clone()
	var known []Dim
	trackKnown := first.Rank() == 1
	for i, in := range n.Inputs {
		if in.Rank() != first.Rank() {
			return nil, fmt.Errorf("input %d has rank %d, want %d", i, in.Rank(), first.Rank())
		}
		for d := range in.Shape {
			if d != axis && in.Shape[d] != first.Shape[d] {
				return nil, fmt.Errorf("input %d shape %s differs from %s off the concat axis", i, in.Shape, first.Shape)
			}
		}
		if i > 0 {
			out[axis] = addDims(out[axis], in.Shape[axis])
		}
		if trackKnown && in.known != nil {
			known = append(known, in.known...)
		} else {
			trackKnown = false
		}
	}
	if !trackKnown {
		known = nil
	}
	if out[axis].syms == "?" {
		return nil, fmt.Errorf("cannot concatenate symbolic dims along axis %d", axis)
	}
	return []outSpec{{dtype: first.DType, shape: out, known: known}}, nil
}

// addDims adds two dims; the sum of distinct symbolic dims is not
// representable, which Concat reports.
func addDims(a, b Dim) Dim {
	if a.syms == b.syms && a.syms != "?" {
		return Dim{coef: a.coef + b.coef, syms: a.syms}
	}
	return Dim{coef: 1, syms: "?"}
}

// sliceDim computes the length of x[start:end:step] along a dim, exactly
// for static dims and for the common symbolic cases (whole dim, a static
// prefix, or [0:symbolic end]).
func sliceDim(d Dim, start, end Dim, step int64) (Dim, error) {
	const big = int64(1) << 60
	if step == 0 {
		return Dim{}, fmt.Errorf("step 0")
	}
	if n, ok := d.Size(); ok {
		s, sok := start.Size()
		e, eok := end.Size()
		if sok && s == 0 && !eok {
			// A table cut to a runtime length (RoPE [max_pos] -> [seq]):
			// the length is the symbolic end, assumed to fit.
			return end, nil
		}
		if !sok || !eok {
			return Dim{}, fmt.Errorf("symbolic bounds on a static dim")
		}
		clamp := func(v, lo, hi int64) int64 { return max(lo, min(v, hi)) }
		if s < 0 {
			s += n
		}
		if e < 0 {
			e += n
		}
		if step > 0 {
			s, e = clamp(s, 0, n), clamp(e, 0, n)
			if e <= s {
				return D(0), nil
			}
			return D((e - s + step - 1) / step), nil
		}
		if n == 0 {
			return D(0), nil
		}
		s, e = clamp(s, 0, n-1), clamp(e, -1, n-1)
		if s <= e {
			return D(0), nil
		}
		return D((s - e + (-step) - 1) / (-step)), nil
	}
	if step != 1 {
		return Dim{}, fmt.Errorf("non-unit step on symbolic dim %s", d)
	}
	s, sok := start.Size()
	e, eok := end.Size()
	switch {
	case sok && s == 0 && eok && e >= big/8:
		return d, nil
	case sok && s == 0 && end == d:
		return d, nil
	case sok && s == 0 && !eok:
		return end, nil // slicing a table [0:seq] where seq comes from Shape
	case sok && eok && s >= 0 && e >= 0 && e < big/8:
		return D(e - s), nil // a static window, assumed to fit in the dim
	case sok && s > 0 && eok && e >= big/8:
		return Dim{}, fmt.Errorf("cannot infer %s[%d:] symbolically", d, s)
	}
	return Dim{}, fmt.Errorf("cannot infer slice [%s:%s] of symbolic dim %s", start, end, d)
}

// sliceAxes is the axes a Slice node cuts: its axes input, or the first
// count axes when it has none.
func sliceAxes(n *Node, count int) ([]int64, error) {
	if len(n.Inputs) <= 3 || n.Inputs[3] == nil {
		return firstAxes[int64](count), nil
	}
	axes, ok := constInts(n.Inputs[3])
	if !ok || len(axes) != count {
		return nil, fmt.Errorf("axes must be a constant of len %d", count)
	}
	return axes, nil
}

func inferSlice(n *Node) ([]outSpec, error) {
	x := n.Inputs[0]
	starts, ok1 := knownDims(n.Inputs[1])
	ends, ok2 := knownDims(n.Inputs[2])
	if !ok1 || !ok2 || len(starts) != len(ends) {
		return nil, fmt.Errorf("starts/ends must be known and of equal length")
	}
	axes, err := sliceAxes(n, len(starts))
	if err != nil {
		return nil, err
	}
	steps := ones(len(starts))
	if len(n.Inputs) > 4 && n.Inputs[4] != nil {
		s, ok := constInts(n.Inputs[4])
		if !ok || len(s) != len(starts) {
			return nil, fmt.Errorf("steps must be a constant of len %d", len(starts))
		}
		steps = s
	}
	out := x.Shape.Clone()
	for i, a := range axes {
		ax, err := normAxis(a, x.Rank())
		if err != nil {
			return nil, err
		}
		d, err := sliceDim(x.Shape[ax], starts[i], ends[i], steps[i])
		if err != nil {
			return nil, fmt.Errorf("axis %d: %w", ax, err)
		}
		out[ax] = d
	}
	var known []Dim
	if x.known != nil && x.Rank() == 1 && steps[0] == 1 {
		s, sok := starts[0].Size()
		e, eok := ends[0].Size()
		if sok && eok {
			l := int64(len(x.known))
			if s < 0 {
				s += l
			}
			if e < 0 {
				e += l
			}
			s, e = max(0, min(s, l)), max(0, min(e, l))
			if e >= s {
				known = append([]Dim{}, x.known[s:e]...)
			}
		}
	}
	return []outSpec{{dtype: x.DType, shape: out, known: known}}, nil
}

func inferSplit(n *Node) ([]outSpec, error) {
	x := n.Inputs[0]
	axis, err := normAxis(n.Attrs.Int("axis", 0), x.Rank())
	if err != nil {
		return nil, err
	}
	if len(n.Inputs) < 2 || n.Inputs[1] == nil {
		return nil, fmt.Errorf("split sizes input is required by this IR")
	}
	sizes, ok := constInts(n.Inputs[1])
	if !ok {
		return nil, fmt.Errorf("split sizes must be a constant")
	}
	total := int64(0)
	outs := make([]outSpec, len(sizes))
	for i, sz := range sizes {
		s := x.Shape.Clone()
		s[axis] = D(sz)
		outs[i] = outSpec{dtype: x.DType, shape: s}
		total += sz
	}
	if d, ok := x.Shape[axis].Size(); !ok || d != total {
		return nil, fmt.Errorf("split sizes %v do not add up to dim %s", sizes, x.Shape[axis])
	}
	return outs, nil
}

func inferSqueeze(n *Node) ([]outSpec, error) {
	x := n.Inputs[0]
	drop := make([]bool, x.Rank())
	if len(n.Inputs) > 1 && n.Inputs[1] != nil {
		axes, ok := constInts(n.Inputs[1])
		if !ok {
			return nil, fmt.Errorf("axes must be a constant")
		}
		for _, a := range axes {
			ax, err := normAxis(a, x.Rank())
			if err != nil {
				return nil, err
			}
			if !x.Shape[ax].Is(1) {
				return nil, fmt.Errorf("cannot squeeze axis %d of size %s", ax, x.Shape[ax])
			}
			drop[ax] = true
		}
	} else {
		for i, d := range x.Shape {
			drop[i] = d.Is(1)
		}
	}
	out := Shape{}
	for i, d := range x.Shape {
		if !drop[i] {
			out = append(out, d)
		}
	}
	return []outSpec{{dtype: x.DType, shape: out, known: reshapeKnown(x, out)}}, nil
}

func inferUnsqueeze(n *Node) ([]outSpec, error) {
	x := n.Inputs[0]
	axes, ok := constInts(n.Inputs[1])
	if !ok {
		return nil, fmt.Errorf("axes must be a constant")
	}
	rank := x.Rank() + len(axes)
	ins := make([]bool, rank)
	for _, a := range axes {
		ax, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		if ins[ax] {
			return nil, fmt.Errorf("duplicate axis %d", ax)
		}
		ins[ax] = true
	}
	out := make(Shape, 0, rank)
	j := 0
	for i := 0; i < rank; i++ {
		if ins[i] {
			out = append(out, D(1))
		} else {
			out = append(out, x.Shape[j])
			j++
		}
	}
	return []outSpec{{dtype: x.DType, shape: out, known: reshapeKnown(x, out)}}, nil
}

func inferGather(n *Node) ([]outSpec, error) {
	x, idx := n.Inputs[0], n.Inputs[1]
	if !idx.DType.IsInt() {
		return nil, fmt.Errorf("indices must be int32/int64, got %s", idx.DType)
	}
	axis, err := normAxis(n.Attrs.Int("axis", 0), x.Rank())
	if err != nil {
		return nil, err
	}
	out := append(append(x.Shape[:axis].Clone(), idx.Shape...), x.Shape[axis+1:]...)
	var known []Dim
	if x.known != nil && x.Rank() == 1 {
		if ii, ok := constInts(idx); ok && idx.Rank() <= 1 {
			for _, i := range ii {
				if i < 0 {
					i += int64(len(x.known))
				}
				if i < 0 || i >= int64(len(x.known)) {
					return nil, fmt.Errorf("index %d out of range for %d", i, len(x.known))
				}
				known = append(known, x.known[i])
			}
		}
	}
	return []outSpec{{dtype: x.DType, shape: out, known: known}}, nil
}

func inferPad(n *Node) ([]outSpec, error) {
	x := n.Inputs[0]
	if mode := n.Attrs.String("mode", "constant"); mode != "constant" {
		return nil, fmt.Errorf("only constant padding is supported, got %q", mode)
	}
	pads, ok := constInts(n.Inputs[1])
	if !ok || len(pads) != 2*x.Rank() {
		return nil, fmt.Errorf("pads must be a constant of length %d", 2*x.Rank())
	}
	out := x.Shape.Clone()
	for i := range out {
		before, after := pads[i], pads[i+x.Rank()]
		if before == 0 && after == 0 {
			continue
		}
		if before < 0 || after < 0 {
			return nil, fmt.Errorf("negative pads %v", pads)
		}
		d, ok := out[i].Size()
		if !ok {
			return nil, fmt.Errorf("cannot pad symbolic dim %s", out[i])
		}
		out[i] = D(d + before + after)
	}
	return one(x.DType, out)
}

func inferGatherND(n *Node) ([]outSpec, error) {
	x, idx := n.Inputs[0], n.Inputs[1]
	k, err := indexTupleLen(idx, x)
	if err != nil {
		return nil, err
	}
	return one(x.DType, append(idx.Shape[:idx.Rank()-1].Clone(), x.Shape[k:]...))
}

// indexTupleLen is the length of the index tuples of GatherND/ScatterND:
// the static last dim of int64 indices, at most data's rank.
func indexTupleLen(idx, data *Value) (int64, error) {
	if idx.DType != Int64 || idx.Rank() < 1 {
		return 0, fmt.Errorf("indices must be int64 of rank >= 1")
	}
	k, ok := idx.Shape[idx.Rank()-1].Size()
	if !ok || int(k) > data.Rank() {
		return 0, fmt.Errorf("last indices dim must be static and <= data rank")
	}
	return k, nil
}
