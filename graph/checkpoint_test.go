package graph_test

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/internal/gradcheck"
)

// TestRecomputeHoldsOnlySegmentInputs: two chained Recompute segments
// (a SiLU composite, a Tanh, products with weights, a value also read by
// the loss from outside its segment). The gradients match finite
// differences, and the backward pass reads no forward value computed from
// a segment's input except the segments' outputs and the value the loss
// reads itself (not even to rematerialise that value's tanh from the
// product before it): everything else is recomputed. Each recomputation
// starts from the segment's input plus a zero computed from the gradient,
// so it cannot run before the backward pass reaches it.
func TestRecomputeHoldsOnlySegmentInputs(t *testing.T) {
	var loss, x, y1, y2, read *graph.Value
	var wrt []*graph.Value
	var forward int
	g, err := graph.Build("recompute", func(g *graph.Graph) {
		x = g.Input("x", graph.Float64, graph.S(2, 3))
		w1 := g.Input("w1", graph.Float64, graph.S(3, 3))
		w2 := g.Input("w2", graph.Float64, graph.S(3, 3))
		block := func(w *graph.Value, keep **graph.Value) func(*graph.Value) *graph.Value {
			return func(h *graph.Value) *graph.Value {
				t := graph.Tanh(graph.MatMul(graph.SiLU(h), w))
				if keep != nil {
					*keep = t
				}
				return graph.Add(h, graph.Mul(t, h))
			}
		}
		y1 = graph.Recompute(x, block(w1, nil))
		y2 = graph.Recompute(y1, block(w2, &read))
		loss = graph.Add(graph.ReduceSum(graph.Mul(y2, y2), nil, false), graph.ReduceSum(graph.Mul(read, read), nil, false))
		wrt = []*graph.Value{x, w1, w2}
		forward = len(g.Nodes())
	})
	require.NoError(t, err)
	r := rand.New(rand.NewSource(5))
	data := func(n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = r.NormFloat64() * 0.7
		}
		return out
	}
	feeds := map[string]gradcheck.Feed{"x": {Shape: []int64{2, 3}, Data: data(6)}, "w1": {Shape: []int64{3, 3}, Data: data(9)}, "w2": {Shape: []int64{3, 3}, Data: data(9)}}
	res, err := gradcheck.Check(g, loss, wrt, feeds, 1e-6)
	require.NoError(t, err)
	assert.Less(t, res.MaxRelErr, 1e-6, "worst: %s", res.Worst)
	assert.Equal(t, 24, res.Checked)
	lossNode := loss.Producer.ID
	for _, n := range g.Nodes()[forward:] {
		for _, in := range n.Inputs {
			if in == nil || in.Producer == nil || in.Producer.ID > lossNode || in.Rank() == 0 {
				continue
			}
			assert.True(t, in == y1 || in == y2 || in == read, "backward node %s (%s) reads the forward %s (%s)", n.Name, n.Op, in, in.Producer.Op)
		}
		if n.Op == "Add" && (n.Inputs[0] == x || n.Inputs[0] == y1) {
			zero := n.Inputs[1]
			require.NotNil(t, zero.Producer)
			assert.Greater(t, zero.Producer.ID, lossNode, "the recomputation of %s depends on no gradient", n.Inputs[0])
		}
	}
}
