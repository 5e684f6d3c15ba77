package experiments

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nrgraph/nrgraph/export/trained"
	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/models/tokenizer"
	"github.com/nrgraph/nrgraph/trainer"
)

// ExperimentData locates an experiment's backbone and corpora.
type ExperimentData struct {
	Model   string // HF model directory (the embedded backbone)
	Corpora Corpora
	Work    string // shards, builds and runs go here, one directory each
	Threads int
	// HeldOutTokens caps the tokens scored per held-out set, taken as
	// evenly spaced windows (0: every whole window of the set).
	HeldOutTokens int64
	Log           io.Writer
	// ExtendedTokenizer, when set, is a tokenizer.json extending the
	// backbone's (ExtendVocab): the corpora are tokenized with it and every
	// build extends its vocabulary with its new tokens.
	ExtendedTokenizer string
	// BackbonePrecision of every build ("" or fp32, or int8: `nrgraph
	// build --backbone-precision`).
	BackbonePrecision models.BackbonePrecision
}

// Run is one extension run of an experiment.
type Run struct {
	// Label names the run in tables and plots: the method, or the
	// ablation's variant.
	Label string
	Ext   models.ExtensionConfig
	P     float64
	LR    float64
	Steps int
	Batch int
	Seq   int
	// Seed seeds the data order and the added parameters' initialisation.
	Seed uint64
}

// Outcome is one run's held-out bits per byte after training.
type Outcome struct {
	Run Run
	// Scores are by held-out set name (Corpora.HeldOut).
	Scores                      map[string]trainer.EvalResult
	GateOrig, GateNew           float64
	AdapterL1Orig, AdapterL1New float64
	// TrainSeconds is the sum of the step times (resumed runs included).
	TrainSeconds     float64
	RunDir, BuildDir string
}

// Results are an experiment's outcomes and the backbone's scores.
type Results struct {
	Corpora       Corpora
	HeldOutTokens int64
	Backbone      map[string]trainer.EvalResult
	Outcomes      []Outcome
}

// experiment is one Experiment call's resolved inputs.
type experiment struct {
	ExperimentData
	modelHash string
	shards    map[Corpus]shardSet
}

// Experiment builds and trains each run on the new language with p of the
// original-domain text mixed in, and scores every held-out set: the
// forgetting sets (original language, other domains) and the new
// language's. Each run has its own directory; a finished run with the same
// settings is reused, an interrupted one resumes.
func Experiment(ctx context.Context, d ExperimentData, runs []Run) (Results, error) {
	res := Results{Corpora: d.Corpora, HeldOutTokens: d.HeldOutTokens}
	if len(runs) == 0 {
		return res, fmt.Errorf("no runs selected")
	}
	if d.HeldOutTokens < 0 {
		return res, fmt.Errorf("--heldout-tokens %d must not be negative (0: whole sets)", d.HeldOutTokens)
	}
	if err := d.Corpora.Check(); err != nil {
		return res, err
	}
	tok, err := d.shardTokenizer()
	if err != nil {
		return res, err
	}
	e := experiment{ExperimentData: d}
	if e.modelHash, err = modelHash(d.Model); err != nil {
		return res, err
	}
	if d.ExtendedTokenizer != "" {
		// A vocabulary extension is another model: builds and runs of
		// their own.
		e.modelHash = hashStrings(e.modelHash, tok.Hash)
	}
	if e.shards, err = d.prepareShards(ctx, tok); err != nil {
		return res, err
	}
	if res.Backbone, err = e.scoreBackbone(ctx, runs); err != nil {
		return res, fmt.Errorf("backbone: %w", err)
	}
	for _, r := range runs {
		o, err := e.run(ctx, r)
		if err != nil {
			return res, fmt.Errorf("%s p=%g seed %d: %w", r.Label, r.P, r.Seed, err)
		}
		res.Outcomes = append(res.Outcomes, o)
	}
	return res, nil
}

// modelHash fingerprints the backbone directory's files, so runs on a
// retrained backbone (`make embedded`) get new directories.
func modelHash(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("--model %s: %w", dir, err)
	}
	var parts []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			h, err := contentHash(Corpus{Name: e.Name(), Path: filepath.Join(dir, e.Name()), Flag: "--model"})
			if err != nil {
				return "", err
			}
			parts = append(parts, e.Name(), h)
		}
	}
	return hashStrings(parts...), nil
}

// heldOut lists the held-out sets' shards in table order.
func (e experiment) heldOut() []shardSet {
	var sets []shardSet
	for _, c := range e.Corpora.HeldOut() {
		sets = append(sets, e.shards[c])
	}
	return sets
}

