package trainer

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/evaltasks"
	"github.com/nrgraph/nrgraph/models"
)

// byteTokenizer maps each byte to a token (mod the test vocabulary).
type byteTokenizer struct{}

func (byteTokenizer) Encode(text string, _ bool) []int {
	ids := make([]int, len(text))
	for i := range text {
		ids[i] = int(text[i]) % testVocab
	}
	return ids
}

func TestScorerAgreesWithItselfAcrossBatchingAndWindows(t *testing.T) {
	f := newFixture(t, models.Adapters)
	s, err := OpenScorer(f.build, byteTokenizer{}, ScorerOptions{Threads: 1, MaxRows: 3, BOS: -1})
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
	direct, err := s.ScoreSequences([][]int{byteTokenizer{}.Encode("abc de", false)})
	require.NoError(t, err)
	n := len(direct[0].LogProbs)
	assert.Equal(t, 3, res[0].NumTokens) // " de": the context's trailing space moves over
	assert.InDelta(t, direct[0].LogProbs[n-1]+direct[0].LogProbs[n-2]+direct[0].LogProbs[n-3], res[0].LogLikelihood, 1e-5)

	// Sliding windows score every token but the first exactly once; with a
	// window longer than the document, the total equals one full pass.
	doc := make([]int, 100)
	for i := range doc {
		doc[i] = (i * 7) % testVocab
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
	f := newFixture(t, models.NeutralResidues)
	s, err := OpenScorer(f.build, byteTokenizer{}, ScorerOptions{Threads: 1, BOS: 1})
	require.NoError(t, err)
	defer s.Close()
	dir := t.TempDir()
	text := filepath.Join(dir, "held.jsonl")
	require.NoError(t, os.WriteFile(text, []byte(`{"text": "the cat sat on the mat"}`+"\n"+`{"text": "a second held-out document"}`+"\n"), 0o644))
	arc, err := ParseTaskSpec("en:arc:../evaltasks/testdata/arc/ARC-Challenge-Test.jsonl")
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

func TestTokenizeIsDeterministicAndSplits(t *testing.T) {
	dir := t.TempDir()
	var lines []byte
	for i := 0; i < 200; i++ {
		lines = append(lines, []byte(fmt.Sprintf(`{"text": "document number %d with some words"}`+"\n", i))...)
	}
	in := filepath.Join(dir, "in.jsonl")
	require.NoError(t, os.WriteFile(in, lines, 0o644))
	run := func(out string, workers int) TokenizeStats {
		st, err := Tokenize(context.Background(), TokenizeOptions{Inputs: []string{in}, Out: out, Tokenizer: byteTokenizer{}, TokenizerHash: "bytes", VocabSize: testVocab, BOS: 1, EOS: 2, Split: 0.1, Workers: workers})
		require.NoError(t, err)
		return st
	}
	a := run(filepath.Join(dir, "a"), 1)
	b := run(filepath.Join(dir, "b"), 4)
	b.Seconds = a.Seconds
	assert.Equal(t, a, b)
	assert.Equal(t, int64(200), a.Documents+a.ValDocuments)
	assert.InDelta(t, 20, a.ValDocuments, 12)
	ra, _ := os.ReadFile(filepath.Join(dir, "a.bin"))
	rb, _ := os.ReadFile(filepath.Join(dir, "b.bin"))
	assert.Equal(t, ra, rb, "output depends on the worker count")
	c, err := OpenCorpus([]string{filepath.Join(dir, "a")})
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, a.Tokens, c.Len())
	first := make([]int64, 3)
	c.Read(0, first)
	assert.Equal(t, []int64{1, int64('d') % testVocab, int64('o') % testVocab}, first)

	bad := filepath.Join(dir, "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte("{\"text\": \"ok\"}\n{\"body\": \"no text\"}\n"), 0o644))
	_, err = Tokenize(context.Background(), TokenizeOptions{Inputs: []string{bad}, Out: filepath.Join(dir, "c"), Tokenizer: byteTokenizer{}, VocabSize: testVocab, BOS: -1, EOS: -1})
	assert.ErrorContains(t, err, "bad.jsonl:2")
}

func TestSample(t *testing.T) {
	logits := []float32{0.1, 2.5, -1, 2.4}
	r := rand.New(rand.NewPCG(1, 2))
	assert.Equal(t, 1, sample(logits, 0, 0, r))
	assert.Equal(t, 1, sample(logits, 1, 1, r)) // top-1 sampling is greedy
	counts := map[int]int{}
	for i := 0; i < 2000; i++ {
		counts[sample(logits, 1, 2, r)]++
	}
	assert.Zero(t, counts[0]+counts[2], "sampled outside the top 2")
	// p(1)/p(3) = e^0.1 ≈ 1.105
	assert.InDelta(t, math.Exp(0.1), float64(counts[1])/float64(counts[3]), 0.15)
}

func TestTrainTokenizerFromJSONL(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "docs.jsonl")
	var lines []byte
	for i := 0; i < 50; i++ {
		lines = append(lines, []byte(fmt.Sprintf(`{"text": "le chat %d dort sur le tapis"}`+"\n", i))...)
	}
	require.NoError(t, os.WriteFile(path, lines, 0o644))
	tok, err := TrainTokenizer([]string{path}, "text", 300, []string{"<s>", "</s>"})
	require.NoError(t, err)
	ids := tok.Encode("le chat dort", false)
	assert.Less(t, len(ids), len("le chat dort"), "no merges learned from the JSONL text")
	assert.Equal(t, "le chat dort", tok.DecodeSkipSpecial(ids))
	_, err = TrainTokenizer([]string{filepath.Join(dir, "missing.jsonl")}, "text", 300, nil)
	assert.Error(t, err)
}
