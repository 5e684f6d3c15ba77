package evaltasks

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// DefaultMetric is the metric a benchmark's column shows unless overridden,
// chosen as OLMES (Gu et al. 2024, which the paper follows for
// normalization) does for the format nrgraph renders: PMI for ARC-Challenge,
// per-character normalization for the cloze tasks (HellaSwag, ARC-Easy and
// user JSONL), and plain accuracy for the lettered tasks (MMLU, CSQA,
// Belebele), whose one-letter choices make every normalization equal to acc.
func DefaultMetric(benchmark string) Metric {
	switch benchmark {
	case BenchmarkARCChallenge:
		return AccPMI
	case BenchmarkMMLU, BenchmarkCommonsenseQA, BenchmarkBelebele:
		return Acc
	}
	return AccNorm
}

// ParseMetric checks a metric name given on the command line.
func ParseMetric(name string) (Metric, error) {
	for _, m := range Metrics() {
		if string(m) == name || strings.TrimPrefix(string(m), "acc_") == name {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown metric %q (known: %v; acc_pmi may be written pmi)", name, Metrics())
}

// ParseMetricOverrides reads TASK=METRIC pairs (--metric arc_challenge=acc_norm).
func ParseMetricOverrides(pairs []string) (map[string]Metric, error) {
	out := map[string]Metric{}
	for _, pair := range pairs {
		task, name, ok := strings.Cut(pair, "=")
		if !ok || task == "" {
			return nil, fmt.Errorf("--metric %q: want TASK=METRIC, e.g. arc_challenge=acc_norm", pair)
		}
		m, err := ParseMetric(name)
		if err != nil {
			return nil, fmt.Errorf("--metric %q: %w", pair, err)
		}
		out[task] = m
	}
	return out, nil
}

func resultsOf(results []*TaskResult, bench string) []*TaskResult {
	var out []*TaskResult
	for _, res := range results {
		if res.Benchmark == bench {
			out = append(out, res)
		}
	}
	return out
}

// RowLabels names a block's rows: the method, then the learning rate when
// another row has the same method, then the run when that is still not
// unique, so no two rows read alike.
func RowLabels(methods []MethodResult) []string {
	labels := make([]string, len(methods))
	for i, m := range methods {
		labels[i] = m.Method
	}
	refine := func(extra func(MethodResult) string) {
		counts := map[string]int{}
		for _, l := range labels {
			counts[l]++
		}
		for i, m := range methods {
			if counts[labels[i]] > 1 {
				if e := extra(m); e != "" {
					labels[i] += " " + e
				}
			}
		}
	}
	refine(func(m MethodResult) string {
		if m.LearningRate == 0 {
			return ""
		}
		return "lr=" + strconv.FormatFloat(m.LearningRate, 'g', -1, 64)
	})
	refine(func(m MethodResult) string {
		if m.Run == "" {
			return ""
		}
		return "(" + m.Run + ")"
	})
	seen := map[string]int{}
	for i, l := range labels {
		seen[l]++
		if seen[l] > 1 {
			labels[i] = fmt.Sprintf("%s #%d", l, seen[l])
		}
	}
	return labels
}

// Warnings lists what makes rows of a block not comparable: a benchmark run
// on different questions or shot counts, or missing from some rows (their
// averages then cover different benchmarks), and rows run for another
// metric than the column shows (unless the report overrides the column).
func (r Report) Warnings() []string {
	benchmarks := r.benchmarks()
	metrics := r.columnMetrics(benchmarks)
	var warnings []string
	for _, section := range r.Sections {
		labels := RowLabels(section.Methods)
		for _, group := range []struct {
			name string
			of   func(MethodResult) []*TaskResult
		}{{"Forgetting: English", englishOf}, {"Learning: " + section.Target, targetOf}} {
			for _, bench := range benchmarks {
				var ran, missing []string
				setups := map[string][]string{}
				var order []string
				for m, method := range section.Methods {
					same := resultsOf(group.of(method), bench)
					if len(same) == 0 {
						missing = append(missing, labels[m])
						continue
					}
					ran = append(ran, labels[m])
					setup := runSetup(same)
					if _, ok := setups[setup]; !ok {
						order = append(order, setup)
					}
					setups[setup] = append(setups[setup], labels[m])
					for _, res := range same {
						if r.Metrics[bench] == "" && res.Metric != "" && res.Metric != metrics[bench] {
							warnings = append(warnings, fmt.Sprintf("%s block, %s, %s: %s ran %s for %s; the column shows %s",
								section.Target, group.name, columnName(bench), labels[m], res.Task, res.Metric, metrics[bench]))
						}
					}
				}
				if len(ran) > 0 && len(missing) > 0 {
					warnings = append(warnings, fmt.Sprintf("%s block, %s, %s: %s ran it, %s did not; their averages cover different benchmarks",
						section.Target, group.name, columnName(bench), strings.Join(ran, ", "), strings.Join(missing, ", ")))
				}
				if len(order) > 1 {
					var parts []string
					for _, setup := range order {
						parts = append(parts, setup+" for "+strings.Join(setups[setup], ", "))
					}
					warnings = append(warnings, fmt.Sprintf("%s block, %s, %s: not comparable across rows: %s",
						section.Target, group.name, columnName(bench), strings.Join(parts, "; ")))
				}
			}
		}
	}
	return warnings
}

// runSetup describes what a row's results of one benchmark ran on.
func runSetup(results []*TaskResult) string {
	docs, shots := 0, []int{}
	for _, res := range results {
		docs += res.NumDocs
		if !slices.Contains(shots, res.Shots) {
			shots = append(shots, res.Shots)
		}
	}
	slices.Sort(shots)
	shotText := make([]string, len(shots))
	for i, s := range shots {
		shotText[i] = strconv.Itoa(s)
	}
	return fmt.Sprintf("%d questions in %d file(s), %s-shot", docs, len(results), strings.Join(shotText, "/"))
}

func columnName(bench string) string {
	if label := benchmarkLabels[bench]; label != "" {
		return label
	}
	return bench
}
