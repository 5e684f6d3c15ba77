package graph

import (
	"maps"
	"slices"
)

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
//
// Each node's gradient comes from its rule in vjpTable, except for the
// last node of a composite (composite.go, e.g. SiLU), which carries its own
// rule. Rules read forward values through recomputed (remat.go). A
// Recompute segment (checkpoint.go) is differentiated through a copy of
// its nodes emitted in the backward pass.
func Grad(loss *Value, wrt []*Value) []*Value {
	g := loss.g
	g.checkOwn("Grad", wrt...)
	if !loss.DType.IsFloat() {
		fail("Grad", loss.name, "loss must be floating point, got %s", loss.DType)
	}
	if n := loss.Shape.NumElements(); !n.Is(1) {
		fail("Grad", loss.name, "loss must have one element, got shape %s", loss.Shape)
	}
	for _, w := range wrt {
		if !w.DType.IsFloat() {
			fail("Grad", w.name, "cannot differentiate with respect to %s tensor", w.DType)
		}
	}
	lossNode := len(g.nodes) - 1
	if loss.Producer != nil {
		lossNode = loss.Producer.ID
	}
	fromWrt := reachableFrom(g, wrt, lossNode)
	if !fromWrt[loss.id] {
		return zerosFor(wrt)
	}
	b := &backprop{fromWrt: fromWrt, adj: map[*Value]*Value{
		loss: Expand(ScalarLike(loss, 1), ConstInts(g, ones(loss.Rank())...)),
	}}
	g.remat = rematerializer{}
	defer func() { g.remat = nil }()
	done := map[*Node]bool{}
	for id := lossNode; id >= 0; id-- {
		switch n := g.nodes[id]; {
		case done[n]:
		case n.segment != nil:
			for d := range b.segment(n) {
				done[d] = true
			}
			if !done[n] { // no gradient reached the segment's copies
				b.node(n)
			}
		default:
			b.node(n)
		}
	}
	out := make([]*Value, len(wrt))
	for i, w := range wrt {
		if b.adj[w] != nil {
			out[i] = b.adj[w]
		} else {
			out[i] = ZerosLike(w)
		}
	}
	return out
}

// reachableFrom marks, for every value of g up to node last, whether it
// depends on some wrt through differentiable float values (forward
// reachability: a gradient can only flow back along such paths).
func reachableFrom(g *Graph, wrt []*Value, last int) []bool {
	fromWrt := make([]bool, len(g.values))
	for _, w := range wrt {
		fromWrt[w.id] = true
	}
	for _, n := range g.nodes[:last+1] {
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
	return fromWrt
}

// backprop is the state of the reverse walk: which values a gradient may
// reach, and the gradient (adjoint) accumulated so far for each value.
type backprop struct {
	fromWrt []bool
	adj     map[*Value]*Value
}

// node applies n's rule to the gradients of its outputs and accumulates
// the result into the gradients of its inputs (a composite's inputs when n
// ends one).
func (b *backprop) node(n *Node) {
	gy := make([]*Value, len(n.Outputs))
	any := false
	for i, out := range n.Outputs {
		gy[i] = b.adj[out]
		any = any || gy[i] != nil
	}
	if !any || nonDifferentiable[n.Op] {
		return
	}
	op, inputs := n.Op, n.Inputs
	if c := n.composite; c != nil {
		op, inputs = c.op, c.inputs
	}
	need := make([]bool, len(inputs))
	needAny := false
	for i, in := range inputs {
		need[i] = in != nil && b.fromWrt[in.id]
		needAny = needAny || need[i]
	}
	if !needAny {
		return
	}
	var gx []*Value
	if c := n.composite; c != nil {
		gx = compositeTable[c.op](c, n.Outputs[0], gy[0], need)
	} else {
		rule, ok := vjpTable[n.Op]
		if !ok {
			fail("Grad", n.Name, "op %s (created at %s) has no gradient rule", n.Op, n.Where)
		}
		gx = rule(n, gy, need)
	}
	for i, in := range inputs {
		if !need[i] {
			continue
		}
		if i >= len(gx) || gx[i] == nil {
			fail("Grad", n.Name, "gradient rule of %s gave no gradient for input %d (%s)", op, i, in.name)
		}
		if !gx[i].Shape.Equal(in.Shape) || gx[i].DType != in.DType {
			fail("Grad", n.Name, "gradient rule of %s gave %s%s for input %d, want %s%s", op, gx[i].DType, gx[i].Shape, i, in.DType, in.Shape)
		}
		b.accumulate(in, gx[i])
	}
}

// accumulate adds g to in's gradient (a value read by several nodes sums
// their contributions).
func (b *backprop) accumulate(in, g *Value) {
	if prev := b.adj[in]; prev != nil {
		b.adj[in] = Add(prev, g)
	} else {
		b.adj[in] = g
	}
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
func DifferentiableOps() []string { return slices.Sorted(maps.Keys(vjpTable)) }

// NonDifferentiableOps lists the ops that pass no gradient.
func NonDifferentiableOps() []string { return slices.Sorted(maps.Keys(nonDifferentiable)) }

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
		r = Squeeze(r, firstAxes[int](lead)...)
	}
	return r
}
