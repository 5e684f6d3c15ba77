package scoring

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/nrgraph/nrgraph/data"
	"github.com/nrgraph/nrgraph/evaltasks"
	"github.com/nrgraph/nrgraph/models/build"
)

// TaskSpec is one benchmark to run: a group ("en" for forgetting,
// "target" for learning), an upstream format, the file, and optionally the
// few-shot pool (dev/train split) in the same format.
type TaskSpec struct {
	Group       string
	Format      evaltasks.Format
	Path        string
	FewshotPath string
}

// ParseTaskSpec parses GROUP:FORMAT:PATH[:FEWSHOT_PATH], or the key=value
// form (group=en,format=arc,path=...,fewshot=...) for paths holding colons.
func ParseTaskSpec(s string) (TaskSpec, error) {
	if isKeyValueSpec(s) {
		return parseKeyValueSpec(s)
	}
	parts := strings.SplitN(s, ":", 4)
	if len(parts) < 3 {
		return TaskSpec{}, fmt.Errorf("task %q: want GROUP:FORMAT:PATH[:FEWSHOT_PATH] (GROUP en or target; FORMAT one of %v)", s, evaltasks.Formats())
	}
	t := TaskSpec{Group: parts[0], Format: evaltasks.Format(parts[1]), Path: parts[2]}
	if len(parts) == 4 {
		t.FewshotPath = parts[3]
	}
	if t.Group != "en" && t.Group != "target" {
		return t, fmt.Errorf("task %q: group %q must be en or target", s, t.Group)
	}
	return t, nil
}

// TextSpec is a held-out text set for perplexity: text/JSONL files in a
// group.
type TextSpec struct {
	Group string
	Paths []string
}

// EvalOptions configure Evaluate.
type EvalOptions struct {
	Scorer *Scorer
	Label  string  // row label in reports (default: the method)
	LR     float64 // learning rate, for the trade-off plot
	Tasks  []TaskSpec
	Texts  []TextSpec
	// Shots < 0 uses each task's paper default (5 for ARC/CSQA/MMLU, 0 for
	// HellaSwag/Belebele).
	Shots int
	Seed  uint64
	Limit int
	// Metrics overrides the metric a task's column shows, keyed by
	// benchmark ("arc_challenge") or task name ("mmlu_anatomy").
	Metrics map[string]evaltasks.Metric
	Run     string // names the evaluated run in reports
	// FewshotSampler picks whose random draws choose few-shot examples
	// (default lm-eval's); PerplexityWindows how long texts are cut
	// (default lm-eval's rolling windows).
	FewshotSampler    evaltasks.FewshotRNG
	PerplexityWindows evaltasks.WindowScheme
	// Samples, when set, receives every document's SampleRecord as JSONL.
	Samples  io.Writer
	Progress io.Writer
}

// Evaluate runs the benchmarks and perplexities: one row of Tables 2-3.
func Evaluate(o EvalOptions) (*evaltasks.MethodResult, error) {
	res := &evaltasks.MethodResult{Method: o.Label, LearningRate: o.LR, Run: o.Run}
	if res.Method == "" {
		res.Method = string(o.Scorer.Manifest().Extension.Method)
	}
	for _, spec := range o.Tasks {
		tasks, err := evaltasks.OpenSet(spec.Format, spec.Path, spec.FewshotPath)
		if err != nil {
			return nil, err
		}
		tr, err := evaltasks.RunSet(tasks, func(task *evaltasks.Task) (*evaltasks.TaskResult, error) {
			task.RNG = o.FewshotSampler
			shots := o.Shots
			if shots < 0 {
				shots = task.DefaultShots
			}
			if o.Progress != nil {
				fmt.Fprintf(o.Progress, "%s (%s, %d-shot, %d questions)\n", task.Name, spec.Group, shots, len(task.Docs))
			}
			return evaltasks.Run(task, o.Scorer, evaltasks.Options{Shots: shots, Seed: o.Seed, Limit: o.Limit, Progress: o.Progress, Samples: o.Samples})
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec.Path, err)
		}
		tr.Source = spec.Path
		tr.Metric = evaltasks.DefaultMetric(tr.Benchmark)
		for _, key := range []string{tr.Benchmark, tr.Task} {
			if m, ok := o.Metrics[key]; ok {
				tr.Metric = m
			}
		}
		if spec.Group == "en" {
			res.English = append(res.English, tr)
		} else {
			res.Target = append(res.Target, tr)
		}
	}
	o.Scorer.Windows = o.PerplexityWindows
	for _, text := range o.Texts {
		docs, err := readTexts(text.Paths, o.Limit)
		if err != nil {
			return nil, err
		}
		ids := make([][]int, len(docs))
		sizes := make([]int, len(docs))
		for i, d := range docs {
			ids[i] = o.Scorer.tok.Encode(d, false)
			if o.Scorer.BOS >= 0 {
				ids[i] = append([]int{o.Scorer.BOS}, ids[i]...)
			}
			sizes[i] = len(d)
		}
		nll, err := o.Scorer.Perplexity(ids, sizes)
		if err != nil {
			return nil, err
		}
		agg, err := evaltasks.AggregatePerplexity(nll)
		if err != nil {
			return nil, fmt.Errorf("perplexity of %v: %w", text.Paths, err)
		}
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "perplexity %s %v: %.4f nats/token, %.4f bits/byte over %d tokens\n", text.Group, text.Paths, agg.NLLPerToken, agg.BitsPerByte, agg.Tokens)
		}
		if text.Group == "en" {
			res.EnglishText = &agg
		} else {
			res.TargetText = &agg
		}
	}
	return res, nil
}

