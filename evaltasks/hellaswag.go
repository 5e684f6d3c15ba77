package evaltasks

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// LoadHellaSwag loads hellaswag_val.jsonl as released by its authors (fields
// ind, activity_label, ctx_a, ctx_b, ctx, endings, label, split, source_id),
// or a translation in the same layout.
func LoadHellaSwag(path string) (*Task, error) { return loadFile(path, parseHellaSwag) }

type hellaSwagRecord struct {
	Ind           json.RawMessage  `json:"ind"`
	SourceID      string           `json:"source_id"`
	ActivityLabel *string          `json:"activity_label"`
	CtxA          *string          `json:"ctx_a"`
	CtxB          *string          `json:"ctx_b"`
	Endings       []string         `json:"endings"`
	Label         *json.RawMessage `json:"label"`
}

func parseHellaSwag(r io.Reader, name string) (*Task, error) {
	task := &Task{Name: BenchmarkHellaSwag, Benchmark: BenchmarkHellaSwag, Sampler: SampleRandom}
	return collectJSONDocs(r, name, task, func(raw []byte) (Doc, error) {
		var rec hellaSwagRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			return Doc{}, err
		}
		if err := requireFields("activity_label", rec.ActivityLabel, "ctx_a", rec.CtxA, "ctx_b", rec.CtxB,
			"endings", rec.Endings, "label", rec.Label); err != nil {
			return Doc{}, err
		}
		gold, err := flexibleIndex(*rec.Label)
		if err != nil {
			return Doc{}, fmt.Errorf("label: %w", err)
		}
		if err := checkGold(gold, len(rec.Endings)); err != nil {
			return Doc{}, err
		}
		// harness hellaswag/utils.py process_docs: the query is preprocessed
		// as a whole, after joining, so strip() acts on the joined string.
		doc := Doc{
			ID:    hellaSwagID(rec, len(task.Docs)),
			Query: hellaSwagPreprocess(*rec.ActivityLabel + ": " + *rec.CtxA + " " + pyCapitalize(*rec.CtxB)),
			Gold:  gold,
		}
		for _, ending := range rec.Endings {
			doc.Choices = append(doc.Choices, hellaSwagPreprocess(ending))
		}
		return doc, nil
	})
}

func hellaSwagID(rec hellaSwagRecord, position int) string {
	if ind := strings.Trim(string(rec.Ind), `"`); ind != "" {
		return ind
	}
	if rec.SourceID != "" {
		return rec.SourceID
	}
	return strconv.Itoa(position)
}

// bracketed matches the WikiHow artifacts "[header]", "[step]", ... that the
// harness deletes; non-greedy, and "." does not cross newlines, as in Python.
var bracketed = regexp.MustCompile(`\[.*?\]`)

// hellaSwagPreprocess is the harness's hellaswag preprocess(): strip, " [title]"
// -> ". ", drop bracketed text, then replace double spaces once (a run of three
// spaces becomes two, exactly as Python's str.replace does).
func hellaSwagPreprocess(text string) string {
	text = pyStrip(text)
	text = strings.ReplaceAll(text, " [title]", ". ")
	text = bracketed.ReplaceAllString(text, "")
	return strings.ReplaceAll(text, "  ", " ")
}
