package graph_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/export"
	"github.com/nrgraph/nrgraph/graph"
)

// TestExportDropsUnreadRecomputedNodes: a Recompute segment's backward
// pass copies its whole forward, but reads only some of the copies (not
// the copy of the segment's output, nor here the Tanh's product with h).
// ONNX Runtime runs unread nodes last and holds their inputs until then,
// so the export must leave them out: every exported node's output is read
// by another node or is a graph output, and exactly the unread copies
// (plus nothing else) are gone.
func TestExportDropsUnreadRecomputedNodes(t *testing.T) {
	g, err := graph.Build("recompute", func(g *graph.Graph) {
		x := g.Input("x", graph.Float32, graph.S(2, 3))
		w := g.Input("w", graph.Float32, graph.S(3, 3))
		y := graph.Recompute(x, func(h *graph.Value) *graph.Value {
			return graph.Add(h, graph.Mul(graph.Tanh(graph.MatMul(h, w)), h))
		})
		loss := graph.ReduceSum(graph.Mul(y, y), nil, false)
		g.Output("loss", loss)
		g.Output("w.grad", graph.Grad(loss, []*graph.Value{w})[0])
	})
	require.NoError(t, err)
	unread := func(nodes []*graph.Node, outputs []*graph.Value) []string {
		read := map[*graph.Value]bool{}
		for _, v := range outputs {
			read[v] = true
		}
		for _, n := range nodes {
			for _, in := range n.Inputs {
				read[in] = true
			}
		}
		var names []string
		for _, n := range nodes {
			if !read[n.Outputs[0]] {
				names = append(names, n.Op)
			}
		}
		return names
	}
	// The copy of the segment's Add, and the Mul and Tanh copies only it
	// reads (the Mul rule reads a tanh rematerialised from the MatMul copy).
	assert.Equal(t, []string{"Add"}, unread(g.Nodes(), g.Outputs()))
	assert.Len(t, g.LiveNodes(), len(g.Nodes())-3)
	b, err := export.Marshal(g, export.Options{})
	require.NoError(t, err)
	back, err := export.Unmarshal(b, "")
	require.NoError(t, err)
	assert.Empty(t, unread(back.Nodes(), back.Outputs()))
	assert.Len(t, back.Nodes(), len(g.Nodes())-3)
}
