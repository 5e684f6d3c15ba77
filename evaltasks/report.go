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
	Method       string        `json:"method"`
	LearningRate float64       `json:"learning_rate,omitempty"`
	English      []*TaskResult `json:"english"`
	Target       []*TaskResult `json:"target"`
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
	// Metric fills the tables and averages; AccNorm when empty, since the
	// paper normalizes following OLMES.
	Metric Metric `json:"metric"`
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

func (r Report) metric() Metric {
	if r.Metric == "" {
		return AccNorm
	}
	return r.Metric
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

// groupScores picks the metric for each benchmark; the average is over the
// benchmarks present, as the paper averages Danish without CSQA.
func groupScores(results []*TaskResult, benchmarks []string, metric Metric) GroupScores {
	g := GroupScores{Scores: map[string]float64{}}
	sum := 0.0
	for _, bench := range benchmarks {
		for _, res := range results {
			if res.Benchmark == bench {
				g.Scores[bench] = res.Scores[metric].Value
				sum += res.Scores[metric].Value
				break
			}
		}
	}
	if len(g.Scores) > 0 {
		avg := sum / float64(len(g.Scores))
		g.Average = &avg
	}
	return g
}

// reportJSON is Report with the table's derived numbers spelled out.
type reportJSON struct {
	Metric     Metric              `json:"metric"`
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
	out := reportJSON{Metric: r.metric(), Benchmarks: r.benchmarks()}
	for _, section := range r.Sections {
		s := sectionReportJSON{Target: section.Target}
		for _, m := range section.Methods {
			if !includeDocs {
				m.English, m.Target = withoutDocs(m.English), withoutDocs(m.Target)
			}
			s.Methods = append(s.Methods, methodReportJSON{
				MethodResult: m,
				Forgetting:   groupScores(m.English, out.Benchmarks, out.Metric),
				Learning:     groupScores(m.Target, out.Benchmarks, out.Metric),
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
// each the benchmarks (shots in parentheses) plus their average; scores in
// percent, the best of each block in bold and the second underlined.
func (r Report) Markdown() string {
	benchmarks, metric := r.benchmarks(), r.metric()
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

	for _, section := range r.Sections {
		// values[m][c] is method m's score in column c, nil for N/A.
		values := make([][]*float64, len(section.Methods))
		for m, method := range section.Methods {
			for _, results := range [][]*TaskResult{method.English, method.Target} {
				g := groupScores(results, benchmarks, metric)
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
		for m, method := range section.Methods {
			cells := []string{"", method.Method}
			if m == 0 {
				cells[0] = section.Target
			}
			for c, v := range values[m] {
				cells = append(cells, formatRanked(v, columnOf(values, c)))
			}
			row(cells)
		}
	}
	return b.String()
}

func englishOf(m MethodResult) []*TaskResult { return m.English }
func targetOf(m MethodResult) []*TaskResult  { return m.Target }

// columnLabel is "HellaS (0)": the paper's name and the shots it ran with.
func (r Report) columnLabel(bench string, group func(MethodResult) []*TaskResult) string {
	label := benchmarkLabels[bench]
	if label == "" {
		label = bench
	}
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
