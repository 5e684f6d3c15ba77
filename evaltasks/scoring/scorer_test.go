package scoring

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/evaltasks"
	"github.com/nrgraph/nrgraph/internal/testfixture"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/runtime"
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

	// lm-eval's rolling windows, worked out by hand for 100 ids and a
	// 40-position window: ids[0:41] scores targets 1..40; ids[40:81] scores
	// 41..80 (one token of context); ids[59:100] scores 81..99 (22 of context).
	windowLogProbs, err := s.ScoreSequences([][]int{doc[0:41], doc[40:81], doc[59:100]})
	require.NoError(t, err)
	wantRolling := 0.0
	for w, first := range []int{0, 0, 21} { // first scored target within each window's 40 targets
		for _, lp := range windowLogProbs[w].LogProbs[first:] {
			wantRolling -= lp
		}
	}
	assert.InDelta(t, wantRolling, nll[0].NLL, 1e-4, "the default is rolling")
	s.Windows = evaltasks.WindowsStrided
	strided, err := s.Perplexity([][]int{doc}, []int{100})
	require.NoError(t, err)
	assert.Equal(t, 99, strided[0].Tokens)
	assert.Greater(t, math.Abs(strided[0].NLL-nll[0].NLL), 1e-3, "strided windows give tokens more context")
	s.Windows = ""

	// A context over the window is cut on the left, and the cut is reported:
	// 60 context bytes + " de" = 63 tokens, 41 fit.
	cut, err := s.LogLikelihoods([]evaltasks.Request{{Context: strings.Repeat("x", 60) + " ", Continuation: "de"}, {Context: "abc ", Continuation: "de"}})
	require.NoError(t, err)
	assert.Equal(t, 22, cut[0].ContextTokensDropped)
	assert.Zero(t, cut[1].ContextTokensDropped)
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
	mmlu, err := ParseTaskSpec("group=target,format=mmlu,path=../testdata/mmlu/data")
	require.NoError(t, err)
	var samples bytes.Buffer
	opts := EvalOptions{Scorer: s, Tasks: []TaskSpec{arc, mmlu}, Texts: []TextSpec{{Group: "target", Paths: []string{text}}}, Shots: 0, Seed: 1,
		Metrics: map[string]evaltasks.Metric{"mmlu": evaltasks.AccNorm}, Samples: &samples}
	res, err := Evaluate(opts)
	require.NoError(t, err)
	require.Len(t, res.English, 1)
	assert.Equal(t, evaltasks.AccPMI, res.English[0].Metric, "OLMES's metric for ARC-Challenge")
	require.Len(t, res.Target, 1)
	assert.Equal(t, "mmlu_abstract_algebra", res.Target[0].Task, "a one-subject directory is that subject")
	assert.Equal(t, evaltasks.AccNorm, res.Target[0].Metric, "--metric overrides")
	assert.Equal(t, 3+3, bytes.Count(samples.Bytes(), []byte("\n")), "one sample line per question (3 ARC, 3 MMLU)")
	assert.Contains(t, samples.String(), `"prompt":"Question: `)

	provenance, err := NewEvalProvenance(f.Build, s, opts, []string{"nrgraph", "eval"})
	require.NoError(t, err)
	assert.Equal(t, runtime.ORTVersion, provenance.ORTVersion)
	assert.Equal(t, s.Manifest().Hash(), provenance.BuildHash)
	assert.Equal(t, filepath.Join(f.Build, build.InitFile), provenance.Parameters)
	raw, err := os.ReadFile(provenance.Parameters)
	require.NoError(t, err)
	assert.Equal(t, build.HashBytes(raw), provenance.ParametersSHA256)
	assert.Contains(t, provenance.NrgraphVersion, build.Version)
	assert.NotEmpty(t, provenance.Date)
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

// A question's continuations packed after one copy of its context score
// the same as one row per continuation, and the model reads fewer positions.
func TestPackedMatchesUnpacked(t *testing.T) {
	f := testfixture.New(t, models.NeutralResidues)
	packed, err := OpenScorer(f.Build, testfixture.ByteTokenizer{}, ScorerOptions{Threads: 1, MaxRows: 2, BOS: 1})
	require.NoError(t, err)
	defer packed.Close()
	unpacked, err := OpenScorer(f.Build, testfixture.ByteTokenizer{}, ScorerOptions{Threads: 1, MaxRows: 2, BOS: 1, Unpacked: true})
	require.NoError(t, err)
	defer unpacked.Close()

	// One token per byte: three lettered questions of four one-token
	// choices, a cloze question of multi-token choices of different lengths
	// between them, and a lone request.
	stems := []string{"Which is red? A. sky B. rose", "2+2? A. 3 B. 4 C. 5", "Pick one"}
	var reqs []evaltasks.Request
	for q, stem := range stems {
		for _, letter := range []string{"A", "B", "C", "D"} {
			reqs = append(reqs, evaltasks.Request{Context: stem + "\nAnswer:", Continuation: letter})
		}
		if q == 0 {
			reqs = append(reqs, evaltasks.Request{Context: "The cat", Continuation: " sat"}, evaltasks.Request{Context: "The cat", Continuation: " ran away"})
		}
	}
	reqs = append(reqs, evaltasks.Request{Context: "alone:", Continuation: "x"})
	want, err := unpacked.LogLikelihoods(reqs)
	require.NoError(t, err)
	before := unpacked.PositionsRead()
	got, err := packed.LogLikelihoods(reqs)
	require.NoError(t, err)
	require.Len(t, got, len(reqs))
	for i := range reqs {
		assert.InEpsilon(t, want[i].LogLikelihood, got[i].LogLikelihood, 1e-6, "request %d %+v", i, reqs[i])
		assert.Equal(t, want[i].NumTokens, got[i].NumTokens, "request %d", i)
		assert.Equal(t, want[i].IsGreedy, got[i].IsGreedy, "request %d", i)
	}
	// K continuations of a context of C tokens after BOS: unpacked rows read
	// the context K times, the packed row once (plus its last token once per
	// continuation), so (K-1)·C positions fewer.
	saved := int64(len("The cat"))
	for _, stem := range stems {
		saved += 3 * int64(len(stem+"\nAnswer:"))
	}
	assert.Equal(t, before-saved, packed.PositionsRead())

	// A build made before the packed graph existed scores one row each.
	require.NoError(t, os.Remove(filepath.Join(f.Build, build.PackedScoreGraph)))
	older, err := OpenScorer(f.Build, testfixture.ByteTokenizer{}, ScorerOptions{Threads: 1, MaxRows: 2, BOS: 1})
	require.NoError(t, err)
	defer older.Close()
	got, err = older.LogLikelihoods(reqs)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.Equal(t, before, older.PositionsRead())
}
