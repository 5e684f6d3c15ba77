package evaltasks

import (
	"fmt"
	"math"
	"path/filepath"
	"unicode/utf8"
)

// Metric names a way to pick an answer from the choices' log-likelihoods.
type Metric string

const (
	// Acc takes the choice with the highest summed log-likelihood.
	Acc Metric = "acc"
	// AccNorm divides by the choice's length in characters (Unicode code
	// points, Python's len()), without the leading space: lm-eval's acc_norm.
	AccNorm Metric = "acc_norm"
	// AccBytes divides by the choice's UTF-8 length: lm-eval's acc_bytes.
	AccBytes Metric = "acc_bytes"
	// AccPerToken divides by the continuation's token count.
	AccPerToken Metric = "acc_per_token"
	// AccPMI subtracts the log-likelihood of the same continuation after the
	// unconditional context "Answer:" (OLMES, Gu et al. 2024, which the paper follows).
	AccPMI Metric = "acc_pmi"
)

// Metrics lists every metric Run reports, in a stable order.
func Metrics() []Metric { return []Metric{Acc, AccNorm, AccBytes, AccPerToken, AccPMI} }

// unconditionalContext is OLMES's context for the PMI denominator.
const unconditionalContext = "Answer:"

// DocScore holds everything the metrics need for one document, so results
// can be re-aggregated (MergeResults) or re-scored without the model.
type DocScore struct {
	Index                       int       `json:"index"` // position in Task.Docs
	ID                          string    `json:"id"`
	Gold                        int       `json:"gold"`
	LogLikelihoods              []float64 `json:"loglikelihoods"`
	UnconditionalLogLikelihoods []float64 `json:"unconditional_loglikelihoods"`
	NumTokens                   []int     `json:"num_tokens"`
	ChoiceChars                 []int     `json:"choice_chars"`
	ChoiceBytes                 []int     `json:"choice_bytes"`
	IsGreedy                    []bool    `json:"is_greedy"`
}

// Prediction is the choice the metric picks; ties go to the first choice, as
// numpy's argmax does in the harness. An empty choice divides by zero under
// the length normalizations and, as in numpy, scores -Inf.
func (d DocScore) Prediction(metric Metric) int {
	best, bestScore := 0, math.Inf(-1)
	for c, ll := range d.LogLikelihoods {
		score := ll
		switch metric {
		case AccNorm:
			score = ll / float64(d.ChoiceChars[c])
		case AccBytes:
			score = ll / float64(d.ChoiceBytes[c])
		case AccPerToken:
			score = ll / float64(d.NumTokens[c])
		case AccPMI:
			score = ll - d.UnconditionalLogLikelihoods[c]
		}
		if c == 0 || score > bestScore {
			best, bestScore = c, score
		}
	}
	return best
}

// newDocScore combines a document's conditional and unconditional results.
func newDocScore(index int, doc Doc, conditional, unconditional []Result) (DocScore, error) {
	d := DocScore{Index: index, ID: doc.ID, Gold: doc.Gold}
	for c, choice := range doc.Choices {
		res := conditional[c]
		if math.IsNaN(res.LogLikelihood) || math.IsInf(res.LogLikelihood, 1) {
			return d, fmt.Errorf("document %s choice %d: log-likelihood %v", doc.ID, c, res.LogLikelihood)
		}
		if res.NumTokens <= 0 {
			return d, fmt.Errorf("document %s choice %d: scorer reported %d continuation tokens", doc.ID, c, res.NumTokens)
		}
		chars := utf8.RuneCountInString(choice)
		d.LogLikelihoods = append(d.LogLikelihoods, res.LogLikelihood)
		d.UnconditionalLogLikelihoods = append(d.UnconditionalLogLikelihoods, unconditional[c].LogLikelihood)
		d.NumTokens = append(d.NumTokens, res.NumTokens)
		d.ChoiceChars = append(d.ChoiceChars, chars)
		d.ChoiceBytes = append(d.ChoiceBytes, len(choice))
		d.IsGreedy = append(d.IsGreedy, res.IsGreedy)
	}
	return d, nil
}