// scoreBackbone scores the backbone once, in windows of the first run's
// seq (every repro run uses 128): a finetune build adds nothing, so its
// initial weights are the backbone's.
func (e experiment) scoreBackbone(ctx context.Context, runs []Run) (map[string]trainer.EvalResult, error) {
	seq := runs[0].Seq
	ext, _ := models.DefaultExtension(models.Finetune)
	dir, err := e.ensureBuild(ext, seq)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(e.Log, "\nscoring the backbone on the held-out sets\n")
	return e.scoreModel(ctx, dir, "", dir, seq, e.heldOut())
}

// ensureBuild builds ext at seq once into its own directory.
func (e experiment) ensureBuild(ext models.ExtensionConfig, seq int) (string, error) {
	s := e.buildSettings(ext, seq)
	name, err := buildDirName(s)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(e.Work, name)
	if err := claimDir(dir, s); err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, build.ManifestFile)); err == nil {
		return dir, nil
	}
	fmt.Fprintf(e.Log, "\nnrgraph build --model %s --method %s --seq %d (seed %d)\n", e.Model, ext.Method, seq, ext.Seed)
	extTok, err := e.extendedTokenizerBytes()
	if err != nil {
		return "", err
	}
	man, err := build.Build(build.BuildOptions{ModelDir: e.Model, Ext: ext, Opt: graph.DefaultAdamW(), Seq: seq, Out: dir, Log: e.Log,
		ExtendedTokenizer: extTok, BackbonePrecision: e.BackbonePrecision})
	if err != nil {
		return "", err
	}
	fmt.Fprintf(e.Log, "  added %d parameters (%.1f%% of the backbone)\n", man.AddedParams, 100*float64(man.AddedParams)/float64(man.BackboneParams))
	return dir, nil
}

// buildSettings key a build's directory; an fp32 backbone keeps the key
// (and so the directory) it had before precisions existed.
func (e experiment) buildSettings(ext models.ExtensionConfig, seq int) buildSettings {
	s := buildSettings{Model: e.modelHash, Extension: ext, Seq: seq}
	if e.BackbonePrecision == models.PrecisionInt8 {
		s.BackbonePrecision = e.BackbonePrecision
	}
	return s
}

// PaperLR is the paper's learning rate per method (Section 4.1): 5e-5 for
// finetuning and LoRA, 2e-4 for adapters and neutral residues.
func PaperLR(method models.Method) float64 {
	if method == models.Finetune || method == models.LoRA {
		return 5e-5
	}
	return 2e-4
}

// ReproRuns are Table 2's runs: each of methods at each p, with the
// paper's learning rates times lrScale, in the table's order (p, then the
// order methods are given).
func ReproRuns(methods []models.Method, ps []float64, steps int, lrScale float64) []Run {
	var runs []Run
	for _, p := range ps {
		for _, m := range methods {
			ext, _ := models.DefaultExtension(m)
			runs = append(runs, Run{Label: string(m), Ext: ext, P: p, LR: PaperLR(m) * lrScale, Steps: steps, Batch: 8, Seq: 128, Seed: 1})
		}
	}
	return runs
}

// The ablations' row labels (AblationRuns), which AblationClaims reads.
const (
	AblationNoGate        = "gate none + l1"
	AblationSigmoidCE     = "sigmoid + ce"
	AblationNoLoss        = "relu, no loss"
	AblationOurs          = "relu + l1 (ours)"
	AblationHeInit        = "init he"
	AblationAlphaSmall    = "alpha 0.001"
	AblationAlphaLarge    = "alpha 0.1"
	AblationCapacitySmall = "capacity 0.05"
	AblationCapacityLarge = "capacity 0.5"
)

// AblationRuns are the paper's ablations on neutral residues (at p=0.1
// in the paper): gate and local loss (Table 4), initialisation (Table 5),
// α (Table 6) and capacity (Table 9).
func AblationRuns(ps []float64, steps int, lrScale float64) []Run {
	base, _ := models.DefaultExtension(models.NeutralResidues)
	lr := PaperLR(models.NeutralResidues) * lrScale
	variants := []struct {
		label  string
		change func(e *models.ExtensionConfig)
	}{
		{AblationNoGate, func(e *models.ExtensionConfig) { e.Gate = "none" }},
		{AblationSigmoidCE, func(e *models.ExtensionConfig) { e.Gate, e.LocalLoss = "sigmoid", "ce" }},
		{AblationNoLoss, func(e *models.ExtensionConfig) { e.LocalLoss = "none" }},
		{AblationOurs, func(e *models.ExtensionConfig) {}},
		{AblationHeInit, func(e *models.ExtensionConfig) { e.Init = "he" }},
		{AblationAlphaSmall, func(e *models.ExtensionConfig) { e.Alpha = 0.001 }},
		{AblationAlphaLarge, func(e *models.ExtensionConfig) { e.Alpha = 0.1 }},
		{AblationCapacitySmall, func(e *models.ExtensionConfig) { e.Capacity = 0.05 }},
		{AblationCapacityLarge, func(e *models.ExtensionConfig) { e.Capacity = 0.5 }},
	}
	var runs []Run
	for _, p := range ps {
		for _, v := range variants {
			e := base
			v.change(&e)
			runs = append(runs, Run{Label: v.label, Ext: e, P: p, LR: lr, Steps: steps, Batch: 8, Seq: 128, Seed: 1})
		}
	}
	return runs
}

