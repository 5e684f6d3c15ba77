package graph

// LiveNodes returns, in topological order, the nodes that some graph
// output depends on: what an exported model needs to run.
//
// The graph is append-only, so builders may leave nodes nothing reads.
// The copies a Recompute segment makes (checkpoint.go) are the measured
// case: the backward pass reads only some of them (the tanh GELU's
// product and a block's FFN down-projection, for instance, are never
// read), and ONNX Runtime neither removes nor skips unread nodes. It ran
// them after the optimizer update, at the end of its order, so their
// inputs — two [tokens, FFN] float32 tensors per block — stayed alive
// through the whole backward pass: +512 MB of a mid-size (8-layer, FFN
// 8192) training step at seq 1024, the reason --recompute saved so little.
func (g *Graph) LiveNodes() []*Node {
	live := make([]bool, len(g.values))
	for _, v := range g.outputs {
		live[v.id] = true
	}
	keep := make([]bool, len(g.nodes))
	for i := len(g.nodes) - 1; i >= 0; i-- {
		n := g.nodes[i]
		for _, out := range n.Outputs {
			keep[i] = keep[i] || live[out.id]
		}
		if !keep[i] {
			continue
		}
		for _, in := range n.Inputs {
			if in != nil {
				live[in.id] = true
			}
		}
	}
	var out []*Node
	for i, n := range g.nodes {
		if keep[i] {
			out = append(out, n)
		}
	}
	return out
}
