package models

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/internal/gradcheck"
)

// testPieces are 3 new tokens of the tiny configs (vocab 37): ids 37, 38
// and 39, standing for these old ids.
var testPieces = [][]int{{4, 20}, {9}, {1, 5, 33}}

func withNewTokens(ext ExtensionConfig) ExtensionConfig {
	ext.NewTokens = len(testPieces)
	if ext.Method != Finetune {
		ext.Capacity = 1 // the tiny models' budget must hold 3 rows and the blocks
	}
	return ext
}

// TestVocabExtensionNeutralAtInit: with new tokens, every method's logits
// over the backbone's vocabulary are the backbone's bit for bit on text of
// old ids, for tied and untied models; each new token's logit is the mean
// of its pieces' logits (its output row is their mean, and logits are
// linear in it).
func TestVocabExtensionNeutralAtInit(t *testing.T) {
	for _, name := range []string{"llama-gqa-untied", "llama-tied", "gemma2"} {
		c := tinyConfigs()[name]
		w, _ := randomCheckpoint(c, 5, false)
		backbone := backboneLogits(t, c, w)
		for _, method := range Methods {
			t.Run(name+"/"+string(method), func(t *testing.T) {
				ext, err := DefaultExtension(method)
				require.NoError(t, err)
				got := logitsOf(t, Model{Config: c, Weights: w, Ext: withNewTokens(ext), NewTokenPieces: testPieces})
				v, n := c.Vocab, len(testPieces)
				require.Len(t, got, len(backbone)/v*(v+n))
				var old []float64
				for pos := 0; pos < len(got)/(v+n); pos++ {
					row := got[pos*(v+n) : (pos+1)*(v+n)]
					old = append(old, row[:v]...)
					if c.FinalSoftcap > 0 {
						continue // soft-capping is not linear
					}
					for k, pieces := range testPieces {
						mean := 0.0
						for _, id := range pieces {
							mean += backbone[pos*v+id] / float64(len(pieces))
						}
						assert.InDelta(t, mean, row[v+k], 1e-4, "position %d new token %d", pos, k)
					}
				}
				requireBitIdentical(t, backbone, old)
			})
		}
	}
}

// TestVocabExtensionReadsNewRows: a new token whose only piece is old id 9
// starts with exactly that id's embedding, so a sequence with it computes
// the same logits over the old vocabulary as with 9 itself; without the
// new rows' Gather (say, ids clipped into the old table) it would read
// another row.
func TestVocabExtensionReadsNewRows(t *testing.T) {
	c := tinyConfigs()["llama-gqa-untied"]
	w, _ := randomCheckpoint(c, 7, false)
	ext, _ := DefaultExtension(NeutralResidues)
	m := Model{Config: c, Weights: w, Ext: withNewTokens(ext), NewTokenPieces: testPieces}
	run := func(ids []float64) []float64 {
		var e *Extended
		g, err := graph.Build("logits", func(g *graph.Graph) {
			e = BuildExtended(g, m)
			g.Output("logits", e.Logits)
		})
		require.NoError(t, err)
		feeds := initFeeds(e)
		feeds[InputIDs] = gradcheck.Feed{Shape: []int64{1, 4}, Data: ids}
		feeds[AttentionMask] = gradcheck.Feed{Shape: []int64{1, 4}, Data: []float64{1, 1, 1, 1}}
		return runGraphOutputs(t, g, feeds)["logits"]
	}
	assert.Equal(t, run([]float64{3, 9, 12, 9}), run([]float64{3, 38, 12, 38}))
	assert.NotEqual(t, run([]float64{3, 9, 12, 9}), run([]float64{3, 37, 12, 37}))
}