// Score is a mean over documents with its standard error.
type Score struct {
	Value float64 `json:"value"`
	// Stderr is the sample standard deviation (n-1) over sqrt(n), lm-eval's
	// mean_stderr; 0 when there are fewer than two documents.
	Stderr float64 `json:"stderr"`
}

// TaskResult is the outcome of Run on one task.
type TaskResult struct {
	Task      string `json:"task"`
	Benchmark string `json:"benchmark"`
	Source    string `json:"source,omitempty"`
	// FewshotSource says where few-shot examples came from: the pool file,
	// or the evaluated file itself (the document excluded).
	FewshotSource string `json:"fewshot_source,omitempty"`
	// TruncatedDocs counts prompts cut on the left to fit the window.
	TruncatedDocs int    `json:"truncated_docs,omitempty"`
	Shots         int    `json:"shots"`
	Seed          uint64 `json:"seed"`
	NumDocs       int    `json:"num_docs"`
	// Metric is the one a table shows for this task: DefaultMetric or the
	// user's choice at eval time. Scores holds every metric regardless.
	Metric Metric           `json:"metric,omitempty"`
	Scores map[Metric]Score `json:"scores"`
	// Subtasks and Categories break a pooled result down (MergeResults):
	// each part's scores and, for MMLU, each category's micro-average.
	Subtasks   []PartScore `json:"subtasks,omitempty"`
	Categories []PartScore `json:"categories,omitempty"`
	Docs       []DocScore  `json:"docs,omitempty"`
}

// newTaskResult computes every metric from per-document scores.
func newTaskResult(task, benchmark string, shots int, seed uint64, docs []DocScore) *TaskResult {
	return &TaskResult{Task: task, Benchmark: benchmark, Shots: shots, Seed: seed, NumDocs: len(docs),
		Scores: scoresOf(docs), Docs: docs}
}

// scoresOf computes every metric's mean and standard error over docs.
func scoresOf(docs []DocScore) map[Metric]Score {
	scores := map[Metric]Score{}
	for _, metric := range Metrics() {
		correct := make([]float64, len(docs))
		for i, d := range docs {
			if d.Prediction(metric) == d.Gold {
				correct[i] = 1
			}
		}
		scores[metric] = MeanStderr(correct)
	}
	return scores
}

// MeanStderr returns the mean of xs and its standard error.
func MeanStderr(xs []float64) Score {
	n := float64(len(xs))
	if len(xs) == 0 {
		return Score{}
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / n
	if len(xs) < 2 {
		return Score{Value: mean}
	}
	var squares float64
	for _, x := range xs {
		squares += (x - mean) * (x - mean)
	}
	return Score{Value: mean, Stderr: math.Sqrt(squares/(n-1)) / math.Sqrt(n)}
}

// MergeResults pools the documents of several results into one, as MMLU's
// 57 subjects become one score: a micro-average (every question weighs the
// same, lm-eval's weight_by_size) with the standard error over all questions,
// broken down by part and (MMLU) by category.
func MergeResults(task, benchmark string, parts ...*TaskResult) (*TaskResult, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("merge %s: no results", task)
	}
	var docs []DocScore
	for _, part := range parts {
		if part.Shots != parts[0].Shots || part.Seed != parts[0].Seed {
			return nil, fmt.Errorf("merge %s: %s ran with %d shots seed %d, %s with %d shots seed %d",
				task, parts[0].Task, parts[0].Shots, parts[0].Seed, part.Task, part.Shots, part.Seed)
		}
		if len(part.Docs) != part.NumDocs {
			return nil, fmt.Errorf("merge %s: %s has %d of its %d per-document scores", task, part.Task, len(part.Docs), part.NumDocs)
		}
		docs = append(docs, part.Docs...)
	}
	merged := newTaskResult(task, benchmark, parts[0].Shots, parts[0].Seed, docs)
	merged.Subtasks, merged.Categories = breakdown(parts)
	pools := map[string]bool{}
	for _, part := range parts {
		merged.TruncatedDocs += part.TruncatedDocs
		if part.FewshotSource != "" {
			pools[filepath.Dir(part.FewshotSource)] = true
		}
	}
	if len(pools) == 1 {
		for dir := range pools {
			merged.FewshotSource = filepath.Join(dir, "*") + " (each part's own pool)"
		}
	}
	return merged, nil
}
