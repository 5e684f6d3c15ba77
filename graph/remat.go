package graph

// Rematerialization: cheap activations are recomputed in the backward pass
// instead of being kept alive from the forward pass. A backward rule that
// reads a forward value keeps it in memory from its forward production to
// that read; for SiLU x*sigmoid(x) (in every FFN and adapter) the rules
// would read x, sigmoid(x) and the product, three activations of FFN width
// per layer. Recomputing the last two from x (which stays alive anyway)
// costs one Sigmoid and one Mul per layer and saved ~20% of the peak
// memory of the d=512/L=8 training step.
//
// It is opt-in per read: a rule calls recomputed(v) where it reads a
// forward value v (the Mul, Sigmoid, Gemm and MatMul rules in vjp.go,
// SiLU's in composite.go); every other read sees the forward value. What can be
// recomputed is listed in rematerializer.value.

// rematerializer maps forward values to their backward-pass
// recomputations (or to themselves when they cannot be recomputed), so
// each is recomputed at most once per Grad call.
type rematerializer map[*Value]*Value

// recomputed returns v as a gradient rule should read it: a recomputation
// when v is the output of a Sigmoid, of a composite that has a recipe
// (SiLU) or the cast of a stored weight, v itself otherwise. Only a rule that is sure to use the result
// should call it, so no recomputation is left unused.
func recomputed(v *Value) *Value {
	if v.g.remat == nil { // outside Grad
		return v
	}
	return v.g.remat.value(v)
}

// value is recomputed for the Grad call that owns r.
func (r rematerializer) value(v *Value) *Value {
	if w, ok := r[v]; ok {
		return w
	}
	w := v
	switch p := v.Producer; {
	case p == nil:
	case v.inSegment:
		// Read from outside its Recompute segment (a local loss reading an
		// adapter's output): recomputing its chain here would hold the
		// segment's activations it derives from.
	case p.composite != nil && p.composite.recompute != nil:
		w = p.composite.recompute(p.composite)
	case p.Op == "Sigmoid":
		w = Sigmoid(p.Inputs[0])
	case p.Op == "Cast" && p.Inputs[0].IsInitializer():
		// A frozen bf16/fp16 weight enters the forward pass as
		// Cast(initializer) to the compute dtype. Were the backward's
		// products (dX = dY·W) to read that forward cast, every layer's
		// float32 copy would stay alive from the forward to the backward
		// pass: a float32 copy of the whole backbone. Casting the stored
		// weight again keeps each copy alive for one product (ONNX Runtime
		// keeps both casts: its common-subexpression elimination is off,
		// runtime.Options).
		w = Cast(p.Inputs[0], v.DType)
	case cheapElementwise[p.Op]:
		if root := singleRoot(v, 0); root != nil && root != v {
			w = r.recompute(v, root)
		}
	}
	r[v] = w
	return w
}

// cheapElementwise ops are rerun in the backward pass rather than held
// when their result derives from one activation and scalars only: the
// tanh GELU of Gemma's FFN, 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))), left
// its rules reading x², 0.5x, tanh(.) and 1 + tanh(.), four FFN-wide
// activations per layer (1.2 GB at Gemma-2B, seq 256), when x alone
// suffices; results of two activations (a residual sum, the GLU product)
// stay held, since recomputing them would hold both inputs instead.
var cheapElementwise = map[string]bool{"Add": true, "Sub": true, "Mul": true, "Neg": true, "Tanh": true, "Sigmoid": true}

// maxRecomputeDepth bounds the chains recomputed from one root.
const maxRecomputeDepth = 8

// singleRoot returns the one non-scalar value v is computed from through
// cheap elementwise ops (v itself when its producer is not one), or nil
// when it depends on two or more.
func singleRoot(v *Value, depth int) *Value {
	p := v.Producer
	if p == nil || !cheapElementwise[p.Op] || p.composite != nil || depth == maxRecomputeDepth {
		return v
	}
	var root *Value
	for _, in := range p.Inputs {
		if isScalar(in) {
			continue
		}
		rt := singleRoot(in, depth+1)
		if rt == nil || (root != nil && rt != root) {
			return nil
		}
		root = rt
	}
	return root
}

// recompute re-emits v's chain of cheap elementwise ops from root.
func (r rematerializer) recompute(v, root *Value) *Value {
	if v == root || isScalar(v) {
		return v
	}
	if w, ok := r[v]; ok {
		return w
	}
	p := v.Producer
	ins := make([]*Value, len(p.Inputs))
	for i, in := range p.Inputs {
		ins[i] = r.recompute(in, root)
	}
	w := add1(p.Op, ins, p.Attrs)
	r[v] = w
	return w
}

// isScalar: a value with one element (constants such as 0.5 or √(2/π)).
func isScalar(v *Value) bool {
	for _, d := range v.Shape {
		if n, ok := d.Size(); !ok || n != 1 {
			return false
		}
	}
	return true
}
