package evaltasks

import (
	"bytes"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunMetricsOnNormalizationFixture checks every metric against values
// computed outside Go (a Python transcription of cacheScorer and of lm-eval's
// argmax rules). Each document makes one metric disagree with another:
// long-correct is lost by acc and won by acc_norm, words by acc_per_token
// only, pmi by acc_pmi only, accent by acc_bytes only.
func TestRunMetricsOnNormalizationFixture(t *testing.T) {
	task, err := Open(FormatJSONL, "testdata/generic/normalization.jsonl", "")
	require.NoError(t, err)
	result, err := Run(task, &cacheScorer{}, Options{})
	require.NoError(t, err)

	wantPredictions := map[Metric][]int{
		Acc:         {1, 1, 1, 1},
		AccNorm:     {0, 1, 0, 1},
		AccBytes:    {0, 1, 0, 0},
		AccPerToken: {1, 0, 1, 1},
		AccPMI:      {0, 1, 0, 1},
	}
	wantScores := map[Metric]float64{Acc: 0, AccNorm: 0.5, AccBytes: 0.75, AccPerToken: 0.25, AccPMI: 0.5}
	require.Len(t, result.Docs, 4)
	for metric, preds := range wantPredictions {
		for i, want := range preds {
			assert.Equal(t, want, result.Docs[i].Prediction(metric), "%s doc %s", metric, result.Docs[i].ID)
		}
		assert.InDelta(t, wantScores[metric], result.Scores[metric].Value, 1e-12, "%s", metric)
	}
	// Values from the Python transcription.
	assert.InDelta(t, -21.845722137054835, result.Docs[0].LogLikelihoods[0], 1e-9)
	assert.InDelta(t, -12.047311353145233, result.Docs[0].LogLikelihoods[1], 1e-9)
	assert.InDelta(t, -12.829805437205762, result.Docs[0].UnconditionalLogLikelihoods[1], 1e-9)
	assert.Equal(t, []int{3, 3}, result.Docs[3].ChoiceChars, "été is 3 characters")
	assert.Equal(t, []int{5, 3}, result.Docs[3].ChoiceBytes, "and 5 bytes")
	assert.Equal(t, []int{6, 1}, result.Docs[1].NumTokens)
	// acc_norm is 2 of 4: sample stddev sqrt(4*0.25/3), over sqrt(4).
	assert.InDelta(t, math.Sqrt(1.0/3)/2, result.Scores[AccNorm].Stderr, 1e-12)
	assert.Equal(t, "normalization", result.Benchmark)
	assert.Equal(t, 4, result.NumDocs)
}

// TestRunScoresMatchHandComputation scores the fixture capitals.jsonl and
// checks one document's log-likelihoods against the formula written out.
func TestRunScoresMatchHandComputation(t *testing.T) {
	task, err := Open(FormatJSONL, "testdata/generic/capitals.jsonl", "")
	require.NoError(t, err)
	result, err := Run(task, &cacheScorer{}, Options{})
	require.NoError(t, err)
	// Document "it": context "The capital of Italy is" has 23 characters:
	// ' ' x4, 'R' x0, 'o' x1, 'm' x0, 'e' x1 ... each term (count+1)/(length+64).
	wantRome := math.Log(5.0/87) + math.Log(1.0/88) + math.Log(2.0/89) + math.Log(1.0/90) + math.Log(2.0/91)
	assert.InDelta(t, wantRome, result.Docs[1].LogLikelihoods[0], 1e-12)
	// Unconditional: "Answer:" is 7 characters, none of " Rome" in it but 'e'.
	wantRomeUnconditional := math.Log(1.0/71) + math.Log(1.0/72) + math.Log(1.0/73) + math.Log(1.0/74) + math.Log(2.0/75)
	assert.InDelta(t, wantRomeUnconditional, result.Docs[1].UnconditionalLogLikelihoods[0], 1e-12)
}

func TestRunBatchingKeepsDocumentsContiguous(t *testing.T) {
	task, err := Open(FormatARC, "testdata/arc/ARC-Challenge-Test.jsonl", "testdata/arc/ARC-Challenge-Train.jsonl")
	require.NoError(t, err)
	var reference *TaskResult
	for _, docsPerCall := range []int{1, 2, 100} {
		scorer := &cacheScorer{}
		result, err := Run(task, scorer, Options{Shots: 5, Seed: 3, DocsPerCall: docsPerCall})
		require.NoError(t, err)
		if reference == nil {
			reference = result
		}
		assert.Equal(t, reference.Scores, result.Scores, "docs per call %d", docsPerCall)
		assert.Equal(t, reference.Docs, result.Docs, "docs per call %d", docsPerCall)

		var conditional []Request
		for _, call := range scorer.calls {
			if call[0].Context != unconditionalContext {
				conditional = append(conditional, call...)
			}
		}
		// 4 + 4 + 5 choices, each document's run contiguous with one context.
		require.Len(t, conditional, 13)
		for _, span := range [][2]int{{0, 4}, {4, 8}, {8, 13}} {
			for _, req := range conditional[span[0]:span[1]] {
				assert.Equal(t, conditional[span[0]].Context, req.Context)
			}
		}
		assert.NotEqual(t, conditional[0].Context, conditional[4].Context)
	}
}

func TestRunScoresEachUnconditionalContinuationOnce(t *testing.T) {
	task, err := Open(FormatMMLU, "testdata/mmlu/data/test/abstract_algebra_test.csv", "")
	require.NoError(t, err)
	scorer := &cacheScorer{}
	_, err = Run(task, scorer, Options{DocsPerCall: 1})
	require.NoError(t, err)
	var unconditional []Request
	for _, call := range scorer.calls {
		if call[0].Context == unconditionalContext {
			unconditional = append(unconditional, call...)
		}
	}
	assert.Equal(t, []Request{{"Answer:", " A"}, {"Answer:", " B"}, {"Answer:", " C"}, {"Answer:", " D"}}, unconditional)
}

func TestRunLimitAndProgress(t *testing.T) {
	task, err := Open(FormatHellaSwag, "testdata/hellaswag/hellaswag_val.jsonl", "")
	require.NoError(t, err)
	var progress bytes.Buffer
	result, err := Run(task, &cacheScorer{}, Options{Limit: 4, DocsPerCall: 2, Progress: &progress})
	require.NoError(t, err)
	assert.Equal(t, 4, result.NumDocs)
	assert.Equal(t, "testdata/hellaswag/hellaswag_val.jsonl", result.Source)
	lines := bytes.Split(bytes.TrimSpace(progress.Bytes()), []byte("\n"))
	require.Len(t, lines, 2)
	assert.Regexp(t, `^hellaswag: 2/4 documents \(50%\), acc_norm so far (0\.0000|0\.5000|1\.0000)$`, string(lines[0]))
	assert.Contains(t, string(lines[1]), "hellaswag: 4/4 documents (100%)")

	full, err := Run(task, &cacheScorer{}, Options{})
	require.NoError(t, err)
	assert.Equal(t, full.Docs[:4], result.Docs, "a limit does not change the first documents")
}

func TestRunErrors(t *testing.T) {
	task, err := Open(FormatJSONL, "testdata/generic/capitals.jsonl", "")
	require.NoError(t, err)
	tests := []struct {
		name    string
		scorer  Scorer
		opts    Options
		wantErr string
	}{
		{"scorer error", &cacheScorer{failAfter: 1}, Options{}, "run capitals: documents 0-2: device lost"},
		{"unconditional error", &cacheScorer{failAfter: 2}, Options{}, "unconditional scores: device lost"},
		{"short answer", &cacheScorer{dropOne: true}, Options{}, "scorer returned 6 results for 7 requests"},
		{"zero tokens", zeroTokenScorer{}, Options{}, "scorer reported 0 continuation tokens"},
		{"too many shots", &cacheScorer{}, Options{Shots: 3}, "3 shots requested but the few-shot pool has 2 examples"},
		{"negative limit", &cacheScorer{}, Options{Limit: -1}, "negative limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(task, tt.scorer, tt.opts)
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}

type zeroTokenScorer struct{}

func (zeroTokenScorer) LogLikelihoods(reqs []Request) ([]Result, error) {
	return make([]Result, len(reqs)), nil
}

func TestMeanStderr(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want Score
	}{
		{"empty", nil, Score{}},
		{"one", []float64{1}, Score{Value: 1}},
		// mean 0.75; squared deviations 3*0.0625 + 0.5625 = 0.75; /3 = 0.25; sqrt 0.5; /sqrt(4) = 0.25.
		{"three of four", []float64{1, 0, 1, 1}, Score{Value: 0.75, Stderr: 0.25}},
		{"all equal", []float64{1, 1, 1}, Score{Value: 1, Stderr: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MeanStderr(tt.xs)
			assert.InDelta(t, tt.want.Value, got.Value, 1e-12)
			assert.InDelta(t, tt.want.Stderr, got.Stderr, 1e-12)
		})
	}
}

func TestMergeResultsMicroAverages(t *testing.T) {
	task, err := Open(FormatJSONL, "testdata/generic/normalization.jsonl", "")
	require.NoError(t, err)
	capitals, err := Open(FormatJSONL, "testdata/generic/capitals.jsonl", "")
	require.NoError(t, err)
	a, err := Run(task, &cacheScorer{}, Options{})
	require.NoError(t, err)
	b, err := Run(capitals, &cacheScorer{}, Options{})
	require.NoError(t, err)

	merged, err := MergeResults("pooled", "pooled", a, b)
	require.NoError(t, err)
	assert.Equal(t, 7, merged.NumDocs)
	want := (4*a.Scores[AccNorm].Value + 3*b.Scores[AccNorm].Value) / 7
	assert.InDelta(t, want, merged.Scores[AccNorm].Value, 1e-12, "every document weighs the same")

	c, err := Run(capitals, &cacheScorer{}, Options{Seed: 9})
	require.NoError(t, err)
	_, err = MergeResults("pooled", "pooled", a, c)
	assert.ErrorContains(t, err, "seed")
	stripped := *b
	stripped.Docs = nil
	_, err = MergeResults("pooled", "pooled", a, &stripped)
	assert.ErrorContains(t, err, "has 0 of its 3 per-document scores")
	_, err = MergeResults("pooled", "pooled")
	assert.ErrorContains(t, err, "no results")
}

func TestPredictionTiesGoToFirstChoice(t *testing.T) {
	d := DocScore{
		LogLikelihoods:              []float64{-2, -2, -3},
		UnconditionalLogLikelihoods: []float64{-1, -1, -1},
		NumTokens:                   []int{1, 1, 1},
		ChoiceChars:                 []int{2, 2, 2},
		ChoiceBytes:                 []int{2, 2, 2},
	}
	for _, metric := range Metrics() {
		assert.Equal(t, 0, d.Prediction(metric), "%s", metric)
	}
}

func TestEmptyChoiceIsNeverPickedByLengthNormalization(t *testing.T) {
	task := &Task{Name: "empty", Docs: []Doc{{ID: "e", Query: "Q:", Choices: []string{"", "yes"}, Gold: 1}}}
	result, err := Run(task, &cacheScorer{}, Options{})
	require.NoError(t, err)
	assert.Equal(t, 0, result.Docs[0].Prediction(Acc), "the bare space is likelier")
	assert.Equal(t, 1, result.Docs[0].Prediction(AccNorm))
	assert.Equal(t, 1, result.Docs[0].Prediction(AccBytes))
}
