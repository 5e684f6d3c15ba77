package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/internal/gradcheck"
)

type (
	feed   = gradcheck.Feed
	result = gradcheck.Output
)

// runORT exports g, runs it in ONNX Runtime (1 thread, deterministic) and
// returns every graph output by name.
func runORT(t testing.TB, g *graph.Graph, feeds map[string]feed) map[string]result {
	t.Helper()
	out, err := gradcheck.Run(g, feeds)
	require.NoError(t, err)
	return out
}

// shapeOf binds an inferred shape to the sizes used in a test run.
func shapeOf(t testing.TB, v *graph.Value, sizes map[string]int64) []int64 {
	t.Helper()
	dims, err := v.Shape.Bind(sizes)
	require.NoError(t, err)
	return dims
}
