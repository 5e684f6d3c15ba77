package models

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/internal/gradcheck"
)

// TestBlockGradients checks the gradient of the LM loss of a one-block model
// of each architecture (attention with causal/sliding and padding masks,
// RMSNorm, RoPE, GLU FFN, soft-capping) with respect to every weight,
// against float64 central finite differences.
func TestBlockGradients(t *testing.T) {
	for name, c := range tinyConfigs() {
		t.Run(name, func(t *testing.T) { checkBlockGradients(t, name, c, 1, ForwardOptions{}) })
	}
}

// checkBlockGradients runs TestBlockGradients' check on a model of c
// shrunk to the given layers (recompute: ForwardOptions.Recompute).
// opts may set Recompute, Seq and FFNChunkTokens (the feeds have 4
// positions).
func checkBlockGradients(t *testing.T, name string, c Config, layers int, opts ForwardOptions) {
	c.Layers, c.Vocab, c.Hidden, c.HeadDim, c.Intermediate = layers, 11, 8, 4, 12
	if c.KVHeads > 1 {
		c.Heads, c.KVHeads = 4, 2
	} else {
		c.Heads = 2
	}
	if c.SlidingWindow > 0 {
		c.SlidingWindow = 2
	}
	c.QueryScale = 1 / math.Sqrt(float64(c.HeadDim))
	if c.Act == ActGELU {
		// Exact GELU's erf is float32 even here (no float64 Erf in
		// ONNX Runtime), too coarse for central differences; its
		// rule is pinned by graph's TestErfGradientClosedForm.
		c.Act = ActGELUTanh
	}
	w, refW := randomCheckpoint(c, 3, false)
	feeds := map[string]gradcheck.Feed{
		InputIDs:      {Shape: []int64{2, 4}, Data: []float64{1, 5, 9, 2, 10, 3, 3, 0}},
		AttentionMask: {Shape: []int64{2, 4}, Data: []float64{1, 1, 1, 1, 1, 0, 1, 1}},
		Targets:       {Shape: []int64{2, 4}, Data: []float64{5, 9, 2, 7, 3, 3, 0, 4}},
	}
	var loss *graph.Value
	var wrt []*graph.Value
	g, err := graph.Build(name, func(g *graph.Graph) {
		opts.ComputeDType, opts.Trainable = graph.Float64, func(string) bool { return true }
		f := BuildForward(g, c, w, opts)
		targets := g.Input(Targets, graph.Int64, f.InputShape)
		loss = graph.Neg(MaskedMean(TargetLogProbs(f.Logits, targets), f.Mask))
		wrt = f.Trainable
	})
	require.NoError(t, err)
	for _, p := range wrt {
		feeds[p.Name()] = gradcheck.Feed{Shape: mustStatic(p), Data: refW[p.Name()]}
	}
	res, err := gradcheck.Check(g, loss, wrt, feeds, 1e-6)
	require.NoError(t, err)
	assert.Less(t, res.MaxRelErr, 1e-6, "worst: %s", res.Worst)
	assert.Greater(t, res.Checked, 500)
}

func mustStatic(v *graph.Value) []int64 {
	dims, ok := v.Shape.Static()
	if !ok {
		panic("symbolic shape " + v.Shape.String())
	}
	return dims
}
