package evaltasks

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// MethodResult is one row of the paper's Table 3: a model (extension method,
// learning rate) scored on the English and the target-language tasks.
type MethodResult struct {
	Method       string  `json:"method"`
	LearningRate float64 `json:"learning_rate,omitempty"`
	// Run names the evaluated run (its checkpoint or eval file), so that two
	// rows of one method tell apart in the table.
	Run     string        `json:"run,omitempty"`
	English []*TaskResult `json:"english"`
	Target  []*TaskResult `json:"target"`
	// EnglishText and TargetText are held-out perplexities (Table 2), optional.
	EnglishText *PerplexityResult `json:"english_text,omitempty"`
	TargetText  *PerplexityResult `json:"target_text,omitempty"`
}

// Section is the block of rows for one target language.
type Section struct {
	Target  string         `json:"target"`
	Methods []MethodResult `json:"methods"`
}

// Report collects results for the tables and the trade-off plot.
type Report struct {
	// Metrics overrides the metric a column shows (benchmark -> metric). By
	// default a column shows the metric its results were run for
	// (TaskResult.Metric: OLMES's choice per task, or --metric).
	Metrics map[string]Metric `json:"metrics,omitempty"`
	// Benchmarks orders the columns; when empty, the order in which
	// benchmarks first appear in the results.
	Benchmarks []string  `json:"benchmarks"`
	Sections   []Section `json:"sections"`
}

// benchmarkLabels are the paper's column headings.
var benchmarkLabels = map[string]string{
	BenchmarkBelebele:      "BeleBele",
	BenchmarkHellaSwag:     "HellaS",
	BenchmarkARCChallenge:  "Arc C",
	BenchmarkCommonsenseQA: "CSQA",
	BenchmarkMMLU:          "MMLU",
}

// metricFor is the metric of a benchmark's column: the override, else the
// one its first result was run for, else the task's default.
func (r Report) metricFor(bench string) Metric {
	if m := r.Metrics[bench]; m != "" {
		return m
	}
	for _, section := range r.Sections {
		for _, m := range section.Methods {
			for _, res := range slices.Concat(m.English, m.Target) {
				if res.Benchmark == bench && res.Metric != "" {
					return res.Metric
				}
			}
		}
	}
	return DefaultMetric(bench)
}

// columnMetrics is metricFor over every column.
func (r Report) columnMetrics(benchmarks []string) map[string]Metric {
	out := make(map[string]Metric, len(benchmarks))
	for _, bench := range benchmarks {
		out[bench] = r.metricFor(bench)
	}
	return out
}

func (r Report) benchmarks() []string {
	if len(r.Benchmarks) > 0 {
		return r.Benchmarks
	}
	var order []string
	for _, section := range r.Sections {
		for _, m := range section.Methods {
			for _, res := range slices.Concat(m.English, m.Target) {
				if !slices.Contains(order, res.Benchmark) {
					order = append(order, res.Benchmark)
				}
			}
		}
	}
	return order
}

// GroupScores is one column group of a row: a score per benchmark (absent
// when the benchmark was not run, the paper's "N/A") and their mean.
type GroupScores struct {
	Scores  map[string]float64 `json:"scores"`
	Average *float64           `json:"average"`
}

// groupScores picks each benchmark's metric; several results of one
// benchmark (MMLU subjects run as separate files) pool into their
// micro-average. The average is over the benchmarks present, as the paper
// averages Danish without CSQA.
func groupScores(results []*TaskResult, benchmarks []string, metrics map[string]Metric) GroupScores {
	g := GroupScores{Scores: map[string]float64{}}
	sum := 0.0
	for _, bench := range benchmarks {
		same := resultsOf(results, bench)
		if len(same) == 0 {
			continue
		}
		v := pooledScore(same, metrics[bench]).Value
		g.Scores[bench] = v
		sum += v
	}
	if len(g.Scores) > 0 {
		avg := sum / float64(len(g.Scores))
		g.Average = &avg
	}
	return g
}

// reportJSON is Report with the table's derived numbers spelled out.
type reportJSON struct {
	Metrics    map[string]Metric   `json:"metrics"`
	Warnings   []string            `json:"warnings,omitempty"`
	Benchmarks []string            `json:"benchmarks"`
	Sections   []sectionReportJSON `json:"sections"`
}

type sectionReportJSON struct {
	Target  string             `json:"target"`
	Methods []methodReportJSON `json:"methods"`
}

type methodReportJSON struct {
	MethodResult
	Forgetting GroupScores `json:"forgetting_english"`
	Learning   GroupScores `json:"learning_target"`
}

// WriteJSON writes every number: each task's metrics with standard errors,
// the table's per-benchmark scores and averages, perplexities and, with
// includeDocs, every document's log-likelihoods.
func (r Report) WriteJSON(w io.Writer, includeDocs bool) error {
	out := reportJSON{Benchmarks: r.benchmarks(), Warnings: r.Warnings()}
	out.Metrics = r.columnMetrics(out.Benchmarks)
	for _, section := range r.Sections {
		s := sectionReportJSON{Target: section.Target}
		for _, m := range section.Methods {
			if !includeDocs {
				m.English, m.Target = withoutDocs(m.English), withoutDocs(m.Target)
			}
			s.Methods = append(s.Methods, methodReportJSON{
				MethodResult: m,
				Forgetting:   groupScores(m.English, out.Benchmarks, out.Metrics),
				Learning:     groupScores(m.Target, out.Benchmarks, out.Metrics),
			})
		}
		out.Sections = append(out.Sections, s)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write report json: %w", err)
	}
	return nil
}

