package models

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
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
					return runGraphOutputs(t, g, trainFeeds(e, c.Vocab)), len(g.Nodes())
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
		t.Run(name, func(t *testing.T) { checkBlockGradients(t, name, tinyConfigs()[name], 2, true) })
	}
}
