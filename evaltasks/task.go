package evaltasks

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
)

// Benchmark names a family of tasks that share a column in the paper's
// tables: the English and the translated file of one benchmark are different
// tasks of the same Benchmark.
const (
	BenchmarkARCChallenge  = "arc_challenge"
	BenchmarkHellaSwag     = "hellaswag"
	BenchmarkMMLU          = "mmlu"
	BenchmarkCommonsenseQA = "commonsense_qa"
	BenchmarkBelebele      = "belebele"
)

// The harness's defaults: target_delimiter between a query and its answer,
// fewshot_delimiter between solved examples.
const (
	targetDelimiter  = " "
	fewshotDelimiter = "\n\n"
)

// Doc is one benchmark question, already rendered into the harness's prompt
// text (its doc_to_text and doc_to_choice outputs).
type Doc struct {
	ID string
	// Query is the prompt for this document alone, without few-shot examples.
	Query string
	// Choices are the candidate answers without the leading space; the
	// request continuation is " " + choice, and acc_norm divides by the
	// choice's length, both as the harness does.
	Choices []string
	Gold    int
}

// Sampler is how few-shot examples are drawn from the pool.
type Sampler int

const (
	// SampleRandom draws examples without replacement, like the harness's
	// default sampler; Task.RNG says whose random draws.
	SampleRandom Sampler = iota
	// SampleFirstN takes the pool's first examples in file order, like the
	// harness's first_n sampler for MMLU and Belebele.
	SampleFirstN
)

// FewshotRNG chooses the random draws behind SampleRandom.
type FewshotRNG string

const (
	// FewshotLMEval draws as lm-eval does, so 5-shot numbers compare with
	// published ones: one Python random.Random(seed) for the whole task, and
	// per document in file order sample(pool, shots), or shots+1 with the
	// document itself removed when the pool is the evaluated file. The
	// default (also for the empty value).
	FewshotLMEval FewshotRNG = "lm-eval"
	// FewshotPerDocument is nrgraph's earlier draw: an independent PCG
	// stream per (seed, document), so a document's examples never depend on
	// the documents before it.
	FewshotPerDocument FewshotRNG = "per-document"
)

// ParseFewshotRNG checks a --fewshot-sampler value.
func ParseFewshotRNG(name string) (FewshotRNG, error) {
	return parseNamed("few-shot sampler", name, FewshotLMEval, FewshotPerDocument)
}

