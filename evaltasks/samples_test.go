package evaltasks

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunLogsEverySample(t *testing.T) {
	task, err := Open(FormatARC, "testdata/arc/ARC-Challenge-Test.jsonl", "testdata/arc/ARC-Challenge-Train.jsonl")
	require.NoError(t, err)
	var samples bytes.Buffer
	result, err := Run(task, &cacheScorer{}, Options{Shots: 2, Seed: 1, Samples: &samples})
	require.NoError(t, err)
	assert.Equal(t, "testdata/arc/ARC-Challenge-Train.jsonl", result.FewshotSource)

	assert.Contains(t, samples.String(), `"acc_pmi":`)
	var records []SampleRecord
	lines := bufio.NewScanner(&samples)
	lines.Buffer(nil, 1<<20)
	for lines.Scan() {
		var rec SampleRecord
		require.NoError(t, json.Unmarshal(lines.Bytes(), &rec))
		records = append(records, rec)
	}
	require.Len(t, records, len(task.Docs))
	for i, rec := range records {
		prompt, err := task.Prompt(i, 2, 1)
		require.NoError(t, err)
		assert.Equal(t, prompt, rec.Prompt)
		assert.Equal(t, i, rec.DocID)
		assert.Equal(t, task.Docs[i].Gold, rec.Target)
		require.Len(t, rec.Continuations, len(task.Docs[i].Choices))
		assert.Equal(t, " "+task.Docs[i].Choices[0], rec.Continuations[0])
		assert.Equal(t, result.Docs[i].LogLikelihoods, rec.LogLikelihoods)
		// The logged per-choice numbers reproduce the prediction on their own.
		for c, ll := range rec.LogLikelihoods {
			assert.Equal(t, cacheLogLikelihood(rec.Prompt, rec.Continuations[c]), ll)
		}
		assert.Equal(t, result.Docs[i].Prediction(AccPMI), rec.Predictions[AccPMI])
		assert.Equal(t, rec.Predictions[Acc] == rec.Target, rec.Correct[Acc])
	}
}

// cuttingScorer reports every context over 60 characters as truncated.
type cuttingScorer struct{ cacheScorer }

func (s *cuttingScorer) LogLikelihoods(reqs []Request) ([]Result, error) {
	out, err := s.cacheScorer.LogLikelihoods(reqs)
	for i, req := range reqs {
		if len(req.Context) > 60 && err == nil {
			out[i].ContextTokensDropped = len(req.Context) - 60
		}
	}
	return out, err
}

func TestRunWarnsOnTruncation(t *testing.T) {
	task, err := Open(FormatJSONL, "testdata/generic/capitals.jsonl", "")
	require.NoError(t, err)
	var progress bytes.Buffer
	result, err := Run(task, &cuttingScorer{}, Options{Shots: 2, Progress: &progress})
	require.NoError(t, err)
	var long int
	for i := range task.Docs {
		prompt, _ := task.Prompt(i, 2, 0)
		if len(prompt) > 60 {
			long++
		}
	}
	require.Positive(t, long, "the fixture must have prompts over 60 characters")
	assert.Equal(t, long, result.TruncatedDocs)
	assert.Contains(t, progress.String(), "warning: capitals: ")
	assert.Contains(t, progress.String(), "prompts were cut on the left")

	progress.Reset()
	result, err = Run(task, &cuttingScorer{}, Options{Progress: &progress})
	require.NoError(t, err)
	assert.Zero(t, result.TruncatedDocs)
	assert.False(t, strings.Contains(progress.String(), "warning"))
}
