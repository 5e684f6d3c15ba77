package graph

import "sort"

// vjpRule returns the gradient for each input of n given the gradients of
// its outputs (gy[i] is nil when output i does not reach the loss). need[i]
// says whether input i wants a gradient; a rule must return nil where it
// does not, so frozen weights cost nothing.
type vjpRule func(n *Node, gy []*Value, need []bool) []*Value

// nonDifferentiable ops pass no gradient: their outputs are integers or
// booleans, or their derivative is zero almost everywhere.
var nonDifferentiable = map[string]bool{
	"Shape": true, "Equal": true, "Less": true, "Greater": true, "Not": true,
	"Sign": true, "Constant": true,
}

// Grad returns d(loss)/d(wrt[i]) for a scalar (one-element) float loss,
// emitting the backward nodes into loss's graph. Only nodes on a path from
// some wrt to loss are differentiated; integer/bool values, StopGradient
// values and everything not upstream of a wrt get no gradient. A wrt that
// does not reach the loss gets zeros.
func Grad(loss *Value, wrt []*Value) []*Value {
	g := loss.g
	g.checkOwn("Grad", wrt...)
	if !loss.DType.IsFloat() {
		fail("Grad", loss.name, "loss must be floating point, got %s", loss.DType)
	}
	if n := loss.Shape.NumElements(); !n.Is(1) {
		fail("Grad", loss.name, "loss must have one element, got shape %s", loss.Shape)
	}
	// Forward reachability from wrt.
	fromWrt := make([]bool, len(g.values))
	for _, w := range wrt {
		if !w.DType.IsFloat() {
			fail("Grad", w.name, "cannot differentiate with respect to %s tensor", w.DType)
		}
		fromWrt[w.id] = true
	}
	lossNode := len(g.nodes) - 1
	if loss.Producer != nil {
		lossNode = loss.Producer.ID
	}
	for _, n := range g.nodes[:lossNode+1] {
		if nonDifferentiable[n.Op] {
			continue
		}
		reach := false
		for _, in := range n.Inputs {
			if in != nil && fromWrt[in.id] && in.DType.IsFloat() {
				reach = true
			}
		}
		for _, out := range n.Outputs {
			fromWrt[out.id] = reach && out.DType.IsFloat() && !out.stopGradient
		}
	}
	if !fromWrt[loss.id] {
		return zerosFor(wrt)
	}
	remat := rematerializer{}
	readers := make([]int, len(g.values))
	for _, n := range g.nodes[:lossNode+1] {
		for _, in := range n.Inputs {
			if in != nil {
				readers[in.id]++
			}
		}
	}
	adj := map[*Value]*Value{loss: Expand(ScalarLike(loss, 1), ConstInts(g, staticOr1(loss.Shape)...))}
	accumulate := func(in, g *Value) {
		if prev := adj[in]; prev != nil {
			adj[in] = Add(prev, g) // fan-out: accumulate
		} else {
			adj[in] = g
		}
	}
	for id := lossNode; id >= 0; id-- {
		n := g.nodes[id]
		gy := make([]*Value, len(n.Outputs))
		any := false
		for i, out := range n.Outputs {
			gy[i] = adj[out]
			any = any || gy[i] != nil
		}
		if !any || nonDifferentiable[n.Op] {
			continue
		}
		need := make([]bool, len(n.Inputs))
		needAny := false
		for i, in := range n.Inputs {
			need[i] = in != nil && fromWrt[in.id]
			needAny = needAny || need[i]
		}
		if !needAny {
			continue
		}
		if sig := siluSigmoid(n, readers); sig != nil {
			accumulate(siluGrad(n, sig, gy[0], remat))
			continue
		}
		rule, ok := vjpTable[n.Op]
		if !ok {
			fail("Grad", n.Name, "op %s (created at %s) has no gradient rule", n.Op, n.Where)
		}
		gx := rule(remat.node(n, need), gy, need)
		for i, in := range n.Inputs {
			if !need[i] {
				continue
			}
			if i >= len(gx) || gx[i] == nil {
				fail("Grad", n.Name, "gradient rule of %s gave no gradient for input %d (%s)", n.Op, i, in.name)
			}
			if !gx[i].Shape.Equal(in.Shape) || gx[i].DType != in.DType {
				fail("Grad", n.Name, "gradient rule of %s gave %s%s for input %d, want %s%s", n.Op, gx[i].DType, gx[i].Shape, i, in.DType, in.Shape)
			}
			accumulate(in, gx[i])
		}
	}
	out := make([]*Value, len(wrt))
	for i, w := range wrt {
		if adj[w] != nil {
			out[i] = adj[w]
		} else {
			out[i] = ZerosLike(w)
		}
	}
	return out
}

// rematerializer recomputes cheap activations in the backward pass instead
// of keeping them alive from the forward pass. A backward rule reading a
// forward value keeps it in memory from its forward production to that
// read; for x*sigmoid(x) (SiLU, in every FFN and adapter) the rules read
// x, sigmoid(x) and the product, three activations of FFN width per
// layer. Recomputing the last two from x (which stays alive anyway)
// costs one Sigmoid and one Mul per layer and saved ~20% of the peak
// memory of the d=512/L=8 training step.
type rematerializer map[*Value]*Value

