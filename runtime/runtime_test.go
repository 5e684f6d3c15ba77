package runtime_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/export"
	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/runtime"
)

func TestFindLibraryErrorsSayHowToInstall(t *testing.T) {
	_, err := runtime.FindLibrary(filepath.Join(t.TempDir(), "nope.so"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, runtime.ErrLibraryNotFound))
	assert.Contains(t, err.Error(), "--ort-lib")

	t.Setenv(runtime.EnvLibrary, "")
	t.Setenv(runtime.EnvCache, t.TempDir())
	wd, _ := os.Getwd()
	require.NoError(t, os.Chdir(t.TempDir()))
	defer os.Chdir(wd)
	// The executable's directory may still lead to the cache; only check
	// the message when nothing is found.
	if _, err := runtime.FindLibrary(""); err != nil {
		assert.Contains(t, err.Error(), "make ort")
		assert.Contains(t, err.Error(), "scripts/install-ort.sh")
	}
}

func TestVersionAndProviders(t *testing.T) {
	require.NoError(t, runtime.Init(""))
	assert.Equal(t, runtime.ORTVersion, runtime.Version())
	probes := runtime.ProbeProviders()
	assert.NoError(t, probes[runtime.CPU])
	// This CPU build cannot enable CUDA; the error must say so clearly.
	if err := probes[runtime.CUDA]; err != nil {
		assert.True(t, errors.Is(err, runtime.ErrProviderUnavailable))
		assert.Contains(t, err.Error(), "CUDA")
	}
	_, err := runtime.ParseProvider("tpu")
	assert.ErrorContains(t, err, "unknown execution provider")
}

func TestBadModelBytesAreRejectedClearly(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(runtime.EnvDebugDir, dir)
	_, err := runtime.OpenBytes([]byte("garbage"), []string{"x"}, []string{"y"}, runtime.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ONNX Runtime rejected")
	saved, _ := filepath.Glob(filepath.Join(dir, "rejected-*.onnx"))
	assert.Len(t, saved, 1, "rejected model not saved for debugging")
}

func TestTensorRoundTrips(t *testing.T) {
	f, err := runtime.NewTensor([]int64{2, 2}, []float32{1, 2, 3, 4})
	require.NoError(t, err)
	defer f.Destroy()
	assert.Equal(t, []float64{1, 2, 3, 4}, f.Float64s())
	assert.Equal(t, []float32{1, 2, 3, 4}, f.Float32s())
	s, err := runtime.NewTensor(nil, []int64{7})
	require.NoError(t, err)
	defer s.Destroy()
	assert.Equal(t, 7.0, s.Scalar())
	bf, err := runtime.NewEmpty(graph.BFloat16, []int64{3})
	require.NoError(t, err)
	defer bf.Destroy()
	assert.Equal(t, []float64{0, 0, 0}, bf.Float64s())
	_, err = runtime.NewTensor([]int64{3}, []float32{1})
	assert.ErrorContains(t, err, "needs 3 values")
}

// TestSetScalarReachesORT guards against onnxruntime_go's Scalar.Set,
// which ORT does not see: a run after SetScalar must use the new value.
func TestSetScalarReachesORT(t *testing.T) {
	g, err := graph.Build("scale", func(g *graph.Graph) {
		x := g.Input("x", graph.Float32, graph.S(2))
		s := g.Input("s", graph.Float32, graph.S())
		g.Output("y", graph.Mul(x, s))
	})
	require.NoError(t, err)
	model, err := export.Marshal(g, export.Options{})
	require.NoError(t, err)
	sess, err := runtime.OpenBytes(model, []string{"x", "s"}, []string{"y"}, runtime.Options{Threads: 1})
	require.NoError(t, err)
	defer sess.Close()
	x, _ := runtime.NewTensor([]int64{2}, []float32{1, 2})
	s, _ := runtime.NewTensor(nil, []float32{3})
	defer x.Destroy()
	defer s.Destroy()
	for _, scale := range []float64{3, 5, -1} {
		require.NoError(t, s.SetScalar(scale))
		out, err := sess.Run([]*runtime.Tensor{x, s}, []*runtime.Tensor{nil})
		require.NoError(t, err)
		assert.Equal(t, []float64{scale, 2 * scale}, out[0].Float64s())
		out[0].Destroy()
	}
}

// TestOptimizedModelAndConfig: extra session config entries are accepted,
// and OptimizedModelPath writes the graph ORT actually runs, which our
// reader loads back with the same inputs and outputs (here ORT folds the
// constant subgraph 2*3 into one initializer).
func TestOptimizedModelAndConfig(t *testing.T) {
	g, err := graph.Build("fold", func(g *graph.Graph) {
		x := g.Input("x", graph.Float32, graph.S(2))
		two, three := graph.Scalar(g, graph.Float32, 2), graph.Scalar(g, graph.Float32, 3)
		g.Output("y", graph.Mul(x, graph.Mul(two, three)))
	})
	require.NoError(t, err)
	model, err := export.Marshal(g, export.Options{})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "optimized.onnx")
	sess, err := runtime.OpenBytes(model, []string{"x"}, []string{"y"}, runtime.Options{Threads: 1,
		OptimizedModelPath: path, Config: map[string]string{"session.intra_op.allow_spinning": "0"}})
	require.NoError(t, err)
	defer sess.Close()
	x, _ := runtime.NewTensor([]int64{2}, []float32{1, 2})
	defer x.Destroy()
	out, err := sess.Run([]*runtime.Tensor{x}, []*runtime.Tensor{nil})
	require.NoError(t, err)
	assert.Equal(t, []float64{6, 12}, out[0].Float64s())
	out[0].Destroy()

	opt, err := export.Load(path)
	require.NoError(t, err)
	require.Len(t, opt.Inputs(), 1)
	require.Len(t, opt.Outputs(), 1)
	assert.Equal(t, "x", opt.Inputs()[0].Name())
	assert.Less(t, len(opt.Nodes()), len(g.Nodes()), "ORT did not fold the constant product")
}
