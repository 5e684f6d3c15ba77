package evaltasks

import (
	"math"
	"slices"
	"strings"
)

// PartScore is one part of a pooled result: an MMLU subject, or an MMLU
// category pooling its subjects.
type PartScore struct {
	Name    string           `json:"name"`
	NumDocs int              `json:"num_docs"`
	Scores  map[Metric]Score `json:"scores"`
}

// breakdown lists each part's own scores and, for parts with a known
// category (MMLU's subjects), each category's micro-average, as lm-eval's
// mmlu group reports humanities, social sciences, STEM and other.
func breakdown(parts []*TaskResult) (subtasks, categories []PartScore) {
	byCategory := map[string][]DocScore{}
	for _, part := range parts {
		subtasks = append(subtasks, PartScore{Name: part.Task, NumDocs: part.NumDocs, Scores: part.Scores})
		if category := mmluCategories[strings.TrimPrefix(part.Task, BenchmarkMMLU+"_")]; category != "" && part.Benchmark == BenchmarkMMLU {
			byCategory[category] = append(byCategory[category], part.Docs...)
		}
	}
	names := make([]string, 0, len(byCategory))
	for name := range byCategory {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		docs := byCategory[name]
		categories = append(categories, PartScore{Name: name, NumDocs: len(docs), Scores: scoresOf(docs)})
	}
	return subtasks, categories
}

// pooledScore is the micro-average of several results of one benchmark in a
// report row (every document weighs the same, lm-eval's weight_by_size).
// The outcomes are 0/1, so the pooled standard error follows from the pooled
// mean and count alone: sqrt(p(1-p)/(n-1)), what MeanStderr gives over the
// pooled documents.
func pooledScore(results []*TaskResult, metric Metric) Score {
	if len(results) == 1 {
		return results[0].Scores[metric]
	}
	correct, n := 0.0, 0
	for _, res := range results {
		correct += res.Scores[metric].Value * float64(res.NumDocs)
		n += res.NumDocs
	}
	if n == 0 {
		return Score{}
	}
	p := correct / float64(n)
	if n < 2 {
		return Score{Value: p}
	}
	return Score{Value: p, Stderr: math.Sqrt(max(0, p*(1-p)) / float64(n-1))}
}

// mmluCategories maps each MMLU subject to its category, as in the MMLU
// paper's appendix and lm-eval's mmlu/_generate_configs.py.
var mmluCategories = map[string]string{
	"abstract_algebra": "stem", "anatomy": "stem", "astronomy": "stem", "college_biology": "stem",
	"college_chemistry": "stem", "college_computer_science": "stem", "college_mathematics": "stem",
	"college_physics": "stem", "computer_security": "stem", "conceptual_physics": "stem",
	"electrical_engineering": "stem", "elementary_mathematics": "stem", "high_school_biology": "stem",
	"high_school_chemistry": "stem", "high_school_computer_science": "stem", "high_school_mathematics": "stem",
	"high_school_physics": "stem", "high_school_statistics": "stem", "machine_learning": "stem",

	"business_ethics": "other", "clinical_knowledge": "other", "college_medicine": "other",
	"global_facts": "other", "human_aging": "other", "management": "other", "marketing": "other",
	"medical_genetics": "other", "miscellaneous": "other", "nutrition": "other",
	"professional_accounting": "other", "professional_medicine": "other", "virology": "other",

	"econometrics": "social_sciences", "high_school_geography": "social_sciences",
	"high_school_government_and_politics": "social_sciences", "high_school_macroeconomics": "social_sciences",
	"high_school_microeconomics": "social_sciences", "high_school_psychology": "social_sciences",
	"human_sexuality": "social_sciences", "professional_psychology": "social_sciences",
	"public_relations": "social_sciences", "security_studies": "social_sciences",
	"sociology": "social_sciences", "us_foreign_policy": "social_sciences",

	"formal_logic": "humanities", "high_school_european_history": "humanities",
	"high_school_us_history": "humanities", "high_school_world_history": "humanities",
	"international_law": "humanities", "jurisprudence": "humanities", "logical_fallacies": "humanities",
	"moral_disputes": "humanities", "moral_scenarios": "humanities", "philosophy": "humanities",
	"prehistory": "humanities", "professional_law": "humanities", "world_religions": "humanities",
}
