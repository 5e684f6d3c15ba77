package evaltasks

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// LoadARC loads AI2's ARC JSONL (ARC-Challenge-Test.jsonl and friends: id,
// question{stem, choices[{text,label}]}, answerKey). answerKey is matched
// against the choice labels, which are "A".."E" for most questions and
// "1".."4" for some.
func LoadARC(path string) (*Task, error) { return loadFile(path, parseARC) }

// choiceRecord is the {label, text} choice shared by ARC and CommonsenseQA.
type choiceRecord struct {
	Label *string `json:"label"`
	Text  *string `json:"text"`
}

type labeledQuestionRecord struct {
	Stem    *string        `json:"stem"`
	Choices []choiceRecord `json:"choices"`
}

type labeledRecord struct {
	ID        string                 `json:"id"`
	Question  *labeledQuestionRecord `json:"question"`
	AnswerKey *string                `json:"answerKey"`
}

// labeledItem is a decoded AI2-style record, shared by ARC and CommonsenseQA.
type labeledItem struct {
	ID, Stem      string
	Labels, Texts []string
	Gold          int
}

// parseLabeledRecord decodes one AI2-style record and finds the gold choice
// by matching answerKey against the choice labels.
func parseLabeledRecord(raw []byte) (labeledItem, error) {
	var rec labeledRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return labeledItem{}, err
	}
	if err := requireFields("answerKey", rec.AnswerKey); err != nil {
		return labeledItem{}, err
	}
	if rec.Question == nil {
		return labeledItem{}, fmt.Errorf("missing field %q", "question")
	}
	if err := requireFields("question.stem", rec.Question.Stem); err != nil {
		return labeledItem{}, err
	}
	item := labeledItem{ID: rec.ID, Stem: *rec.Question.Stem, Gold: -1}
	for i, choice := range rec.Question.Choices {
		if err := requireFields("label", choice.Label, "text", choice.Text); err != nil {
			return labeledItem{}, fmt.Errorf("choice %d: %w", i, err)
		}
		if *choice.Label == *rec.AnswerKey && item.Gold < 0 {
			item.Gold = i
		}
		item.Labels = append(item.Labels, *choice.Label)
		item.Texts = append(item.Texts, *choice.Text)
	}
	if len(item.Texts) == 0 {
		return labeledItem{}, fmt.Errorf("no choices")
	}
	if item.Gold < 0 {
		return labeledItem{}, fmt.Errorf("answerKey %q is not among the choice labels %v", *rec.AnswerKey, item.Labels)
	}
	return item, nil
}

func parseARC(r io.Reader, name string) (*Task, error) {
	taskName := arcTaskName(name)
	task := &Task{Name: taskName, Benchmark: taskName, Sampler: SampleRandom, DefaultShots: 5}
	return collectJSONDocs(r, name, task, func(raw []byte) (Doc, error) {
		item, err := parseLabeledRecord(raw)
		if err != nil {
			return Doc{}, err
		}
		// harness arc_easy.yaml: doc_to_text "Question: {{question}}\nAnswer:",
		// doc_to_choice the choice texts; no strip().
		return Doc{ID: item.ID, Query: "Question: " + item.Stem + "\nAnswer:", Choices: item.Texts, Gold: item.Gold}, nil
	})
}

// arcTaskName tells ARC-Easy from ARC-Challenge by AI2's file names; the
// paper only uses the challenge set, so that is the default.
func arcTaskName(path string) string {
	if strings.Contains(strings.ToLower(filepath.Base(path)), "easy") {
		return "arc_easy"
	}
	return BenchmarkARCChallenge
}