// readTexts reads documents: one per line of a .jsonl file (field
// "text"), or one per .txt file; limit > 0 keeps the first limit.
func readTexts(paths []string, limit int) ([]string, error) {
	var docs []string
	errLimit := fmt.Errorf("limit reached")
	err := data.ForEachDocument(paths, "text", func(text string) error {
		docs = append(docs, text)
		if limit > 0 && len(docs) >= limit {
			return errLimit
		}
		return nil
	})
	if err != nil && err != errLimit {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("no text in %v", paths)
	}
	return docs, nil
}

// EvalFile is the JSON an `nrgraph eval` writes and `nrgraph report` reads.
type EvalFile struct {
	Target     string                 `json:"target"`
	Result     evaltasks.MethodResult `json:"result"`
	Provenance *EvalProvenance        `json:"provenance,omitempty"`
}

// WriteEvalFile saves an evaluation atomically.
func WriteEvalFile(path string, e EvalFile) error {
	raw, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return build.WriteFileAtomic(path, append(raw, '\n'))
}

// CollectReport gathers eval files into one report (one section per target
// language, rows in file order).
func CollectReport(paths []string) (evaltasks.Report, error) {
	var files []EvalFile
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			return evaltasks.Report{}, err
		}
		var e EvalFile
		if err := json.Unmarshal(raw, &e); err != nil {
			return evaltasks.Report{}, fmt.Errorf("%s: %w", p, err)
		}
		if e.Result.Run == "" {
			e.Result.Run = strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		}
		files = append(files, e)
	}
	return CollectReportFrom(files)
}

// CollectReportFrom groups evaluations by target language.
func CollectReportFrom(files []EvalFile) (evaltasks.Report, error) {
	var rep evaltasks.Report
	index := map[string]int{}
	for _, e := range files {
		i, ok := index[e.Target]
		if !ok {
			i = len(rep.Sections)
			index[e.Target] = i
			rep.Sections = append(rep.Sections, evaltasks.Section{Target: e.Target})
		}
		rep.Sections[i].Methods = append(rep.Sections[i].Methods, e.Result)
	}
	return rep, nil
}

// PerplexityTable renders the held-out perplexities of a report like the
// paper's Table 2 (bits per byte, lower is better); "" when there are none.
func PerplexityTable(rep evaltasks.Report) string {
	var b strings.Builder
	for _, sec := range rep.Sections {
		for _, m := range sec.Methods {
			if m.EnglishText == nil && m.TargetText == nil {
				continue
			}
			if b.Len() == 0 {
				b.WriteString("| target | method | lr | English bits/byte | target bits/byte |\n|---|---|---|---|---|\n")
			}
			cell := func(p *evaltasks.PerplexityResult) string {
				if p == nil {
					return "N/A"
				}
				return fmt.Sprintf("%.4f", p.BitsPerByte)
			}
			lr := "–"
			if m.LearningRate != 0 {
				lr = fmt.Sprint(m.LearningRate)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", sec.Target, m.Method, lr, cell(m.EnglishText), cell(m.TargetText))
		}
	}
	return b.String()
}

// BitsPerBytePoints are trade-off plot points from held-out perplexities
// (x English bits/byte, y target bits/byte) for reports without tasks.
func BitsPerBytePoints(rep evaltasks.Report, section int) []evaltasks.TradeoffPoint {
	var pts []evaltasks.TradeoffPoint
	if section >= len(rep.Sections) {
		return nil
	}
	for _, m := range rep.Sections[section].Methods {
		if m.EnglishText == nil || m.TargetText == nil {
			continue
		}
		pt := evaltasks.TradeoffPoint{Method: m.Method, X: m.EnglishText.BitsPerByte, Y: m.TargetText.BitsPerByte}
		if m.LearningRate != 0 {
			pt.Label = fmt.Sprint(m.LearningRate)
		}
		pts = append(pts, pt)
	}
	return pts
}
