package evaltasks

import "io"

// LoadCommonsenseQA loads CommonsenseQA's JSONL (train_rand_split.jsonl,
// dev_rand_split.jsonl: id, question{stem, choices[{label,text}],
// question_concept}, answerKey). The unlabelled test split is rejected.
func LoadCommonsenseQA(path string) (*Task, error) { return loadFile(path, parseCommonsenseQA) }

func parseCommonsenseQA(r io.Reader, name string) (*Task, error) {
	task := &Task{Name: BenchmarkCommonsenseQA, Benchmark: BenchmarkCommonsenseQA, Sampler: SampleRandom, DefaultShots: 5}
	return collectJSONDocs(r, name, task, func(raw []byte) (Doc, error) {
		item, err := parseLabeledRecord(raw)
		if err != nil {
			return Doc{}, err
		}
		// harness commonsense_qa/default.yaml: "Question: {{question.strip()}}\nA. ..\nE. ..\nAnswer:"
		// with the letters as choices. The file's own labels are used so a
		// translation with fewer options still lines up.
		return Doc{
			ID:      item.ID,
			Query:   letteredQuery("Question: "+pyStrip(item.Stem), item.Labels, item.Texts, ". "),
			Choices: item.Labels,
			Gold:    item.Gold,
		}, nil
	})
}