// TestVocabExtensionGradients: only the new rows (and the method's own
// tensors) train, checked against float64 central differences of the LM
// loss on text that uses new tokens as inputs and as targets; with the
// chunked head (frozen head split into vocabulary chunks, the new rows a
// chunk of their own) the loss is the same.
func TestVocabExtensionGradients(t *testing.T) {
	for _, name := range []string{"llama-gqa-untied", "llama-tied"} {
		c := tinyConfigs()[name]
		c.Layers = 1
		w, _ := randomCheckpoint(c, 3, false)
		ext, _ := DefaultExtension(NeutralResidues)
		m := Model{Config: c, Weights: w, Ext: withNewTokens(ext), NewTokenPieces: testPieces, ComputeDType: graph.Float64, HeadChunkRows: 16}
		feeds := map[string]gradcheck.Feed{
			InputIDs:      {Shape: []int64{2, 4}, Data: []float64{1, 37, 9, 39, 10, 3, 38, 0}},
			AttentionMask: {Shape: []int64{2, 4}, Data: []float64{1, 1, 1, 1, 1, 1, 1, 1}},
			Targets:       {Shape: []int64{2, 4}, Data: []float64{37, 9, 39, 7, 3, 38, 0, 39}},
		}
		losses := map[bool]float64{}
		for _, chunked := range []bool{false, true} {
			var loss *graph.Value
			var e *Extended
			g, err := graph.Build(name, func(g *graph.Graph) {
				e = buildExtended(g, m, chunked, false)
				targets := g.Input(Targets, graph.Int64, graph.S(Batch, Seq))
				loss = graph.Neg(MaskedMean(e.TargetLogProbs(targets), e.Mask))
				g.Output("loss", loss)
			})
			require.NoError(t, err)
			var names, rows []string
			var wrt []*graph.Value
			for _, p := range e.Trainable {
				names = append(names, p.Name())
				if p.Name() == NewEmbedRows || p.Name() == NewHeadRows {
					rows = append(rows, p.Name())
					wrt = append(wrt, p)
				}
				vals, err := e.Init[p.Name()].Float64s()
				require.NoError(t, err)
				for i := range vals {
					vals[i] += 0.05 * math.Sin(float64(3*i+len(p.Name()))) // off init: w_out is zero there
				}
				feeds[p.Name()] = gradcheck.Feed{Shape: mustStatic(p), Data: vals}
			}
			assert.NotContains(t, names, "model.embed_tokens.weight", "old rows stay frozen")
			assert.NotContains(t, names, "lm_head.weight", "old rows stay frozen")
			assert.Len(t, rows, map[bool]int{true: 1, false: 2}[c.Tied], "new rows: %v", names)
			res, err := gradcheck.Check(g, loss, wrt, feeds, 1e-6)
			require.NoError(t, err)
			assert.Less(t, res.MaxRelErr, 1e-6, "worst: %s", res.Worst)
			assert.Equal(t, 3*c.Hidden*len(rows), res.Checked)
			out := runGraphOutputs(t, g, feeds)
			losses[chunked] = out["loss"][0]
		}
		assert.InDelta(t, losses[false], losses[true], 1e-12, "chunked head with new rows")
	}
}

// TestVocabExtensionCapacity: the new rows count in --capacity (the
// blocks get the rest) and in the memory estimate; too many for the
// budget is an error naming both flags.
func TestVocabExtensionCapacity(t *testing.T) {
	c := tinyConfigs()["llama-gqa-untied"]
	ext, _ := DefaultExtension(NeutralResidues)
	ext.Capacity = 1
	plain, err := NewExtender(ext, c)
	require.NoError(t, err)
	ext.NewTokens = 3
	x, err := NewExtender(ext, c)
	require.NoError(t, err)
	assert.Less(t, x.Hidden, plain.Hidden)
	assert.InDelta(t, float64(plain.AddedParams()), float64(x.AddedParams()), float64(3*c.Layers*c.Hidden+c.Layers), "same budget")
	assert.Equal(t, int64(2*3*c.Hidden), VocabRowParams(c, 3))
	ext.NewTokens = 1000
	_, err = NewExtender(ext, c)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--capacity")
	assert.Contains(t, err.Error(), "--extend-vocab 1000")

	ft, _ := DefaultExtension(Finetune)
	before, err := EstimateMemory(c, ft, 8, 1, 8)
	require.NoError(t, err)
	ft.NewTokens = 3
	after, err := EstimateMemory(c, ft, 8, 1, 8)
	require.NoError(t, err)
	assert.Equal(t, 4*VocabRowParams(c, 3), after.Trainable-before.Trainable)
}
