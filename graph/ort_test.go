package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/export"
	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/runtime"
)

// result is one graph output read back from ONNX Runtime.
type result struct {
	Shape []int64
	Data  []float64
}

// feed is a graph input value: float64 data converted to the input's dtype.
type feed struct {
	Shape []int64
	Data  []float64
}

// runORT exports g, runs it in ONNX Runtime (1 thread, deterministic) and
// returns every graph output by name.
func runORT(t testing.TB, g *graph.Graph, feeds map[string]feed) map[string]result {
	t.Helper()
	model, err := export.Marshal(g, export.Options{})
	require.NoError(t, err)
	var inNames, outNames []string
	var ins []*runtime.Tensor
	for _, in := range g.Inputs() {
		f, ok := feeds[in.Name()]
		require.True(t, ok, "no feed for input %s", in.Name())
		tensor, err := tensorOf(in.DType, f)
		require.NoError(t, err, "input %s", in.Name())
		defer tensor.Destroy()
		inNames = append(inNames, in.Name())
		ins = append(ins, tensor)
	}
	for _, out := range g.Outputs() {
		outNames = append(outNames, out.Name())
	}
	s, err := runtime.OpenBytes(model, inNames, outNames, runtime.Options{Threads: 1, Optimization: "basic"})
	require.NoError(t, err)
	defer s.Close()
	pre, err := runtime.OutputsFor(g.Outputs())
	require.NoError(t, err)
	outs, err := s.Run(ins, pre)
	require.NoError(t, err)
	res := map[string]result{}
	for i, o := range outs {
		res[outNames[i]] = result{Shape: o.Shape, Data: o.Float64s()}
		o.Destroy()
	}
	return res
}

func tensorOf(dt graph.DType, f feed) (*runtime.Tensor, error) {
	return runtime.FromFloat64(dt, f.Shape, f.Data)
}

// shapeOf binds an inferred shape to the sizes used in a test run.
func shapeOf(t testing.TB, v *graph.Value, sizes map[string]int64) []int64 {
	t.Helper()
	dims, err := v.Shape.Bind(sizes)
	require.NoError(t, err)
	return dims
}
