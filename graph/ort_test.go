package graph_test

import (
	"fmt"
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
	switch dt {
	case graph.Float32:
		return runtime.NewTensor(f.Shape, convertSlice[float32](f.Data))
	case graph.Float64:
		return runtime.NewTensor(f.Shape, append([]float64{}, f.Data...))
	case graph.Int64:
		return runtime.NewTensor(f.Shape, convertSlice[int64](f.Data))
	case graph.Int32:
		return runtime.NewTensor(f.Shape, convertSlice[int32](f.Data))
	case graph.Bool:
		b := make([]bool, len(f.Data))
		for i, v := range f.Data {
			b[i] = v != 0
		}
		return runtime.NewTensor(f.Shape, b)
	}
	return nil, fmt.Errorf("no feed conversion for %s", dt)
}

func convertSlice[T float32 | int64 | int32](xs []float64) []T {
	out := make([]T, len(xs))
	for i, x := range xs {
		out[i] = T(x)
	}
	return out
}

// shapeOf binds an inferred shape to the sizes used in a test run.
func shapeOf(t testing.TB, v *graph.Value, sizes map[string]int64) []int64 {
	t.Helper()
	dims, err := v.Shape.Bind(sizes)
	require.NoError(t, err)
	return dims
}
