package evaltasks

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// LoadMMLU loads one subject file of the original MMLU release
// (data/test/abstract_algebra_test.csv: no header; question, A, B, C, D,
// answer letter). The subject comes from the file name.
func LoadMMLU(path string) (*Task, error) { return loadFile(path, parseMMLU) }

// LoadMMLUDir loads every subject of an MMLU data directory: split files from
// dataDir/<split>/*_<split>.csv, each with its few-shot pool from
// dataDir/dev/<subject>_dev.csv. Tasks come back sorted by subject.
func LoadMMLUDir(dataDir, split string) ([]*Task, error) {
	paths, err := filepath.Glob(filepath.Join(dataDir, split, "*_"+split+".csv"))
	if err != nil {
		return nil, fmt.Errorf("load mmlu %s: %w", dataDir, err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("load mmlu: no %s/*_%s.csv files under %s", split, split, dataDir)
	}
	sort.Strings(paths)
	tasks := make([]*Task, 0, len(paths))
	for _, path := range paths {
		subject := mmluSubject(path)
		devPath := filepath.Join(dataDir, "dev", subject+"_dev.csv")
		if _, err := os.Stat(devPath); err != nil {
			devPath = "" // zero-shot only; Prompt reports a missing pool if shots are asked for
		}
		task, err := Open(FormatMMLU, path, devPath)
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, task)
	}
	return tasks, nil
}

// mmluFields is the column count of every MMLU CSV row.
const mmluFields = 6

func parseMMLU(r io.Reader, name string) (*Task, error) {
	subject := mmluSubject(name)
	task := &Task{
		Name:      BenchmarkMMLU + "_" + subject,
		Benchmark: BenchmarkMMLU,
		// harness mmlu/_generate_configs.py: the subject's words joined by spaces.
		Description:  "The following are multiple choice questions (with answers) about " + strings.ReplaceAll(subject, "_", " ") + ".\n\n",
		Sampler:      SampleFirstN, // harness mmlu: fewshot_config sampler first_n, from dev
		DefaultShots: 5,
	}
	reader := csv.NewReader(r)
	reader.FieldsPerRecord = -1 // checked below, so the error can name the line our way
	choiceLabels := letters(4)
	for {
		row, err := reader.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var parseErr *csv.ParseError
			if errors.As(err, &parseErr) {
				return nil, &lineError{name, parseErr.Line, parseErr.Err}
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := reader.FieldPos(0)
		if len(row) != mmluFields {
			return nil, &lineError{name, line, fmt.Errorf("%d fields, want %d (question, A, B, C, D, answer)", len(row), mmluFields)}
		}
		answer := strings.TrimSpace(row[5])
		gold := strings.Index("ABCD", answer)
		if len(answer) != 1 || gold < 0 {
			return nil, &lineError{name, line, fmt.Errorf("answer %q is not one of A, B, C, D", row[5])}
		}
		// harness mmlu/default/_default_template_yaml:
		// "{{question.strip()}}\nA. {{choices[0]}}\n...D. {{choices[3]}}\nAnswer:"
		task.Docs = append(task.Docs, Doc{
			ID:      fmt.Sprintf("%s:%d", subject, line),
			Query:   letteredQuery(pyStrip(row[0]), choiceLabels, row[1:5], ". "),
			Choices: choiceLabels,
			Gold:    gold,
		})
	}
	if len(task.Docs) == 0 {
		return nil, fmt.Errorf("%s: no records", name)
	}
	return task, nil
}

// mmluSubject turns ".../abstract_algebra_test.csv" into "abstract_algebra".
func mmluSubject(path string) string {
	stem := fileStem(path)
	for _, split := range []string{"_test", "_dev", "_val"} {
		if s, ok := strings.CutSuffix(stem, split); ok {
			return s
		}
	}
	return stem
}
