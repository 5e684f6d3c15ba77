package evaltasks

import (
	"encoding/json"
	"fmt"
	"io"
)

// SampleRecord is one line of --log-samples: what lm-eval's log_samples
// keeps for a multiple-choice document (doc_id, target, arguments, resps)
// plus the per-choice numbers every metric is computed from, so a reader can
// recompute any metric without the model.
type SampleRecord struct {
	Task  string `json:"task"`
	DocID int    `json:"doc_id"` // position in the task's file
	ID    string `json:"id"`
	// Prompt is the full context: description, few-shot examples and query.
	Prompt string `json:"prompt"`
	// Continuations are the scored strings, " " + choice.
	Continuations []string `json:"continuations"`
	Target        int      `json:"target"`
	DocScore
	Predictions map[Metric]int  `json:"predictions"`
	Correct     map[Metric]bool `json:"correct"`
	// ContextTokensDropped counts prompt tokens cut on the left to fit the
	// model's window (most over all choices); 0 when nothing was cut.
	ContextTokensDropped int `json:"context_tokens_dropped"`
}

// sampleWriter writes SampleRecords as JSON lines.
type sampleWriter struct {
	enc *json.Encoder
}

func newSampleWriter(w io.Writer) *sampleWriter {
	if w == nil {
		return nil
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &sampleWriter{enc: enc}
}

func (s *sampleWriter) write(task string, doc Doc, score DocScore, reqs []Request, dropped int) error {
	if s == nil {
		return nil
	}
	rec := SampleRecord{Task: task, DocID: score.Index, ID: doc.ID, Prompt: reqs[0].Context, Target: doc.Gold,
		DocScore: score, Predictions: map[Metric]int{}, Correct: map[Metric]bool{}, ContextTokensDropped: dropped}
	for _, req := range reqs {
		rec.Continuations = append(rec.Continuations, req.Continuation)
	}
	for _, m := range Metrics() {
		rec.Predictions[m] = score.Prediction(m)
		rec.Correct[m] = rec.Predictions[m] == doc.Gold
	}
	if err := s.enc.Encode(rec); err != nil {
		return fmt.Errorf("log samples: %w", err)
	}
	return nil
}
