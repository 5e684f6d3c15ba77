package runtime_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
