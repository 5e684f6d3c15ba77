package models

import (
	"fmt"
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
				// The feeds have 5 positions: FFN chunks of 2 tokens make 3.
				run := func(recompute bool, chunk int) (map[string][]float64, int) {
					m := Model{Config: c, Weights: w, Ext: ext, Recompute: recompute, Seq: 5, FFNChunkTokens: chunk}
					g, e, err := BuildTrainGraph(m, graph.DefaultAdamW(), GradientsOnly)
					require.NoError(t, err)
					return runGraphOutputs(t, g, trainFeeds(e, c.Vocab)), len(g.Nodes())
				}
				stored, storedNodes := run(false, 0)
				recomputed, recomputedNodes := run(true, 5)
				chunked, chunkedNodes := run(true, 2)
				assert.Greater(t, recomputedNodes, storedNodes+50, "nodes: the recomputing graph re-runs no blocks")
				assert.Greater(t, chunkedNodes, recomputedNodes+2*c.Layers, "nodes: the FFN is not chunked")
				for _, got := range []map[string][]float64{recomputed, chunked} {
					require.Equal(t, len(stored), len(got))
					for out, want := range stored {
						require.Len(t, got[out], len(want), out)
						nonzero := false
						for i := range want {
							assert.InDelta(t, want[i], got[out][i], 2e-5*(1+math.Abs(want[i])), "%s[%d]", out, i)
							nonzero = nonzero || want[i] != 0
						}
						if out != "local_loss" && out != LocalLossOutput && len(want) > 1 {
							assert.True(t, nonzero, "%s is all zeros", out)
						}
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
// Qwen3 (QK norms) and biases with GELU; whole FFNs and FFNs in position
// chunks of 1 and 3 tokens (of 4 positions: 4 and 2 chunks).
func TestRecomputedBlockGradients(t *testing.T) {
	for _, name := range []string{"gemma2", "qwen3", "llama-bias-gelu-linear"} {
		for _, chunk := range []int{0, 1, 3} {
			t.Run(fmt.Sprintf("%s/chunk%d", name, chunk), func(t *testing.T) {
				checkBlockGradients(t, name, tinyConfigs()[name], 2, ForwardOptions{Recompute: true, Seq: 4, FFNChunkTokens: chunk})
			})
		}
	}
}
