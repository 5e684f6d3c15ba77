package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/tokenizer"
	"github.com/nrgraph/nrgraph/trainer/experiments"
)

func init() {
	register(subcommand{name: "repro", summary: "the paper's Table 2 (and ablations) at small scale, on the demo corpora or your own", run: runRepro})
}

// corpusFlag is a NAME=PATH flag: one corpus, or (list) one per use, where
// the first use replaces the default list.
type corpusFlag struct {
	name    string
	one     *experiments.Corpus
	list    *[]experiments.Corpus
	changed bool
}

func (c *corpusFlag) Type() string { return "NAME=PATH" }

func (c *corpusFlag) String() string {
	if c.one != nil {
		return c.one.Name + "=" + c.one.Path
	}
	s := ""
	for i, v := range *c.list {
		if i > 0 {
			s += " "
		}
		s += v.Name + "=" + v.Path
	}
	return s
}

func (c *corpusFlag) Set(v string) error {
	parsed, err := experiments.ParseCorpus("--"+c.name, v)
	if err != nil {
		return err
	}
	switch {
	case c.one != nil && c.changed:
		return fmt.Errorf("given twice (%s=%s before): one corpus only", c.one.Name, c.one.Path)
	case c.one != nil:
		*c.one = parsed
	case !c.changed:
		*c.list = []experiments.Corpus{parsed}
	default:
		*c.list = append(*c.list, parsed)
	}
	c.changed = true
	return nil
}

// corpusFlags registers the data flags over cs (their defaults).
func corpusFlags(fs *pflag.FlagSet, cs *experiments.Corpora) {
	fs.Var(&corpusFlag{name: "new-train", one: &cs.NewTrain}, "new-train", "the new language's training text; NAME names the language in the plot")
	fs.Var(&corpusFlag{name: "new-heldout", list: &cs.NewHeldOut}, "new-heldout", "held-out text of the new language (learning; repeatable); NAME heads its column")
	fs.Var(&corpusFlag{name: "orig-train", one: &cs.OrigTrain}, "orig-train", "original-language text mixed in at rate p (the paper's Wikipedia)")
	fs.Var(&corpusFlag{name: "forget", list: &cs.Forget}, "forget", "held-out original-language text of another domain (forgetting; repeatable); NAME heads its column")
}

func runRepro(args []string) error {
	fs := newFlagSet("repro", "[--methods LIST] [--p LIST] [--seeds N|LIST] [--ablations] [--new-train NAME=PATH ...] [--heldout-tokens N]")
	var d experiments.ExperimentData
	fs.StringVar(&d.Model, "model", "models/embedded/en-llama-7m", "backbone (HF directory)")
	corporaDir := fs.String("corpora", ".cache/corpora", "directory of make corpora's sets: CORPORA in the data flags' defaults")
	cs := experiments.DemoCorpora("CORPORA")
	corpusFlags(fs, &cs)
	fs.StringVar(&d.Work, "work", ".cache/repro", "working directory: shards, and one directory per build and per run (reused when settings match)")
	fs.IntVar(&d.Threads, "threads", 0, "ONNX Runtime threads (0: all CPUs)")
	methods := append([]models.Method{}, models.Methods...)
	enumListVar(fs, &methods, "methods", models.Methods, "Table 2 methods to run, comma-separated")
	ps := fs.String("p", "0,0.1", "rates of original-language text mixed in, comma-separated (--ablations: 0.1 unless given)")
	seedsFlag := fs.String("seeds", "1", "N (seeds 1..N) or a list (1,2,5; 4-6): every run once per seed, tables give mean ± sd")
	fs.Int64Var(&d.HeldOutTokens, "heldout-tokens", 0, "score this many tokens per held-out set, as evenly spaced windows (0: the whole sets)")
	steps := fs.Int("steps", 300, "training steps per run (same budget for every method)")
	lrScale := fs.Float64("lr-scale", 1, "multiply the paper's learning rates (5e-5 finetune/LoRA, 2e-4 adapters/NR)")
	vocab := vocabExtensionFlags(fs, "new-language tokens learned on --new-train, in every run")
	ablations := fs.Bool("ablations", false, "run the ablations (gate/loss, init, α, capacity on neutral residues) instead of Table 2")
	ortLib := fs.String("ort-lib", "", "path to libonnxruntime.so")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d.Corpora = defaultCorpora(fs, cs, *corporaDir)
	if err := d.Corpora.Check(); err != nil {
		return err
	}
	runs, name, err := reproRuns(fs, *ablations, methods, *ps, *steps, *lrScale, *seedsFlag)
	if err != nil {
		return err
	}
	if d.ExtendedTokenizer, err = vocab.extend(d); err != nil {
		return err
	}
	name += vocab.suffix()
	if err := initRuntime(*ortLib); err != nil {
		return err
	}
	d.Log = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := experiments.Experiment(ctx, d, runs)
	if err != nil {
		return err
	}
	return writeReproOutputs(d.Work, name, res)
}

