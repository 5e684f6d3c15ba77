package models

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/internal/gradcheck"
)

// TestChunkedHeadMatchesFullLogits: the training graph's losses and
// gradients, and the score graph's target log-probs and is-greedy flags,
// are the same whether the LM head works on the whole vocabulary or on
// chunks of 7 rows (the last one partial), to float32 rounding. Tied and
// untied heads, and Gemma 2's final soft-cap.
func TestChunkedHeadMatchesFullLogits(t *testing.T) {
	for _, name := range []string{"llama-tied", "llama-gqa-untied", "gemma2"} {
		t.Run(name, func(t *testing.T) {
			c := tinyConfigs()[name]
			if name == "gemma2" {
				c.FinalSoftcap = 3 // small enough to bend these logits
			}
			require.NotZero(t, c.Vocab%7, "the last chunk should be partial")
			w, _ := randomCheckpoint(c, 5, true)
			ext, _ := DefaultExtension(NeutralResidues)
			feeds := func(e *Extended) map[string]gradcheck.Feed { return trainFeeds(e, c.Vocab) }
			run := func(rows int) (train, score map[string][]float64, headNodes int) {
				m := Model{Config: c, Weights: w, Ext: ext, HeadChunkRows: rows}
				g, e, err := BuildTrainGraph(m, graph.DefaultAdamW(), GradientsOnly)
				require.NoError(t, err)
				train = runGraphOutputs(t, g, feeds(e))
				sg, se, err := BuildScoreGraph(m)
				require.NoError(t, err)
				f := feeds(se)
				for _, name := range []string{LossMask, Domain, LossTokens, OrigTokens, NewTokens} {
					delete(f, name)
				}
				score = runGraphOutputs(t, sg, f)
				for _, n := range sg.Nodes() {
					if n.Op != "Gemm" {
						continue
					}
					if b := n.Inputs[1]; b.Producer != nil && b.Producer.Op == "Cast" && strings.Contains(b.Producer.Inputs[0].Name(), ".rows_") {
						headNodes++
					}
				}
				return train, score, headNodes
			}
			fullTrain, fullScore, _ := run(0)
			chunkTrain, chunkScore, chunks := run(7)
			assert.Equal(t, (c.Vocab+6)/7, chunks, "head chunks in the score graph")
			require.Equal(t, len(fullTrain), len(chunkTrain))
			for out, want := range fullTrain {
				got := chunkTrain[out]
				require.Len(t, got, len(want), out)
				for i := range want {
					assert.InDelta(t, want[i], got[i], 2e-5*(1+abs(want[i])), "%s[%d]", out, i)
				}
			}
			assert.Equal(t, fullScore[TargetIsArgmax], chunkScore[TargetIsArgmax])
			for i, want := range fullScore[TargetLogProbs_] {
				assert.InDelta(t, want, chunkScore[TargetLogProbs_][i], 2e-5*(1+abs(want)), "logp[%d]", i)
			}
		})
	}
}

// trainFeeds feeds a gradient graph of a tiny model (vocab rows) one
// batch of testIDs/testMask: targets up to the last id, one row of each
// domain, the batch's token counts (9 loss tokens, row 0 of the original
// domain 5 real tokens, row 1 4) and the trainable tensors' initial values
// perturbed, so adapter outputs are non-zero and gradients reach every
// tensor.
func trainFeeds(e *Extended, vocab int) map[string]gradcheck.Feed {
	f := initFeeds(e)
	f[Targets] = gradcheck.Feed{Shape: []int64{2, 5}, Data: []float64{3, 0, 11, float64(vocab - 1), 7, 14, 2, 28, 35, 6}}
	f[LossMask] = testMask
	f[Domain] = gradcheck.Feed{Shape: []int64{2}, Data: []float64{1, 0}}
	f[LossTokens] = gradcheck.Feed{Shape: []int64{}, Data: []float64{9}}
	f[OrigTokens] = gradcheck.Feed{Shape: []int64{}, Data: []float64{5}}
	f[NewTokens] = gradcheck.Feed{Shape: []int64{}, Data: []float64{4}}
	for _, p := range e.Trainable {
		vals := f[p.Name()].Data
		for i := range vals {
			vals[i] += 0.05 * float64((i*7)%11-5)
		}
	}
	return f
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestChunkedHeadRecomputesLogits: the chunked head's backward pass reads
// no forward value of [tokens, rows] (a chunk's logits or their exp): it
// recomputes each chunk's logits, so at most one chunk's are alive.
func TestChunkedHeadRecomputesLogits(t *testing.T) {
	c := tinyConfigs()["llama-tied"]
	w, _ := randomCheckpoint(c, 5, true)
	ext, _ := DefaultExtension(NeutralResidues)
	g, _, err := BuildTrainGraph(Model{Config: c, Weights: w, Ext: ext, HeadChunkRows: 7}, graph.DefaultAdamW(), GradientsOnly)
	require.NoError(t, err)
	var loss *graph.Value
	for _, o := range g.Outputs() {
		if o.Name() == graph.LossOutput {
			loss = o
		}
	}
	require.NotNil(t, loss)
	chunkWide := func(v *graph.Value) bool {
		if v == nil || v.Rank() != 2 {
			return false
		}
		rows, ok := v.Shape[1].Size()
		return ok && rows == 7 // the full chunks
	}
	recomputedProducts := 0
	for _, n := range g.LiveNodes() {
		if n.ID <= loss.Producer.ID {
			continue
		}
		for _, in := range n.Inputs {
			if chunkWide(in) && in.Producer != nil && in.Producer.ID < loss.Producer.ID {
				t.Errorf("backward node %s (%s) reads the forward %s (%s)", n.Name, n.Op, in, in.Producer.Op)
			}
		}
		if n.Op == "Gemm" && chunkWide(n.Outputs[0]) {
			recomputedProducts++
		}
	}
	assert.Equal(t, c.Vocab/7, recomputedProducts, "one recomputed product per full chunk")
}
