package build

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/export"
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

// TestInt8BuildQuantisesEachProjectionOnce: every graph of an int8 build
// refers to one copy of each quantised projection, in the build's shared
// int8 file, and that copy holds QuantizeRows of the checkpoint's weight
// (before, each graph re-quantised the backbone into its own data file).
func TestInt8BuildQuantisesEachProjectionOnce(t *testing.T) {
	c := models.Config{Arch: "LlamaForCausalLM", Vocab: 32, Hidden: 16, Intermediate: 24, Layers: 2, Heads: 2, KVHeads: 2, HeadDim: 8,
		RMSEps: 1e-5, RopeTheta: 10000, MaxPositions: 16, Act: "silu", QueryScale: 0.35}
	ext, err := models.DefaultExtension(models.NeutralResidues)
	require.NoError(t, err)
	w := models.RandomWeights(c, 1, 0.1)
	o := BuildOptions{Config: &c, Weights: w, Ext: ext, Opt: graph.DefaultAdamW(), Seq: 8, Out: t.TempDir(), Log: io.Discard,
		BackbonePrecision: models.PrecisionInt8}
	man, err := Build(o)
	require.NoError(t, err)

	regions := map[string]graph.FileRegion{} // int8 initializer -> where the first graph found it
	for _, file := range []string{StepGraph, GradGraph, ScoreGraph, PackedScoreGraph} {
		g, err := export.Load(filepath.Join(o.Out, file))
		require.NoError(t, err, file)
		found := 0
		for _, v := range g.Initializers() {
			name, ok := strings.CutSuffix(v.Name(), ".int8")
			if !ok {
				continue
			}
			found++
			scale, ok := g.Lookup(name + ".int8_scale")
			require.True(t, ok, "%s: %s has no scales", file, v.Name())
			for _, d := range []*graph.Value{v, scale} {
				require.NotNil(t, d.Init.File, "%s: %s is not external data", file, d.Name())
				assert.Equal(t, Int8File, filepath.Base(d.Init.File.Path), "%s: %s", file, d.Name())
				if first, seen := regions[d.Name()]; seen {
					assert.Equal(t, first.Offset, d.Init.File.Offset, "%s: %s stored twice", file, d.Name())
				} else {
					regions[d.Name()] = *d.Init.File
				}
			}
			src, err := w.Tensor(name)
			require.NoError(t, err)
			wantQ, wantS := models.QuantizeRows(src)
			for _, pair := range [][2]*graph.Data{{v.Init, wantQ}, {scale.Init, wantS}} {
				got, err := pair[0].Bytes()
				require.NoError(t, err)
				want, err := pair[1].Bytes()
				require.NoError(t, err)
				assert.Equal(t, want, got, "%s: %s", file, name)
			}
		}
		// 7 frozen projections (q, k, v, o, gate, up, down) per block.
		assert.Equal(t, 7*c.Layers, found, file)
	}
	assert.Len(t, regions, 2*7*c.Layers)

	// The manifest's estimate counts the frozen weights the graphs read:
	// the int8 file's tensors plus every weight no projection replaced
	// (embedding, norms), in the checkpoint's dtype.
	var want int64
	for _, r := range regions {
		want += r.Length
	}
	for _, name := range w.Names() {
		if _, quantized := regions[name+".int8"]; !quantized {
			d, err := w.Tensor(name)
			require.NoError(t, err)
			want += d.NumBytes()
		}
	}
	require.NotNil(t, man.Memory)
	assert.Equal(t, models.PrecisionInt8, man.Memory.BackbonePrecision)
	assert.Equal(t, want, man.Memory.FrozenWeights)
}
