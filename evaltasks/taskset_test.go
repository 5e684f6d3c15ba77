package evaltasks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pickScorer answers the last question of a context by the letter after
// "pick " in it: that continuation gets log-likelihood -1, the others -5.
type pickScorer struct{}

func (pickScorer) LogLikelihoods(reqs []Request) ([]Result, error) {
	out := make([]Result, len(reqs))
	for i, req := range reqs {
		ll := -5.0
		if at := strings.LastIndex(req.Context, "pick "); at >= 0 && " "+req.Context[at+5:at+6] == req.Continuation {
			ll = -1
		}
		out[i] = Result{LogLikelihood: ll, NumTokens: 1}
	}
	return out, nil
}

// writeMMLU writes an MMLU release directory: test/<subject>_test.csv with
// one question per answer letter, the question saying which letter the
// pickScorer will choose, and dev/<subject>_dev.csv.
func writeMMLU(t *testing.T, root string, subjects map[string][][2]string) {
	t.Helper()
	for _, split := range []string{"test", "dev"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, split), 0o755))
	}
	for subject, rows := range subjects {
		var b strings.Builder
		for _, row := range rows { // {picked, gold}
			b.WriteString("pick " + row[0] + ",w,x,y,z," + row[1] + "\n")
		}
		require.NoError(t, os.WriteFile(filepath.Join(root, "test", subject+"_test.csv"), []byte(b.String()), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(root, "dev", subject+"_dev.csv"), []byte("dev pick A,w,x,y,z,A\n"), 0o644))
	}
}

// The case from issue 19: anatomy (3 questions, all right) and physics (6,
// two right) make MMLU 5/9 = 55.6%, not the first subject's 100%.
func TestMMLUDirectoryIsOneMicroAveragedTask(t *testing.T) {
	root := t.TempDir()
	writeMMLU(t, root, map[string][][2]string{
		"anatomy":         {{"A", "A"}, {"B", "B"}, {"C", "C"}},
		"college_physics": {{"A", "A"}, {"B", "B"}, {"A", "C"}, {"A", "D"}, {"B", "A"}, {"C", "D"}},
	})
	for _, path := range []string{root, filepath.Join(root, "test")} {
		tasks, err := OpenSet(FormatMMLU, path, "")
		require.NoError(t, err, path)
		require.Len(t, tasks, 2)
		assert.Equal(t, "mmlu_anatomy", tasks[0].Name)
		assert.Len(t, tasks[1].FewshotDocs, 1, "the dev file is the few-shot pool")

		merged, err := RunSet(tasks, func(task *Task) (*TaskResult, error) {
			return Run(task, pickScorer{}, Options{Shots: 1})
		})
		require.NoError(t, err)
		assert.Equal(t, "mmlu", merged.Task)
		assert.Equal(t, 9, merged.NumDocs)
		assert.InDelta(t, 5.0/9, merged.Scores[Acc].Value, 1e-12)
		require.Len(t, merged.Subtasks, 2)
		assert.Equal(t, PartScore{Name: "mmlu_anatomy", NumDocs: 3, Scores: merged.Subtasks[0].Scores}, merged.Subtasks[0])
		assert.InDelta(t, 1.0, merged.Subtasks[0].Scores[Acc].Value, 1e-12)
		assert.InDelta(t, 2.0/6, merged.Subtasks[1].Scores[Acc].Value, 1e-12)
		require.Len(t, merged.Categories, 1, "anatomy and college physics are both STEM")
		assert.Equal(t, "stem", merged.Categories[0].Name)
		assert.Equal(t, 9, merged.Categories[0].NumDocs)

		row := MethodResult{Method: "Backbone", English: []*TaskResult{merged}}
		table := Report{Sections: []Section{{Target: "French", Methods: []MethodResult{row}}}}.Markdown()
		assert.Contains(t, table, "| French | Backbone | 55.6 | 55.6 |")
	}
}

