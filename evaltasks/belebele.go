package evaltasks

import (
	"encoding/json"
	"fmt"
	"io"
)

// LoadBelebele loads one language file of Belebele (fra_Latn.jsonl: link,
// question_number, flores_passage, question, mc_answer1..4,
// correct_answer_num, dialect, ds). The task is named after the file:
// belebele_fra_Latn.
func LoadBelebele(path string) (*Task, error) { return loadFile(path, parseBelebele) }

type belebeleRecord struct {
	Link             string           `json:"link"`
	QuestionNumber   json.RawMessage  `json:"question_number"`
	FloresPassage    *string          `json:"flores_passage"`
	Question         *string          `json:"question"`
	Answer1          *string          `json:"mc_answer1"`
	Answer2          *string          `json:"mc_answer2"`
	Answer3          *string          `json:"mc_answer3"`
	Answer4          *string          `json:"mc_answer4"`
	CorrectAnswerNum *json.RawMessage `json:"correct_answer_num"`
}

func parseBelebele(r io.Reader, name string) (*Task, error) {
	task := &Task{
		Name:      BenchmarkBelebele + "_" + fileStem(name),
		Benchmark: BenchmarkBelebele,
		// harness belebele/_default_template_yaml: few-shot from the test split
		// itself with first_n (the evaluated document excluded).
		Sampler: SampleFirstN,
	}
	choiceLabels := letters(4)
	return collectJSONDocs(r, name, task, func(raw []byte) (Doc, error) {
		var rec belebeleRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			return Doc{}, err
		}
		if err := requireFields("flores_passage", rec.FloresPassage, "question", rec.Question,
			"mc_answer1", rec.Answer1, "mc_answer2", rec.Answer2, "mc_answer3", rec.Answer3,
			"mc_answer4", rec.Answer4, "correct_answer_num", rec.CorrectAnswerNum); err != nil {
			return Doc{}, err
		}
		answerNum, err := flexibleIndex(*rec.CorrectAnswerNum)
		if err != nil {
			return Doc{}, fmt.Errorf("correct_answer_num: %w", err)
		}
		gold := answerNum - 1 // 1-based upstream
		if err := checkGold(gold, len(choiceLabels)); err != nil {
			return Doc{}, fmt.Errorf("correct_answer_num %d: %w", answerNum, err)
		}
		// harness belebele/_default_template_yaml (after the 2024 fix of its
		// full-width colon): "P: {{flores_passage}}\nQ: {{question.strip()}}\nA: ..\nD: ..\nAnswer:"
		options := []string{*rec.Answer1, *rec.Answer2, *rec.Answer3, *rec.Answer4}
		return Doc{
			ID:      fmt.Sprintf("%s#%s", rec.Link, rec.QuestionNumber),
			Query:   letteredQuery("P: "+*rec.FloresPassage+"\nQ: "+pyStrip(*rec.Question), choiceLabels, options, ": "),
			Choices: choiceLabels,
			Gold:    gold,
		}, nil
	})
}
