package graph

// Activation recomputation (gradient checkpointing): Recompute marks a
// segment of the forward pass, a decoder block, whose activations Grad
// does not keep. The backward pass re-emits the segment's nodes from its
// input and differentiates the copies instead, so from the forward to the
// backward pass only the segment's input stays alive, and at most one
// segment's activations exist at a time (plus what other readers of them
// hold: a local loss reading adapter outputs keeps those).
//
// The copy reads its input as x + 0·Σ(gradient of the segment's output):
// the same values, but a data dependency on the backward pass. Without it
// ONNX Runtime's topological order may run the copies early (they depend
// only on forward values) and hold every segment's activations at once,
// as it did with the LM head's chunks (models/head.go).

// ZeroFrom is a scalar 0 computed from v: 0·Σv, the same value whatever v
// holds (finite), but a data dependency, so ONNX Runtime runs what reads
// it only after v exists. Its gradient reaches v (as zeros) unless
// stopped, which orders a backward pass the same way.
func ZeroFrom(v *Value) *Value { return Mul(ReduceSum(v, nil, false), ScalarLike(v, 0)) }

// segment marks the node computing a Recompute segment's output.
type segment struct {
	x     *Value // the segment's input
	first int    // ID of the segment's first node
}

// Recompute returns body(x) and marks the nodes body adds as a segment
// that Grad recomputes in the backward pass rather than holding its
// activations. The result is the same graph as body(x) until Grad runs;
// gradients are the same to rounding.
func Recompute(x *Value, body func(x *Value) *Value) *Value {
	g := x.g
	first := len(g.nodes)
	y := body(x)
	p := y.Producer
	if p == nil || p.ID < first {
		fail("Recompute", y.name, "the segment's output must be computed inside it")
	}
	if p.segment != nil {
		fail("Recompute", p.Name, "node already ends a recomputed segment")
	}
	p.segment = &segment{x: x, first: first}
	for _, n := range dependents(x, g.nodes[first:]) {
		for _, out := range n.Outputs {
			out.inSegment = true
		}
	}
	return y
}

// segment differentiates the Recompute segment ending at node end: it
// copies the segment's nodes that depend on its input (the others, such as
// a shared attention mask, are read as they are), moves the gradients the
// originals have received to the copies, differentiates the copies and
// marks the originals done. It returns the originals.
func (b *backprop) segment(end *Node) map[*Node]bool {
	s := end.segment
	g := end.Outputs[0].g
	nodes := g.nodes[s.first : end.ID+1]
	cloned := dependents(s.x, nodes)
	// The data dependency: the gradient of the output, else of any copied
	// value another reader gave one.
	var dep *Value
	for _, v := range append(end.Outputs, outputsOf(cloned)...) {
		if dep = b.adj[v]; dep != nil {
			break
		}
	}
	if dep == nil {
		return nil // no gradient reaches the segment
	}
	zero := StopGradient(ZeroFrom(dep))
	if zero.DType != s.x.DType {
		zero = Cast(zero, s.x.DType)
	}
	x := Add(s.x, zero)
	copyOf := map[*Value]*Value{s.x: x}
	for _, n := range cloned {
		ins := make([]*Value, len(n.Inputs))
		for i, in := range n.Inputs {
			switch c, ok := copyOf[in]; {
			case ok:
				ins[i] = c
			case in != nil && in.Producer != nil && in.Producer.Op == "Cast" && in.Producer.Inputs[0].IsInitializer():
				ins[i] = recomputed(in) // a frozen weight's cast, one per use
			default:
				ins[i] = in
			}
		}
		outs := g.AddNode(n.Op, ins, n.Attrs)
		for i, out := range n.Outputs {
			outs[i].stopGradient = out.stopGradient
			copyOf[out] = outs[i]
		}
		if c := n.composite; c != nil {
			outs[0].Producer.composite = &composite{op: c.op, inputs: mapped(c.inputs, copyOf), inner: mapped(c.inner, copyOf), recompute: c.recompute}
		}
	}
	for len(b.fromWrt) < len(g.values) {
		b.fromWrt = append(b.fromWrt, false)
	}
	for v, c := range copyOf {
		b.fromWrt[c.id] = b.fromWrt[v.id]
		if gv := b.adj[v]; gv != nil && v != s.x {
			b.adj[c] = gv
			delete(b.adj, v)
		}
	}
	for i := len(cloned) - 1; i >= 0; i-- {
		b.node(copyOf[cloned[i].Outputs[0]].Producer)
	}
	if gx := b.adj[x]; gx != nil {
		b.accumulate(s.x, gx)
	}
	done := map[*Node]bool{}
	for _, n := range cloned {
		done[n] = true
	}
	return done
}

// dependents returns the nodes of nodes (in order) that read x or
// another dependent's output.
func dependents(x *Value, nodes []*Node) []*Node {
	inside := map[*Value]bool{x: true}
	var out []*Node
	for _, n := range nodes {
		for _, in := range n.Inputs {
			if in != nil && inside[in] {
				out = append(out, n)
				for _, v := range n.Outputs {
					inside[v] = true
				}
				break
			}
		}
	}
	return out
}

func outputsOf(nodes []*Node) []*Value {
	var out []*Value
	for _, n := range nodes {
		out = append(out, n.Outputs...)
	}
	return out
}

// mapped replaces each value of vs by its copy, where it has one.
func mapped(vs []*Value, copyOf map[*Value]*Value) []*Value {
	out := make([]*Value, len(vs))
	for i, v := range vs {
		out[i] = v
		if c, ok := copyOf[v]; ok {
			out[i] = c
		}
	}
	return out
}
