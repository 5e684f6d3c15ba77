package evaltasks

import (
	"encoding/json"
	"io"
	"strconv"
)

// LoadJSONL loads a user-made benchmark, one {"context", "choices", "label"}
// object per line: context is the prompt verbatim, each choice is scored as
// " " + choice, and label is the 0-based index of the correct choice. An
// optional "id" names the document. The task and benchmark are named after
// the file.
func LoadJSONL(path string) (*Task, error) { return loadFile(path, parseGenericJSONL) }

type genericRecord struct {
	ID      string           `json:"id"`
	Context *string          `json:"context"`
	Choices []string         `json:"choices"`
	Label   *json.RawMessage `json:"label"`
}

func parseGenericJSONL(r io.Reader, name string) (*Task, error) {
	stem := fileStem(name)
	task := &Task{Name: stem, Benchmark: stem, Sampler: SampleRandom}
	return collectJSONDocs(r, name, task, func(raw []byte) (Doc, error) {
		var rec genericRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			return Doc{}, err
		}
		if err := requireFields("context", rec.Context, "choices", rec.Choices, "label", rec.Label); err != nil {
			return Doc{}, err
		}
		gold, err := flexibleIndex(*rec.Label)
		if err != nil {
			return Doc{}, err
		}
		if err := checkGold(gold, len(rec.Choices)); err != nil {
			return Doc{}, err
		}
		id := rec.ID
		if id == "" {
			id = strconv.Itoa(len(task.Docs))
		}
		return Doc{ID: id, Query: *rec.Context, Choices: rec.Choices, Gold: gold}, nil
	})
}
