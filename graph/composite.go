package graph

import (
	"maps"
	"slices"
)

// A composite is a function emitted as several standard ONNX nodes but
// differentiated as one. The node computing its output carries it
// (Node.composite), and Grad then applies the composite's rule from
// compositeTable, which maps the output's gradient straight to the
// composite's inputs, instead of the vjpTable rules of the nodes inside.
// Those inner nodes get no gradient through the composite (they may still
// get one through other readers, which stays correct). This is the only
// way a gradient bypasses vjpTable; each composite has its own
// finite-difference case in grad_test.go, as each table rule does.
type composite struct {
	op     string   // its key in compositeTable, e.g. "SiLU"
	inputs []*Value // what its rule differentiates with respect to
	// inner are the values computed inside (for its rule and recipe).
	inner []*Value
	// recompute, when set, rebuilds the output in the backward pass from
	// the inputs (see remat.go).
	recompute func(c *composite) *Value
}

// compositeRule returns the gradient for each of c's inputs given gy, the
// gradient of its output y; need is as for vjpRule.
type compositeRule func(c *composite, y, gy *Value, need []bool) []*Value

// compositeTable holds the rule of each composite, as vjpTable does for
// single ops.
var compositeTable = map[string]compositeRule{
	"SiLU":     siluVJP,
	"GELUTanh": geluTanhVJP,
}

// CompositeOps lists the composites: functions emitted as several ops but
// differentiated by one rule of their own (see SiLU).
func CompositeOps() []string { return slices.Sorted(maps.Keys(compositeTable)) }

// SiLU is x*sigmoid(x), the FFN activation of Llama-style models, emitted
// as ONNX Sigmoid and Mul. It is differentiated as one function rather
// than through the Mul and Sigmoid rules, and its backward pass reads only
// x: sigmoid(x) and x*sigmoid(x) are recomputed, so neither activation
// stays alive from the forward pass (remat.go).
func SiLU(x *Value) *Value {
	s := Sigmoid(x)
	y := Mul(x, s)
	y.Producer.composite = &composite{op: "SiLU", inputs: []*Value{x}, inner: []*Value{s},
		recompute: func(c *composite) *Value { return Mul(c.inputs[0], recomputed(c.inner[0])) }}
	return y
}

// siluVJP: y = x*s with s = sigmoid(x) -> gx = g*s*(1 + x - y), with s and
// y recomputed (y is shared with the rule of whatever multiplies the SiLU,
// e.g. the up projection): six elementwise passes over the activation
// instead of the nine of the Mul and Sigmoid rules.
func siluVJP(c *composite, y, gy *Value, need []bool) []*Value {
	x := c.inputs[0]
	s := recomputed(c.inner[0])
	y = recomputed(y)
	return []*Value{Mul(gy, Mul(s, Add(ScalarLike(x, 1), Sub(x, y))))}
}
