package scoring

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/evaltasks"
	"github.com/nrgraph/nrgraph/internal/testfixture"
	"github.com/nrgraph/nrgraph/models"
)

func TestScorerAgreesWithItselfAcrossBatchingAndWindows(t *testing.T) {
	f := testfixture.New(t, models.Adapters)
	s, err := OpenScorer(f.Build, testfixture.ByteTokenizer{}, ScorerOptions{Threads: 1, MaxRows: 3, BOS: -1})
	require.NoError(t, err)
	defer s.Close()

	// Batching and padding do not change a sequence's scores.
	seqs := [][]int{{1, 2, 3, 4, 5, 6, 7}, {9, 8}, {3, 3, 3, 3}, {5, 1, 5, 1, 5}}
	batched, err := s.ScoreSequences(seqs)
	require.NoError(t, err)
	for i, q := range seqs {
		alone, err := s.ScoreSequences([][]int{q})
		require.NoError(t, err)
		assert.InDeltaSlice(t, alone[0].LogProbs, batched[i].LogProbs, 1e-5)
		for _, lp := range alone[0].LogProbs {
			assert.Less(t, lp, 0.0)
			assert.Greater(t, lp, -20.0)
		}
	}

	// A request's log-likelihood is the sum over its continuation tokens.
	res, err := s.LogLikelihoods([]evaltasks.Request{{Context: "abc ", Continuation: "de"}})
	require.NoError(t, err)
	direct, err := s.ScoreSequences([][]int{testfixture.ByteTokenizer{}.Encode("abc de", false)})
	require.NoError(t, err)
	n := len(direct[0].LogProbs)
	assert.Equal(t, 3, res[0].NumTokens) // " de": the context's trailing space moves over
	assert.InDelta(t, direct[0].LogProbs[n-1]+direct[0].LogProbs[n-2]+direct[0].LogProbs[n-3], res[0].LogLikelihood, 1e-5)

	// Sliding windows score every token but the first exactly once; with a
	// window longer than the document, the total equals one full pass.
	doc := make([]int, 100)
	for i := range doc {
		doc[i] = (i * 7) % testfixture.Vocab
	}
	s.maxLen = 40
	nll, err := s.Perplexity([][]int{doc}, []int{100})
	require.NoError(t, err)
	assert.Equal(t, 99, nll[0].Tokens)
	short := doc[:30]
	full, err := s.ScoreSequences([][]int{short})
	require.NoError(t, err)
	want := 0.0
	for _, lp := range full[0].LogProbs {
		want -= lp
	}
	got, err := s.Perplexity([][]int{short}, []int{30})
	require.NoError(t, err)
	assert.InDelta(t, want, got[0].NLL, 1e-4)
	assert.False(t, math.IsNaN(nll[0].NLL))
}

func TestEvaluateWritesAReport(t *testing.T) {
	f := testfixture.New(t, models.NeutralResidues)
	s, err := OpenScorer(f.Build, testfixture.ByteTokenizer{}, ScorerOptions{Threads: 1, BOS: 1})
	require.NoError(t, err)
	defer s.Close()
	dir := t.TempDir()
	text := filepath.Join(dir, "held.jsonl")
	require.NoError(t, os.WriteFile(text, []byte(`{"text": "the cat sat on the mat"}`+"\n"+`{"text": "a second held-out document"}`+"\n"), 0o644))
	arc, err := ParseTaskSpec("en:arc:../testdata/arc/ARC-Challenge-Test.jsonl")
	require.NoError(t, err)
	res, err := Evaluate(EvalOptions{Scorer: s, Tasks: []TaskSpec{arc}, Texts: []TextSpec{{Group: "target", Paths: []string{text}}}, Shots: 0, Seed: 1})
	require.NoError(t, err)
	require.Len(t, res.English, 1)
	require.NotNil(t, res.TargetText)
	assert.Equal(t, len("the cat sat on the mat")+len("a second held-out document"), res.TargetText.Bytes)
	assert.Positive(t, res.TargetText.BitsPerByte)
	out := filepath.Join(dir, "eval.json")
	require.NoError(t, WriteEvalFile(out, EvalFile{Target: "French", Result: *res}))
	rep, err := CollectReport([]string{out})
	require.NoError(t, err)
	assert.Contains(t, rep.Markdown(), models.NeutralResidues)
	_, err = ParseTaskSpec("xx:arc:file")
	assert.ErrorContains(t, err, "group")
}