func withoutDocs(results []*TaskResult) []*TaskResult {
	out := make([]*TaskResult, len(results))
	for i, res := range results {
		copied := *res
		copied.Docs = nil
		out[i] = &copied
	}
	return out
}

// Markdown renders the paper's Table 3 layout: per target language a block
// of method rows; column groups "Forgetting: English" and "Learning: <target>",
// each the benchmarks (shots in parentheses) plus their average, with a row
// naming each column's metric; scores in percent, the best of each block in
// bold and the second underlined; rows named by RowLabels; warnings from
// Warnings below the table.
func (r Report) Markdown() string {
	benchmarks := r.benchmarks()
	metrics := r.columnMetrics(benchmarks)
	targetName := "Target"
	if len(r.Sections) == 1 {
		targetName = r.Sections[0].Target
	}
	groupWidth := len(benchmarks) + 1
	var b strings.Builder
	row := func(cells []string) { b.WriteString("| " + strings.Join(cells, " | ") + " |\n") }

	header := []string{"Target", "Method", "Forgetting: English"}
	header = append(header, make([]string, groupWidth-1)...)
	header = append(header, "Learning: "+targetName)
	header = append(header, make([]string, groupWidth-1)...)
	row(header)
	separator := []string{"---", "---"}
	for range 2 * groupWidth {
		separator = append(separator, "---:")
	}
	row(separator)
	columns := []string{"", ""}
	for _, group := range []func(MethodResult) []*TaskResult{englishOf, targetOf} {
		for _, bench := range benchmarks {
			columns = append(columns, r.columnLabel(bench, group))
		}
		columns = append(columns, "Avg.")
	}
	row(columns)
	metricCells := []string{"", "metric"}
	for range 2 {
		for _, bench := range benchmarks {
			metricCells = append(metricCells, string(metrics[bench]))
		}
		metricCells = append(metricCells, "")
	}
	row(metricCells)

	for _, section := range r.Sections {
		// values[m][c] is method m's score in column c, nil for N/A.
		values := make([][]*float64, len(section.Methods))
		for m, method := range section.Methods {
			for _, results := range [][]*TaskResult{method.English, method.Target} {
				g := groupScores(results, benchmarks, metrics)
				for _, bench := range benchmarks {
					if v, ok := g.Scores[bench]; ok {
						values[m] = append(values[m], &v)
					} else {
						values[m] = append(values[m], nil)
					}
				}
				values[m] = append(values[m], g.Average)
			}
		}
		labels := RowLabels(section.Methods)
		for m := range section.Methods {
			cells := []string{"", labels[m]}
			if m == 0 {
				cells[0] = section.Target
			}
			for c, v := range values[m] {
				cells = append(cells, formatRanked(v, columnOf(values, c)))
			}
			row(cells)
		}
	}
	for _, warning := range r.Warnings() {
		b.WriteString("\n> warning: " + warning + "\n")
	}
	return b.String()
}

func englishOf(m MethodResult) []*TaskResult { return m.English }
func targetOf(m MethodResult) []*TaskResult  { return m.Target }

// columnLabel is "HellaS (0)": the paper's name and the shots it ran with.
func (r Report) columnLabel(bench string, group func(MethodResult) []*TaskResult) string {
	label := columnName(bench)
	for _, section := range r.Sections {
		for _, m := range section.Methods {
			for _, res := range group(m) {
				if res.Benchmark == bench {
					return fmt.Sprintf("%s (%d)", label, res.Shots)
				}
			}
		}
	}
	return label
}

func columnOf(values [][]*float64, c int) []float64 {
	var col []float64
	for _, rowValues := range values {
		if v := rowValues[c]; v != nil {
			col = append(col, *v)
		}
	}
	return col
}

// formatRanked prints a score in percent with one decimal, bold when it is
// the column's best and underlined when second; ranks compare the printed
// values so visible ties share a mark.
func formatRanked(v *float64, column []float64) string {
	if v == nil {
		return "N/A"
	}
	shown := roundedPercent(*v)
	text := fmt.Sprintf("%.1f", shown)
	if len(column) < 2 {
		return text
	}
	distinct := make([]float64, len(column))
	for i, other := range column {
		distinct[i] = roundedPercent(other)
	}
	slices.Sort(distinct)
	distinct = slices.Compact(distinct)
	slices.Reverse(distinct)
	switch {
	case shown == distinct[0]:
		return "**" + text + "**"
	case len(distinct) > 1 && shown == distinct[1]:
		return "<u>" + text + "</u>"
	}
	return text
}

func roundedPercent(v float64) float64 { return math.Round(1000*v) / 10 }