// defaultCorpora fills the data flags not given from --corpora.
func defaultCorpora(fs *pflag.FlagSet, cs experiments.Corpora, dir string) experiments.Corpora {
	def := experiments.DemoCorpora(dir)
	if !fs.Changed("new-train") {
		cs.NewTrain = def.NewTrain
	}
	if !fs.Changed("new-heldout") {
		cs.NewHeldOut = def.NewHeldOut
	}
	if !fs.Changed("orig-train") {
		cs.OrigTrain = def.OrigTrain
	}
	if !fs.Changed("forget") {
		cs.Forget = def.Forget
	}
	return cs
}

// reproRuns is the selected runs times the seeds, and the outputs' name.
func reproRuns(fs *pflag.FlagSet, ablations bool, methods []models.Method, pFlag string, steps int, lrScale float64, seedsFlag string) ([]experiments.Run, string, error) {
	seeds, err := experiments.ParseSeeds(seedsFlag)
	if err != nil {
		return nil, "", err
	}
	var ps []float64
	for _, item := range strings.Split(pFlag, ",") {
		p, err := strconv.ParseFloat(strings.TrimSpace(item), 64)
		if err != nil || !(p >= 0 && p <= 1) {
			return nil, "", fmt.Errorf("--p %q: want rates in [0, 1], comma-separated (0,0.1)", item)
		}
		ps = append(ps, p)
	}
	if steps <= 0 {
		return nil, "", fmt.Errorf("--steps %d must be positive", steps)
	}
	if !ablations {
		return experiments.WithSeeds(experiments.ReproRuns(methods, ps, steps, lrScale), seeds), "table2", nil
	}
	if fs.Changed("methods") {
		return nil, "", fmt.Errorf("--methods selects Table 2's rows; --ablations runs neutral-residues variants: drop one of them")
	}
	if !fs.Changed("p") {
		ps = []float64{0.1}
	}
	return experiments.WithSeeds(experiments.AblationRuns(ps, steps, lrScale), seeds), "ablations", nil
}

// writeReproOutputs prints the table and writes it, the plot and the JSON
// results (every seed's numbers) beside the runs.
func writeReproOutputs(work, name string, res experiments.Results) error {
	table := experiments.Table(res)
	if claims := experiments.ClaimsReport(res); claims != "" {
		table += "\n" + claims
	}
	fmt.Print(table)
	md, png, js := filepath.Join(work, name+".md"), filepath.Join(work, name+".png"), filepath.Join(work, name+".json")
	if err := os.WriteFile(md, []byte(table), 0o644); err != nil {
		return err
	}
	if err := experiments.Plot(png, res); err != nil {
		return err
	}
	if err := experiments.WriteJSON(js, res); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s, %s and %s\n", md, png, js)
	return nil
}

// vocabExtension is repro's --extend-vocab: every run of the table uses the
// one extended tokenizer (learned once on --new-train), so rows compare
// methods on the same vocabulary.
type vocabExtension struct {
	tokens int
	scope  tokenizer.ExtendScope
}

// vocabExtensionFlags registers --extend-vocab and --extend-vocab-scope
// (repro's and demo's); learnedOn says which text the tokens come from.
func vocabExtensionFlags(fs *pflag.FlagSet, learnedOn string) *vocabExtension {
	v := &vocabExtension{scope: tokenizer.ExtendNonASCII}
	fs.IntVar(&v.tokens, "extend-vocab", 0, "extend the vocabulary by N "+learnedOn+" (as nrgraph build --extend-vocab)")
	enumVar(fs, &v.scope, "extend-vocab-scope", tokenizer.ExtendScopes, "which merges --extend-vocab may learn: non-ascii or all (see nrgraph build)")
	return v
}

// extend learns the extended tokenizer (cached under --work) and returns
// its path; "" without --extend-vocab.
func (v *vocabExtension) extend(d experiments.ExperimentData) (string, error) {
	switch {
	case v.tokens < 0:
		return "", fmt.Errorf("--extend-vocab %d must not be negative (0: the backbone's vocabulary)", v.tokens)
	case v.tokens == 0:
		return "", nil
	}
	fmt.Fprintf(os.Stderr, "learning %d new tokens (%s) on %s\n", v.tokens, v.scope, d.Corpora.NewTrain.Path)
	return experiments.ExtendVocab(d.Model, d.Corpora.NewTrain, d.Work, v.tokens, v.scope)
}

// suffix names the outputs of an extended table apart from the plain one.
func (v *vocabExtension) suffix() string {
	if v.tokens == 0 {
		return ""
	}
	return fmt.Sprintf("-vocab%d-%s", v.tokens, v.scope)
}
