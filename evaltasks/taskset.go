package evaltasks

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// OpenSet loads what one benchmark entry names: a single file (one task), or
// a directory or glob pattern whose files are the parts of one score, as
// MMLU's 57 subject CSVs are one MMLU column. An MMLU data directory (the
// release's data/, holding test/ and dev/) pairs each test subject with its
// dev file as the few-shot pool, as lm-eval does. For other sets,
// fewshotPath, when given, is a directory holding a pool file of the same
// name for every part. A single file without a pool gets the training
// split found beside it (ARC-Challenge-Test.jsonl -> ARC-Challenge-Train.jsonl),
// where lm-eval draws its examples.
func OpenSet(format Format, path, fewshotPath string) ([]*Task, error) {
	if format == FormatMMLU {
		if dataDir, ok := mmluDataDir(path); ok {
			if fewshotPath != "" {
				return nil, fmt.Errorf("task %s: an MMLU data directory takes its few-shot pools from %s; drop the few-shot path %s",
					path, filepath.Join(dataDir, "dev"), fewshotPath)
			}
			return LoadMMLUDir(dataDir, "test")
		}
	}
	parts, err := setFiles(path)
	if err != nil {
		return nil, err
	}
	if parts == nil {
		if fewshotPath == "" {
			fewshotPath = trainSplitBeside(path)
		}
		task, err := Open(format, path, fewshotPath)
		if err != nil {
			return nil, err
		}
		return []*Task{task}, nil
	}
	tasks := make([]*Task, 0, len(parts))
	for _, part := range parts {
		pool := ""
		if fewshotPath != "" {
			pool = filepath.Join(fewshotPath, filepath.Base(part))
		}
		task, err := Open(format, part, pool)
		if err != nil {
			return nil, err
		}
		if format == FormatJSONL {
			// User files name their benchmark after the file; in a set the
			// directory names the one column they make.
			task.Benchmark = fileStem(filepath.Dir(part))
		}
		if len(tasks) > 0 && task.Benchmark != tasks[0].Benchmark {
			return nil, fmt.Errorf("task set %s: %s is benchmark %s, %s is %s; one set makes one column",
				path, tasks[0].Source, tasks[0].Benchmark, part, task.Benchmark)
		}
		tasks = append(tasks, task)
	}
	return tasks, nil
}

// mmluDataDir recognizes the MMLU release layout: path itself holding
// test/*_test.csv, or path being that test/ directory.
func mmluDataDir(path string) (string, bool) {
	hasTests := func(dir string) bool {
		matches, _ := filepath.Glob(filepath.Join(dir, "*_test.csv"))
		return len(matches) > 0
	}
	if info, err := os.Stat(path); err != nil || !info.IsDir() {
		return "", false
	}
	if hasTests(filepath.Join(path, "test")) {
		return path, true
	}
	if filepath.Base(filepath.Clean(path)) == "test" && hasTests(path) {
		return filepath.Dir(filepath.Clean(path)), true
	}
	return "", false
}

// setFiles lists the files of a directory or glob pattern, sorted; nil for a
// plain file path.
func setFiles(path string) ([]string, error) {
	var files []string
	switch info, statErr := os.Stat(path); {
	case statErr == nil && info.IsDir():
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("task set %s: %w", path, err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("task set %s: the directory holds no files", path)
		}
	case statErr == nil:
		return nil, nil
	case strings.ContainsAny(path, "*?["):
		matches, err := filepath.Glob(path)
		if err != nil {
			return nil, fmt.Errorf("task set %q: %w", path, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("task set %q: the pattern matches no files", path)
		}
		files = matches
	default:
		return nil, fmt.Errorf("load task: %w", statErr)
	}
	sort.Strings(files)
	return files, nil
}

// RunSet runs every part of a set with run and pools the parts into one
// result named after the benchmark ("mmlu", as lm-eval's group task), with
// the per-part and per-category breakdown; a single part is returned as is.
func RunSet(tasks []*Task, run func(*Task) (*TaskResult, error)) (*TaskResult, error) {
	if len(tasks) == 0 {
		return nil, fmt.Errorf("run set: no tasks")
	}
	parts := make([]*TaskResult, len(tasks))
	for i, task := range tasks {
		res, err := run(task)
		if err != nil {
			return nil, err
		}
		parts[i] = res
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return MergeResults(tasks[0].Benchmark, tasks[0].Benchmark, parts...)
}

// trainSplits maps an upstream evaluation file's name to its training
// split's, the split lm-eval draws few-shot examples from.
var trainSplits = []struct{ evaluated, train string }{
	{"-Test.jsonl", "-Train.jsonl"}, // AI2 ARC
	{"-Dev.jsonl", "-Train.jsonl"},
	{"dev_rand_split.jsonl", "train_rand_split.jsonl"}, // CommonsenseQA
	{"_val.jsonl", "_train.jsonl"},                     // HellaSwag
	{"test.jsonl", "train.jsonl"},                      // Hugging Face exports
	{"validation.jsonl", "train.jsonl"},
}

// trainSplitBeside finds the training split next to an evaluation file, ""
// when there is none.
func trainSplitBeside(path string) string {
	dir, base := filepath.Split(path)
	for _, s := range trainSplits {
		if stem, ok := strings.CutSuffix(base, s.evaluated); ok {
			candidate := filepath.Join(dir, stem+s.train)
			if info, err := os.Stat(candidate); err == nil && info.Mode().IsRegular() {
				return candidate
			}
		}
	}
	return ""
}