// Subjects run as separate --task files must pool the same way in a report.
func TestReportPoolsSeparateSubjectFiles(t *testing.T) {
	subject := func(name string, n int, acc float64) *TaskResult {
		return &TaskResult{Task: "mmlu_" + name, Benchmark: BenchmarkMMLU, Shots: 5, NumDocs: n, Metric: Acc,
			Scores: map[Metric]Score{Acc: {Value: acc}}}
	}
	row := MethodResult{Method: "Backbone", English: []*TaskResult{subject("anatomy", 3, 1), subject("physics", 6, 2.0/6)}}
	rep := Report{Sections: []Section{{Target: "French", Methods: []MethodResult{row}}}}
	assert.Contains(t, rep.Markdown(), "| French | Backbone | 55.6 | 55.6 |")
	g := groupScores(row.English, []string{BenchmarkMMLU}, map[string]Metric{BenchmarkMMLU: Acc})
	assert.InDelta(t, 5.0/9, g.Scores[BenchmarkMMLU], 1e-12)
	// The pooled stderr is that of 5 correct out of 9: sqrt(p(1-p)/(n-1)).
	p := 5.0 / 9
	assert.InDelta(t, MeanStderr([]float64{1, 1, 1, 1, 1, 0, 0, 0, 0}).Stderr, pooledScore(row.English, Acc).Stderr, 1e-12)
	assert.InDelta(t, 0.17568209223157663, pooledScore(row.English, Acc).Stderr, 1e-12, "p=%v", p)
}

func TestOpenSetDirectoryAndGlob(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.jsonl", "b.jsonl"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(`{"context":"Q:","choices":["x","y"],"label":0}`+"\n"), 0o644))
	}
	for _, path := range []string{dir, filepath.Join(dir, "*.jsonl")} {
		tasks, err := OpenSet(FormatJSONL, path, "")
		require.NoError(t, err)
		require.Len(t, tasks, 2)
		assert.Equal(t, []string{"a", "b"}, []string{tasks[0].Name, tasks[1].Name})
		assert.Equal(t, filepath.Base(dir), tasks[1].Benchmark, "the directory names the set's column")
	}
	_, err := OpenSet(FormatARC, filepath.Join(dir, "*.jsonl"), "")
	assert.ErrorContains(t, err, "a.jsonl:1: missing field")
	mixed := filepath.Join(t.TempDir(), "mixed")
	require.NoError(t, os.MkdirAll(mixed, 0o755))
	for _, src := range []string{"testdata/arc/ARC-Challenge-Test.jsonl", "testdata/arc/ARC-Challenge-Train.jsonl"} {
		raw, err := os.ReadFile(src)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(mixed, strings.Replace(filepath.Base(src), "Train", "Easy", 1)), raw, 0o644))
	}
	_, err = OpenSet(FormatARC, mixed, "")
	assert.ErrorContains(t, err, "ARC-Challenge-Easy.jsonl is benchmark arc_easy")
	_, err = OpenSet(FormatJSONL, filepath.Join(dir, "*.csv"), "")
	assert.ErrorContains(t, err, "matches no files")
	_, err = OpenSet(FormatJSONL, filepath.Join(dir, "missing.jsonl"), "")
	assert.ErrorContains(t, err, "missing.jsonl: no such file")
	_, err = OpenSet(FormatJSONL, t.TempDir(), "")
	assert.ErrorContains(t, err, "holds no files")
	root := t.TempDir()
	writeMMLU(t, root, map[string][][2]string{"anatomy": {{"A", "A"}}})
	_, err = OpenSet(FormatMMLU, root, "elsewhere")
	assert.ErrorContains(t, err, "takes its few-shot pools from")
}

func TestReportLabelsRowsAndWarns(t *testing.T) {
	mmlu := func(n int) []*TaskResult {
		return []*TaskResult{{Task: "mmlu", Benchmark: BenchmarkMMLU, Shots: 5, NumDocs: n, Metric: Acc, Scores: map[Metric]Score{Acc: {Value: 0.5}}}}
	}
	hellaswag := []*TaskResult{{Task: "hellaswag", Benchmark: BenchmarkHellaSwag, NumDocs: 10, Metric: AccNorm, Scores: map[Metric]Score{AccNorm: {Value: 0.4}}}}
	rep := Report{Sections: []Section{{Target: "French", Methods: []MethodResult{
		{Method: "Finetuning", LearningRate: 5e-5, English: append(mmlu(14042), hellaswag...)},
		{Method: "Finetuning", LearningRate: 2e-4, English: mmlu(9)},
		{Method: "Ours", Run: "runs/a", English: mmlu(14042)},
		{Method: "Ours", Run: "runs/b", English: mmlu(14042)},
	}}}}
	assert.Equal(t, []string{"Finetuning lr=5e-05", "Finetuning lr=0.0002", "Ours (runs/a)", "Ours (runs/b)"}, RowLabels(rep.Sections[0].Methods))
	warnings := rep.Warnings()
	require.Len(t, warnings, 2)
	assert.Equal(t, "French block, Forgetting: English, MMLU: not comparable across rows: 14042 questions in 1 file(s), 5-shot for Finetuning lr=5e-05, Ours (runs/a), Ours (runs/b); 9 questions in 1 file(s), 5-shot for Finetuning lr=0.0002", warnings[0])
	assert.Equal(t, "French block, Forgetting: English, HellaS: Finetuning lr=5e-05 ran it, Finetuning lr=0.0002, Ours (runs/a), Ours (runs/b) did not; their averages cover different benchmarks", warnings[1])
	table := rep.Markdown()
	assert.Contains(t, table, "|  | Finetuning lr=0.0002 |")
	assert.Contains(t, table, "> warning: French block, Forgetting: English, MMLU: not comparable")
	assert.Equal(t, []string{"Same", "Same #2"}, RowLabels([]MethodResult{{Method: "Same"}, {Method: "Same"}}))
}

