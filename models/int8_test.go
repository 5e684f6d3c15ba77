package models

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/internal/gradcheck"
)

// TestInt8AdapterGradientsMatchFiniteDifferences: under the int8 backbone
// the adapters' gradients (float32, through DynamicQuantizeMatMul's VJP)
// match central finite differences, in float64, of the forward pass with
// the int8 weights (each frozen projection replaced by its dequantised
// int8 copy). What remains is the activation quantisation (8 bits per
// tensor, in the forward and on the incoming gradient in the backward),
// which the backward treats as identity (straight-through): on this tiny
// random model (d=16, 10 tokens) the gradients agree to 6-10% of each
// tensor's norm (measured, see the log lines; 6% already for the last
// layer's output matrix, which no int8 backward reaches), so the bound is
// 15%; a wrong weight scale in the backward (sqrt(s) for s) gives errors
// of 5,000-10,000 times the gradient.
func TestInt8AdapterGradientsMatchFiniteDifferences(t *testing.T) {
	c := tinyConfigs()["llama-gqa-untied"]
	c.Layers = 2
	w, _ := randomCheckpoint(c, 9, false)
	ext, _ := DefaultExtension(NeutralResidues)
	ext.Alpha = 0.7 // large, so the local loss matters in the check
	int8Grads, quantized, feeds := int8Gradients(t, c, w, ext)
	require.NotEmpty(t, quantized, "no projection ran in int8")

	ref := MapWeights{}
	for name, d := range w {
		ref[name] = d
		if q := quantized[name]; q != nil {
			ref[name] = q
		}
	}
	var loss *graph.Value
	var e *Extended
	build := func(g *graph.Graph) {
		e = BuildExtended(g, Model{Config: c, Weights: ref, Ext: ext, ComputeDType: graph.Float64})
		loss, _ = objective(g, e, ext.Alpha, false)
	}
	g, err := graph.Build("int8-reference", build)
	require.NoError(t, err)
	res, err := gradcheck.Check(g, loss, e.Trainable, feeds, 1e-6)
	require.NoError(t, err)
	require.Less(t, res.MaxRelErr, 1e-6, "finite differences of the dequantised forward: %s", res.Worst)

	g, err = graph.Build("int8-reference-grads", func(g *graph.Graph) {
		build(g)
		for i, gr := range graph.Grad(loss, e.Trainable) {
			g.Output(e.Trainable[i].Name()+".grad", gr)
		}
	})
	require.NoError(t, err)
	want, err := gradcheck.Run(g, feeds)
	require.NoError(t, err)
	for name, got := range int8Grads {
		rel := relativeL2(got, want[name].Data)
		t.Logf("%s: |int8 grad - finite-difference-checked grad| / |grad| = %.4f", name, rel)
		assert.Less(t, rel, 0.15, name)
	}
}

// int8Gradients runs the float32 int8-backbone training objective of c
// and returns the adapters' gradients by output name, the dequantised
// int8 weight of every quantised projection (float64 data, HF layout) and
// the feeds (objectiveFeeds).
func int8Gradients(t *testing.T, c Config, w MapWeights, ext ExtensionConfig) (map[string][]float64, map[string]*graph.Data, map[string]gradcheck.Feed) {
	var e *Extended
	g, err := graph.Build("int8", func(g *graph.Graph) {
		e = BuildExtended(g, Model{Config: c, Weights: w, Ext: ext, BackbonePrecision: PrecisionInt8})
		loss, _ := objective(g, e, ext.Alpha, false)
		for i, gr := range graph.Grad(loss, e.Trainable) {
			g.Output(e.Trainable[i].Name()+".grad", gr)
		}
	})
	require.NoError(t, err)
	feeds := objectiveFeeds(e)
	outs, err := gradcheck.Run(g, feeds)
	require.NoError(t, err)
	grads := map[string][]float64{}
	for name, o := range outs {
		grads[name] = o.Data
	}
	quantized := map[string]*graph.Data{}
	for _, v := range g.Initializers() {
		if name, ok := strings.CutSuffix(v.Name(), ".int8"); ok {
			scale, _ := g.Lookup(name + ".int8_scale")
			quantized[name] = dequantize(t, v.Init, scale.Init)
		}
	}
	return grads, quantized, feeds
}

// dequantize turns uint8 q [in, out] (zero point 128) and scales [out]
// back into the float64 [out, in] weight they stand for.
func dequantize(t *testing.T, q, scales *graph.Data) *graph.Data {
	raw, err := q.Bytes()
	require.NoError(t, err)
	s, err := scales.Float64s()
	require.NoError(t, err)
	in, out := q.Dims[0], q.Dims[1]
	vals := make([]float64, in*out)
	for k := int64(0); k < in; k++ {
		for o := int64(0); o < out; o++ {
			vals[o*in+k] = (float64(raw[k*out+o]) - 128) * float64(float32(s[o]))
		}
	}
	return graph.NewData([]int64{out, in}, vals)
}

func relativeL2(got, want []float64) float64 {
	diff, norm := 0.0, 0.0
	for i := range want {
		diff += (got[i] - want[i]) * (got[i] - want[i])
		norm += want[i] * want[i]
	}
	return math.Sqrt(diff / norm)
}

// TestQuantizeRowsPerOutputChannel: each output row's largest magnitude
// maps to ±127 around the zero point 128, the rest round to the nearest
// step, and the layout is transposed ([in, out]).
func TestQuantizeRowsPerOutputChannel(t *testing.T) {
	w := graph.NewData([]int64{2, 3}, []float32{0.5, -1, 0.25, 0, 0, 0})
	q, scales := QuantizeRows(w)
	s, err := scales.Float64s()
	require.NoError(t, err)
	assert.InDeltaSlice(t, []float64{1.0 / 127, 1}, s, 1e-9) // an all-zero row keeps scale 1
	raw, err := q.Bytes()
	require.NoError(t, err)
	assert.Equal(t, []int64{3, 2}, q.Dims)
	// W[0] = (0.5, -1, 0.25) -> round(63.5)=64 (to even), -127, round(31.75)=32
	assert.Equal(t, []byte{128 + 64, 128, 128 - 127, 128, 128 + 32, 128}, raw)
}
