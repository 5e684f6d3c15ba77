package graph_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
)

func TestMatMulReshapeReduceRunsInORT(t *testing.T) {
	g, err := graph.Build("t", func(g *graph.Graph) {
		x := g.Input("x", graph.Float64, graph.S("batch", 3))
		w := g.Initializer("w", graph.NewData([]int64{3, 2}, []float64{1, 2, 3, 4, 5, 6}))
		y := graph.ReduceSum(graph.Reshape(graph.MatMul(x, w), 0, 2, 1), []int{1}, false)
		g.Output("y", y)
		g.Output("mean", graph.ReduceMean(y, nil, false))
	})
	require.NoError(t, err)
	out := runORT(t, g, map[string]feed{"x": {Shape: []int64{2, 3}, Data: []float64{1, 0, 0, 0, 1, 1}}})
	assert.Equal(t, []float64{3, 18}, out["y"].Data)
	assert.Equal(t, []int64{2, 1}, out["y"].Shape)
	assert.Equal(t, []float64{10.5}, out["mean"].Data)
}
