package build

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/runtime"
)

// TestManifestRecordsBackbonePrecision: the manifest says how the
// backbone's projections run (fp32 by default), an int8 build is refused
// on GPU providers with what to do instead, and an unknown precision is
// refused naming the flag.
func TestManifestRecordsBackbonePrecision(t *testing.T) {
	c := models.Config{Arch: "LlamaForCausalLM", Vocab: 32, Hidden: 16, Intermediate: 24, Layers: 1, Heads: 2, KVHeads: 2, HeadDim: 8,
		RMSEps: 1e-5, RopeTheta: 10000, MaxPositions: 16, Act: "silu", QueryScale: 0.35}
	ext, err := models.DefaultExtension(models.NeutralResidues)
	require.NoError(t, err)
	opts := func(p models.BackbonePrecision) BuildOptions {
		return BuildOptions{Config: &c, Weights: models.RandomWeights(c, 1, 0.1), Ext: ext, Opt: graph.DefaultAdamW(), Seq: 8,
			Out: t.TempDir(), Log: io.Discard, BackbonePrecision: p}
	}
	for p, want := range map[models.BackbonePrecision]models.BackbonePrecision{"": models.PrecisionFP32, models.PrecisionInt8: models.PrecisionInt8} {
		o := opts(p)
		_, err := Build(o)
		require.NoError(t, err)
		man, err := ReadManifest(o.Out)
		require.NoError(t, err)
		assert.Equal(t, want, man.BackbonePrecision)
		assert.NoError(t, man.CheckProvider(runtime.CPU))
		err = man.CheckProvider(runtime.CUDA)
		if want == models.PrecisionInt8 {
			assert.ErrorContains(t, err, "cpu provider only")
			assert.ErrorContains(t, err, "--backbone-precision fp32")
		} else {
			assert.NoError(t, err)
		}
	}
	_, err = Build(opts("int4"))
	assert.ErrorContains(t, err, `--backbone-precision: unknown backbone precision "int4" (want fp32 or int8)`)
}
