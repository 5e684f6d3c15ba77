package evaltasks

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// LoadARC loads AI2's ARC JSONL (ARC-Challenge-Test.jsonl and friends: id,
// question{stem, choices[{text,label}]}, answerKey) or a Hugging Face export
// of allenai/ai2_arc (id, question, choices{text[], label[]}, answerKey;
// JSONL as datasets' to_json writes it). answerKey is matched
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
	ID string `json:"id"`
	// Question is an object {stem, choices} in AI2's releases and a plain
	// string in Hugging Face exports, whose choices are the top-level
	// {"text": [...], "label": [...]}.
	Question  *json.RawMessage `json:"question"`
	Choices   *json.RawMessage `json:"choices"`
	AnswerKey *string          `json:"answerKey"`
}

// hfChoicesRecord is the column-wise choices of the Hugging Face exports of
// ARC (allenai/ai2_arc) and CommonsenseQA (tau/commonsense_qa).
type hfChoicesRecord struct {
	Text  []string `json:"text"`
	Label []string `json:"label"`
}

// labeledItem is a decoded AI2-style record, shared by ARC and CommonsenseQA.
type labeledItem struct {
	ID, Stem      string
	Labels, Texts []string
	Gold          int
}

// parseLabeledRecord decodes one AI2-style or Hugging Face-export record and
// finds the gold choice by matching answerKey against the choice labels.
func parseLabeledRecord(raw []byte) (labeledItem, error) {
	var rec labeledRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return labeledItem{}, err
	}
	if err := requireFields("answerKey", rec.AnswerKey, "question", rec.Question); err != nil {
		return labeledItem{}, err
	}
	item := labeledItem{ID: rec.ID, Gold: -1}
	var stem string
	if err := json.Unmarshal(*rec.Question, &stem); err == nil {
		// Hugging Face export.
		var choices hfChoicesRecord
		if rec.Choices == nil || json.Unmarshal(*rec.Choices, &choices) != nil {
			return labeledItem{}, fmt.Errorf(`field "choices" must be {"text": [...], "label": [...]} in a Hugging Face export (question is a string)`)
		}
		if len(choices.Text) != len(choices.Label) {
			return labeledItem{}, fmt.Errorf("choices has %d texts but %d labels", len(choices.Text), len(choices.Label))
		}
		item.Stem, item.Labels, item.Texts = stem, choices.Label, choices.Text
	} else {
		var q labeledQuestionRecord
		if err := json.Unmarshal(*rec.Question, &q); err != nil {
			return labeledItem{}, fmt.Errorf("field \"question\" is neither AI2's {stem, choices} object nor a Hugging Face export's string: %s", truncateJSON(*rec.Question))
		}
		if err := requireFields("question.stem", q.Stem); err != nil {
			return labeledItem{}, err
		}
		item.Stem = *q.Stem
		for i, choice := range q.Choices {
			if err := requireFields("label", choice.Label, "text", choice.Text); err != nil {
				return labeledItem{}, fmt.Errorf("choice %d: %w", i, err)
			}
			item.Labels = append(item.Labels, *choice.Label)
			item.Texts = append(item.Texts, *choice.Text)
		}
	}
	if len(item.Texts) == 0 {
		return labeledItem{}, fmt.Errorf("no choices")
	}
	for i, label := range item.Labels {
		if label == *rec.AnswerKey {
			item.Gold = i
			break
		}
	}
	if item.Gold < 0 {
		return labeledItem{}, fmt.Errorf("answerKey %q is not among the choice labels %v", *rec.AnswerKey, item.Labels)
	}
	return item, nil
}

// truncateJSON shortens a raw value for an error message.
func truncateJSON(raw []byte) string {
	if len(raw) > 60 {
		return string(raw[:60]) + "..."
	}
	return string(raw)
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