// node returns n as its gradient rule should see it: the forward values
// that rule reads and that can be recomputed are swapped for their
// recomputations. Only reads known to happen are swapped (Sigmoid's rule
// reads its output; Mul's rule for input i reads input 1-i), so no
// recomputation is left unused.
func (r rematerializer) node(n *Node, need []bool) *Node {
	c := *n
	switch n.Op {
	case "Sigmoid":
		c.Outputs = []*Value{r.value(n.Outputs[0])}
		if c.Outputs[0] == n.Outputs[0] {
			return n
		}
	case "Mul":
		c.Inputs = append([]*Value(nil), n.Inputs...)
		changed := false
		for i := range c.Inputs {
			if need[1-i] {
				c.Inputs[i] = r.value(n.Inputs[i])
				changed = changed || c.Inputs[i] != n.Inputs[i]
			}
		}
		if !changed {
			return n
		}
	default:
		return n
	}
	return &c
}

// value returns a backward-pass recomputation of v when v is sigmoid(x)
// or x*sigmoid(x); otherwise v.
func (r rematerializer) value(v *Value) *Value {
	if w, ok := r[v]; ok {
		return w
	}
	p := v.Producer
	w := v
	switch {
	case p == nil:
	case p.Op == "Sigmoid":
		w = Sigmoid(p.Inputs[0])
	case p.Op == "Mul" && isSigmoidOf(p.Inputs[1], p.Inputs[0]):
		w = Mul(p.Inputs[0], r.value(p.Inputs[1]))
	case p.Op == "Mul" && isSigmoidOf(p.Inputs[0], p.Inputs[1]):
		w = Mul(r.value(p.Inputs[0]), p.Inputs[1])
	}
	r[v] = w
	return w
}

// siluSigmoid returns s when n is x*s with s = sigmoid(x) and s feeds
// nothing else: SiLU is then differentiated as one function (siluGrad)
// instead of through the product and sigmoid rules.
func siluSigmoid(n *Node, readers []int) *Value {
	if n.Op != "Mul" || len(n.Inputs) != 2 {
		return nil
	}
	for i, s := range n.Inputs {
		if isSigmoidOf(s, n.Inputs[1-i]) && readers[s.id] == 1 {
			return s
		}
	}
	return nil
}

// siluGrad is g * d/dx[x*sigmoid(x)] = g*s*(1 + x - x*s), with s and x*s
// recomputed (x*s is shared with the rule of whatever multiplies the SiLU,
// e.g. the up projection): six elementwise passes over the activation
// instead of nine.
func siluGrad(n *Node, sig, g *Value, remat rematerializer) (x, gx *Value) {
	x = sig.Producer.Inputs[0]
	s := remat.value(sig)
	silu := remat.value(n.Outputs[0])
	return x, Mul(g, Mul(s, Add(ScalarLike(x, 1), Sub(x, silu))))
}

func isSigmoidOf(s, x *Value) bool {
	return s != nil && s.Producer != nil && s.Producer.Op == "Sigmoid" && s.Producer.Inputs[0] == x
}

func staticOr1(s Shape) []int64 {
	dims := make([]int64, len(s))
	for i := range dims {
		dims[i] = 1
	}
	return dims
}

func zerosFor(vs []*Value) []*Value {
	out := make([]*Value, len(vs))
	for i, v := range vs {
		out[i] = ZerosLike(v)
	}
	return out
}

// DifferentiableOps lists ops with a gradient rule; NonDifferentiableOps
// the ops that deliberately pass none. Together they cover SupportedOps
// (a test enforces it).
func DifferentiableOps() []string {
	var ops []string
	for k := range vjpTable {
		ops = append(ops, k)
	}
	sort.Strings(ops)
	return ops
}

// NonDifferentiableOps lists the ops that pass no gradient.
func NonDifferentiableOps() []string {
	var ops []string
	for k := range nonDifferentiable {
		ops = append(ops, k)
	}
	sort.Strings(ops)
	return ops
}

// unbroadcast sums g over the axes along which a value of shape target was
// broadcast to g's shape, giving a gradient of exactly target's shape.
func unbroadcast(g *Value, target Shape) *Value {
	if g.Shape.Equal(target) {
		return g
	}
	lead := g.Rank() - target.Rank()
	if lead < 0 {
		fail("Grad", "", "cannot unbroadcast %s to %s", g.Shape, target)
	}
	var axes []int
	for i := 0; i < g.Rank(); i++ {
		if i < lead {
			axes = append(axes, i)
			continue
		}
		t := target[i-lead]
		switch {
		case t == g.Shape[i]:
		case t.Is(1):
			axes = append(axes, i)
		default:
			fail("Grad", "", "cannot unbroadcast %s to %s (dim %d)", g.Shape, target, i)
		}
	}
	r := ReduceSum(g, axes, true)
	if lead > 0 {
		leading := make([]int, lead)
		for i := range leading {
			leading[i] = i
		}
		r = Squeeze(r, leading...)
	}
	return r
}
