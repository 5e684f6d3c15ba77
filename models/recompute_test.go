package models

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/internal/gradcheck"
)

// TestRecomputedGradientsEqualStored: the gradient graph of every tiny
// architecture gives the same losses, metrics and gradients, to float32
// rounding, whether each block's activations are held for the backward
// pass or recomputed there (--recompute); for neutral residues (whose
// local loss reads each block's adapter output) and, on three
// architectures, LoRA (inside the projections) and finetuning (every
// backbone weight). The recomputing
// graph really recomputes: its backward pass has at least one more
// forward's worth of nodes.
func TestRecomputedGradientsEqualStored(t *testing.T) {
	for name, c := range tinyConfigs() {
		methods := []Method{NeutralResidues}
		if name == "gemma2" || name == "llama-bias-gelu-linear" || name == "qwen3" {
			methods = append(methods, LoRA, Finetune)
		}
		for _, method := range methods {
			t.Run(name+"/"+string(method), func(t *testing.T) {
				w, _ := randomCheckpoint(c, 5, true)
				ext, err := DefaultExtension(method)
				require.NoError(t, err)
				run := func(recompute bool) (map[string][]float64, int) {
					m := Model{Config: c, Weights: w, Ext: ext, Recompute: recompute}
					g, e, err := BuildTrainGraph(m, graph.DefaultAdamW(), GradientsOnly)
					require.NoError(t, err)
					f := initFeeds(e)
					f[Targets] = gradcheck.Feed{Shape: []int64{2, 5}, Data: []float64{3, 0, 11, float64(c.Vocab - 1), 7, 14, 2, 28, 35, 6}}
					f[LossMask] = testMask
					f[Domain] = gradcheck.Feed{Shape: []int64{2}, Data: []float64{1, 0}}
					f[LossTokens] = gradcheck.Feed{Shape: []int64{}, Data: []float64{9}}
					f[OrigTokens] = gradcheck.Feed{Shape: []int64{}, Data: []float64{5}}
					f[NewTokens] = gradcheck.Feed{Shape: []int64{}, Data: []float64{4}}
					for _, p := range e.Trainable { // non-zero adapters, so gradients reach every tensor
						vals := f[p.Name()].Data
						for i := range vals {
							vals[i] += 0.05 * float64((i*7)%11-5)
						}
					}
					return runGraphOutputs(t, g, f), len(g.Nodes())
				}
				stored, storedNodes := run(false)
				recomputed, recomputedNodes := run(true)
				assert.Greater(t, recomputedNodes, storedNodes+50, "nodes: the recomputing graph re-runs no blocks")
				require.Equal(t, len(stored), len(recomputed))
				for out, want := range stored {
					got := recomputed[out]
					require.Len(t, got, len(want), out)
					nonzero := false
					for i := range want {
						assert.InDelta(t, want[i], got[i], 2e-5*(1+math.Abs(want[i])), "%s[%d]", out, i)
						nonzero = nonzero || want[i] != 0
					}
					if out != "local_loss" && out != LocalLossOutput && len(want) > 1 {
						assert.True(t, nonzero, "%s is all zeros", out)
					}
				}
			})
		}
	}
}

// TestRecomputedBlockGradients: with two recomputed blocks, the LM loss's
// gradient with respect to every weight still matches float64 central
// finite differences (as TestBlockGradients), for the architectures with
// the most in a block: Gemma 2 (soft-caps, sliding window, post-norms),
// Qwen3 (QK norms) and biases with GELU.
func TestRecomputedBlockGradients(t *testing.T) {
	for _, name := range []string{"gemma2", "qwen3", "llama-bias-gelu-linear"} {
		c := tinyConfigs()[name]
		t.Run(name, func(t *testing.T) {
			c.Layers, c.Vocab, c.Hidden, c.HeadDim, c.Intermediate = 2, 11, 8, 4, 12
			c.Heads, c.KVHeads = 2, 1
			if c.SlidingWindow > 0 {
				c.SlidingWindow = 2
			}
			c.QueryScale = 1 / math.Sqrt(float64(c.HeadDim))
			if c.Act == ActGELU {
				c.Act = ActGELUTanh // as in TestBlockGradients
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
				f := BuildForward(g, c, w, ForwardOptions{ComputeDType: graph.Float64, Recompute: true, Trainable: func(string) bool { return true }})
				targets := g.Input(Targets, graph.Int64, graph.S(Batch, Seq))
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
		})
	}
}