func TestDefaultMetricsFollowOLMES(t *testing.T) {
	assert.Equal(t, AccPMI, DefaultMetric(BenchmarkARCChallenge))
	assert.Equal(t, AccNorm, DefaultMetric(BenchmarkHellaSwag))
	assert.Equal(t, AccNorm, DefaultMetric("arc_easy"))
	assert.Equal(t, Acc, DefaultMetric(BenchmarkMMLU))
	for _, name := range []string{"pmi", "acc_pmi"} {
		m, err := ParseMetric(name)
		require.NoError(t, err)
		assert.Equal(t, AccPMI, m)
	}
	_, err := ParseMetric("f1")
	assert.ErrorContains(t, err, `unknown metric "f1"`)
	overrides, err := ParseMetricOverrides([]string{"arc_challenge=acc_norm", "mmlu=pmi"})
	require.NoError(t, err)
	assert.Equal(t, map[string]Metric{BenchmarkARCChallenge: AccNorm, BenchmarkMMLU: AccPMI}, overrides)
	_, err = ParseMetricOverrides([]string{"acc_norm"})
	assert.ErrorContains(t, err, "want TASK=METRIC")
	// An override changes the column and says so in the metric row.
	res := &TaskResult{Task: "arc_challenge", Benchmark: BenchmarkARCChallenge, NumDocs: 2, Metric: AccPMI,
		Scores: map[Metric]Score{AccPMI: {Value: 0.5}, AccNorm: {Value: 1}}}
	rep := Report{Sections: []Section{{Target: "French", Methods: []MethodResult{{Method: "B", English: []*TaskResult{res}}}}}}
	assert.Contains(t, rep.Markdown(), "|  | metric | acc_pmi |  | acc_pmi |  |\n| French | B | 50.0 | 50.0 | N/A | N/A |")
	rep.Metrics = overrides
	table := rep.Markdown()
	assert.Contains(t, table, "|  | metric | acc_norm |  | acc_norm |  |\n| French | B | 100.0 | 100.0 | N/A | N/A |")
	assert.NotContains(t, table, "warning")
	rep.Metrics = nil
	other := *res
	other.Metric = AccNorm
	rep.Sections[0].Methods = append(rep.Sections[0].Methods, MethodResult{Method: "C", English: []*TaskResult{&other}})
	assert.Contains(t, rep.Markdown(), "warning: French block, Forgetting: English, Arc C: C ran arc_challenge for acc_norm; the column shows acc_pmi")
}

func TestOpenSetFindsTheTrainSplit(t *testing.T) {
	tasks, err := OpenSet(FormatARC, "testdata/arc/ARC-Challenge-Test.jsonl", "")
	require.NoError(t, err)
	assert.Equal(t, "testdata/arc/ARC-Challenge-Train.jsonl", tasks[0].FewshotPath)
	assert.Len(t, tasks[0].FewshotDocs, 6)
	tasks, err = OpenSet(FormatCommonsenseQA, "testdata/csqa/dev_rand_split.jsonl", "")
	require.NoError(t, err)
	assert.Equal(t, "testdata/csqa/train_rand_split.jsonl", tasks[0].FewshotPath)
	tasks, err = OpenSet(FormatJSONL, "testdata/generic/capitals.jsonl", "")
	require.NoError(t, err)
	assert.Nil(t, tasks[0].FewshotDocs)
	var progress strings.Builder
	_, err = Run(tasks[0], &cacheScorer{}, Options{Shots: 1, Progress: &progress})
	require.NoError(t, err)
	assert.Contains(t, progress.String(), "warning: capitals: few-shot examples come from the evaluated file")
}