// parseNamed returns the constant among known spelled name, or an error
// listing them: the one check behind every string-typed option.
func parseNamed[T ~string](what, name string, known ...T) (T, error) {
	for _, k := range known {
		if string(k) == name {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown %s %q (known: %v)", what, name, known)
}

// Task is a loaded benchmark file ready to be scored.
type Task struct {
	// Name identifies the file's task: "arc_challenge", "mmlu_anatomy", "belebele_fra_Latn".
	Name string
	// Benchmark is the table column this task belongs to (a Benchmark* constant
	// for the built-in formats).
	Benchmark string
	Source    string
	// Description precedes the few-shot examples once (MMLU's subject line).
	Description string
	Docs        []Doc
	// FewshotDocs is the split examples are drawn from (train/dev). When nil,
	// examples come from Docs, never the evaluated document itself.
	FewshotDocs []Doc
	// FewshotPath is the file FewshotDocs came from.
	FewshotPath string
	Sampler     Sampler
	// RNG picks the draws of SampleRandom; empty means FewshotLMEval.
	RNG FewshotRNG
	// lmevalDraws caches FewshotLMEval's picks for every document, which
	// depend on all documents before them.
	lmevalDraws map[lmevalDrawKey][][]int
	// DefaultShots is the paper's setting for this benchmark (Section 4.1):
	// 5 for ARC, CSQA, MMLU; 0 for HellaSwag and Belebele.
	DefaultShots int
}

// Format names an upstream file format known to Open.
type Format string

const (
	FormatHellaSwag     Format = "hellaswag"
	FormatARC           Format = "arc"
	FormatMMLU          Format = "mmlu"
	FormatCommonsenseQA Format = "csqa"
	FormatBelebele      Format = "belebele"
	FormatJSONL         Format = "jsonl"
)

// parsers is the one table from format to loader; adding a benchmark means
// adding a parse function and a row here.
var parsers = map[Format]parseFunc{
	FormatHellaSwag:     parseHellaSwag,
	FormatARC:           parseARC,
	FormatMMLU:          parseMMLU,
	FormatCommonsenseQA: parseCommonsenseQA,
	FormatBelebele:      parseBelebele,
	FormatJSONL:         parseGenericJSONL,
}

// Formats lists the formats Open accepts, for flag help.
func Formats() []Format {
	return []Format{FormatHellaSwag, FormatARC, FormatMMLU, FormatCommonsenseQA, FormatBelebele, FormatJSONL}
}

// Open loads the documents to evaluate from path and, when fewshotPath is not
// empty, the few-shot pool from fewshotPath in the same format (the train or
// dev split). For MMLU both files must be of the same subject.
func Open(format Format, path, fewshotPath string) (*Task, error) {
	parse, ok := parsers[format]
	if !ok {
		return nil, fmt.Errorf("unknown task format %q (known: %v)", format, Formats())
	}
	task, err := loadFile(path, parse)
	if err != nil {
		return nil, err
	}
	if fewshotPath == "" {
		return task, nil
	}
	pool, err := loadFile(fewshotPath, parse)
	if err != nil {
		return nil, fmt.Errorf("few-shot pool for %s: %w", task.Name, err)
	}
	if pool.Description != task.Description {
		return nil, fmt.Errorf("few-shot pool %s is task %s, not %s", fewshotPath, pool.Name, task.Name)
	}
	task.FewshotDocs = pool.Docs
	task.FewshotPath = fewshotPath
	return task, nil
}

// fewshotSource describes the few-shot pool for provenance.
func (t *Task) fewshotSource(shots int) string {
	switch {
	case shots == 0:
		return ""
	case t.FewshotDocs != nil && t.FewshotPath != "":
		return t.FewshotPath
	case t.FewshotDocs != nil:
		return "separate pool"
	}
	return t.Source + " (the evaluated file, each document excluded from its own examples)"
}

// Prompt returns the full context for document i with shots solved examples:
// description, then "{query} {gold choice}\n\n" per example, then the query.
// The examples depend only on (seed, i) (with FewshotLMEval, on the draws of
// documents 0..i-1 too, replayed as lm-eval makes them), so Limit or
// batching never changes a document's prompt.
func (t *Task) Prompt(i, shots int, seed uint64) (string, error) {
	if i < 0 || i >= len(t.Docs) {
		return "", fmt.Errorf("task %s: document %d out of range [0,%d)", t.Name, i, len(t.Docs))
	}
	examples, err := t.fewshotExamples(i, shots, seed)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(t.Description)
	for _, ex := range examples {
		b.WriteString(ex.Query)
		b.WriteString(targetDelimiter)
		b.WriteString(ex.Choices[ex.Gold])
		b.WriteString(fewshotDelimiter)
	}
	b.WriteString(t.Docs[i].Query)
	return b.String(), nil
}

// Requests returns document i's requests, one per choice, in choice order and
// sharing one Context, so a Scorer can encode the context once.
func (t *Task) Requests(i, shots int, seed uint64) ([]Request, error) {
	prompt, err := t.Prompt(i, shots, seed)
	if err != nil {
		return nil, err
	}
	reqs := make([]Request, len(t.Docs[i].Choices))
	for c, choice := range t.Docs[i].Choices {
		reqs[c] = Request{Context: prompt, Continuation: targetDelimiter + choice}
	}
	return reqs, nil
}

func (t *Task) fewshotExamples(i, shots int, seed uint64) ([]Doc, error) {
	if shots < 0 {
		return nil, fmt.Errorf("task %s: negative shot count %d", t.Name, shots)
	}
	if shots == 0 {
		return nil, nil
	}
	pool, exclude := t.FewshotDocs, -1
	if pool == nil {
		// Same split as the evaluated documents: the harness removes the
		// document itself so it never sees its own answer.
		pool, exclude = t.Docs, i
	}
	available := len(pool)
	if exclude >= 0 {
		available--
	}
	if shots > available {
		return nil, fmt.Errorf("task %s: %d shots requested but the few-shot pool has %d examples", t.Name, shots, available)
	}
	picked := make([]Doc, 0, shots)
	switch {
	case t.Sampler == SampleFirstN:
		for j := 0; len(picked) < shots; j++ {
			if j != exclude {
				picked = append(picked, pool[j])
			}
		}
	case t.RNG == FewshotPerDocument:
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		taken := map[int]bool{exclude: true}
		for len(picked) < shots {
			j := rng.IntN(len(pool))
			if !taken[j] {
				taken[j] = true
				picked = append(picked, pool[j])
			}
		}
	default:
		for _, j := range t.lmevalPicks(shots, seed, exclude >= 0)[i] {
			picked = append(picked, pool[j])
		}
	}
	return picked, nil
}

type lmevalDrawKey struct {
	shots     int
	seed      uint64
	sameSplit bool
}

// lmevalPicks replays lm-eval's ContextSampler over every document in
// order: the pool indices each document's examples come from.
func (t *Task) lmevalPicks(shots int, seed uint64, sameSplit bool) [][]int {
	key := lmevalDrawKey{shots, seed, sameSplit}
	if picks, ok := t.lmevalDraws[key]; ok {
		return picks
	}
	poolSize, draw := len(t.FewshotDocs), shots
	if sameSplit {
		poolSize, draw = len(t.Docs), shots+1
	}
	rnd := newPyRandom(seed)
	picks := make([][]int, len(t.Docs))
	for d := range t.Docs {
		for _, j := range rnd.sample(poolSize, draw) {
			if len(picks[d]) < shots && !(sameSplit && j == d) {
				picks[d] = append(picks[d], j)
			}
		}
	}
	if t.lmevalDraws == nil {
		t.lmevalDraws = map[lmevalDrawKey][][]int{}
	}
	t.lmevalDraws[key] = picks
	return picks
}

// fileStem is the file name without directory and extension: the name
// upstream releases give a language or subject.
func fileStem(path string) string {
	base := filepath.Base(path)
	return strings.TrimSuffix(base, filepath.Ext(base))
}