// WithSeeds repeats runs once per seed, seed by seed, so an interrupted
// multi-seed experiment has whole tables for its first seeds.
func WithSeeds(runs []Run, seeds []uint64) []Run {
	var out []Run
	for _, s := range seeds {
		for _, r := range runs {
			r.Seed = s
			out = append(out, r)
		}
	}
	return out
}

// DemoOptions configure Demo.
type DemoOptions struct {
	ExperimentData
	Steps int
	LR    float64
	// ExtendVocab > 0 extends the vocabulary by that many new-language
	// tokens learned on the training text (ExtendVocab), within ExtendScope.
	ExtendVocab int
	ExtendScope tokenizer.ExtendScope
}

// Demo is `make demo`: neutral residues on the embedded English backbone,
// trained on French with p=0.1 English, evaluated before and after, with
// the table, the plot and the exported ONNX written to Work.
func Demo(ctx context.Context, o DemoOptions) error {
	start := time.Now()
	log := o.Log
	info, err := models.Inspect(o.Model)
	if err != nil {
		return fmt.Errorf("embedded backbone: %w (regenerate it with `make embedded`)", err)
	}
	fmt.Fprintf(log, "nrgraph demo: extend the embedded English backbone to French with neutral residues\n\n%s", info)
	if o.ExtendVocab > 0 {
		if o.ExtendedTokenizer, err = ExtendVocab(o.Model, o.Corpora.NewTrain, o.Work, o.ExtendVocab, o.ExtendScope); err != nil {
			return err
		}
		fmt.Fprintf(log, "vocabulary: %d new tokens (%s) in %s\n", o.ExtendVocab, o.ExtendScope, o.ExtendedTokenizer)
	}
	ext, _ := models.DefaultExtension(models.NeutralResidues)
	results, err := Experiment(ctx, o.ExperimentData, []Run{{Label: string(models.NeutralResidues), Ext: ext, P: 0.1, LR: o.LR, Steps: o.Steps, Batch: 8, Seq: 128, Seed: 1}})
	if err != nil {
		return err
	}
	res := results.Outcomes[0]
	fmt.Fprintf(log, "\nheld-out bits per byte (lower is better)\n\n%s\n", Table(results))
	fmt.Fprintf(log, "gates: mean %.3f on original-language tokens, %.3f on new-language ones; mean |adapter output| %.2e, %.2e\n",
		res.GateOrig, res.GateNew, res.AdapterL1Orig, res.AdapterL1New)
	plot := filepath.Join(o.Work, "tradeoff.png")
	if err := Plot(plot, results); err != nil {
		return err
	}
	exportDir := filepath.Join(o.Work, "export")
	if err := trained.Export(trained.ExportOptions{Build: res.BuildDir, Checkpoint: res.RunDir, Out: exportDir, Log: log}); err != nil {
		return err
	}
	fmt.Fprintf(log, "wrote %s and %s (PEFT-style adapters + self-contained ONNX)\ndone in %s\n", plot, exportDir, time.Since(start).Round(time.Second))
	return nil
}

// ParseSeeds reads --seeds: "N" is seeds 1..N (the usual way to ask for N
// seeds), a comma list names seeds ("1,2,5"), and a list item "A-B" is a
// range, so one chosen seed is "7-7".
func ParseSeeds(s string) ([]uint64, error) {
	bad := func(why string) ([]uint64, error) {
		return nil, fmt.Errorf("--seeds %q: %s (want N for seeds 1..N, or a list such as 1,2,5 or 4-6)", s, why)
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		if n == 0 || n > 1000 {
			return bad("N must be 1..1000")
		}
		seeds := make([]uint64, n)
		for i := range seeds {
			seeds[i] = uint64(i + 1)
		}
		return seeds, nil
	}
	var seeds []uint64
	seen := map[uint64]bool{}
	for _, item := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(item), "-")
		if !isRange {
			hi = lo
		}
		a, errA := strconv.ParseUint(lo, 10, 64)
		b, errB := strconv.ParseUint(hi, 10, 64)
		if errA != nil || errB != nil || a == 0 || b < a || b-a >= 1000 {
			return bad(fmt.Sprintf("%q is not a seed (1 or more) or a range A-B with A <= B", item))
		}
		for v := a; v <= b; v++ {
			if seen[v] {
				return bad(fmt.Sprintf("seed %d given twice", v))
			}
			seen[v] = true
			seeds = append(seeds, v)
		}
	}
	return seeds, nil
}
