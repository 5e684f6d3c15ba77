package evaltasks

import (
	"fmt"
	"testing"
)

// constantScorer answers instantly, so BenchmarkRun measures this package's
// own overhead: prompt assembly, few-shot sampling, metric bookkeeping.
type constantScorer struct{}

func (constantScorer) LogLikelihoods(reqs []Request) ([]Result, error) {
	out := make([]Result, len(reqs))
	for i := range out {
		out[i] = Result{LogLikelihood: -float64(i%4 + 1), NumTokens: 1}
	}
	return out, nil
}

// BenchmarkRun evaluates a 1,000-question, 5-shot task. Target: well under
// 50 ms per run (about 50 µs per question), negligible next to a model that
// needs milliseconds per question.
func BenchmarkRun(b *testing.B) {
	task := &Task{Name: "synthetic", DefaultShots: 5}
	for i := range 1000 {
		task.Docs = append(task.Docs, Doc{
			ID:      fmt.Sprint(i),
			Query:   fmt.Sprintf("Question: synthetic question number %d about a topic?\nAnswer:", i),
			Choices: []string{"first answer", "second answer", "third", "a fourth, longer answer"},
			Gold:    i % 4,
		})
	}
	for b.Loop() {
		if _, err := Run(task, constantScorer{}, Options{Shots: 5, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
