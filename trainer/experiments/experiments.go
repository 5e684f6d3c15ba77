package experiments

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nrgraph/nrgraph/data"
	"github.com/nrgraph/nrgraph/evaltasks"
	"github.com/nrgraph/nrgraph/export/trained"
	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/models/tokenizer"
	"github.com/nrgraph/nrgraph/trainer"
)

// ExperimentData locates the demo corpora (`make corpora`) and the
// backbone.
type ExperimentData struct {
	Model   string // HF model directory (the embedded backbone)
	Corpora string // directory with en_orig, en_heldout, fr_train, fr_heldout_same JSONL
	Work    string // shards, builds and runs go here
	Threads int
	Log     io.Writer
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
}

// Outcome is held-out bits per byte before and after a run.
type Outcome struct {
	Run                         Run
	BackboneEN, BackboneFR      float64
	EN, FR                      float64
	GateOrig, GateNew           float64
	AdapterL1Orig, AdapterL1New float64
	Seconds                     float64
	RunDir, BuildDir            string
}

// demoSets are the corpora the experiments use.
var demoSets = []string{"en_orig", "en_heldout", "fr_train", "fr_heldout_same"}

// prepareShards tokenizes the corpora with the backbone's tokenizer (once).
func (d ExperimentData) prepareShards(ctx context.Context) (string, error) {
	dir := filepath.Join(d.Work, "shards")
	tok, err := tokenizer.LoadFile(filepath.Join(d.Model, build.TokenizerFile))
	if err != nil {
		return "", err
	}
	for _, set := range demoSets {
		src := filepath.Join(d.Corpora, set+".jsonl")
		if _, err := os.Stat(src); err != nil {
			return "", fmt.Errorf("corpus %s missing (%v): run `make corpora` first", src, err)
		}
		stem := filepath.Join(dir, set)
		if idx, err := os.ReadFile(stem + ".json"); err == nil && strings.Contains(string(idx), tok.Hash) {
			continue
		}
		st, err := data.Tokenize(ctx, data.TokenizeOptions{Inputs: []string{src}, Out: stem, Tokenizer: tok, TokenizerHash: tok.Hash,
			VocabSize: tok.VocabSize(), BOS: tok.BOS, EOS: tok.EOS, Workers: 2})
		if err != nil {
			return "", err
		}
		fmt.Fprintf(d.Log, "  tokenized %-16s %7d documents, %9d tokens\n", set, st.Documents, st.Tokens)
	}
	return dir, nil
}

// Experiment builds and trains each run on the new language (French) with
// p of the English original-domain proxy mixed in, and measures held-out
// English (forgetting: another domain than the proxy) and French
// (learning) bits per byte before and after.
func Experiment(ctx context.Context, d ExperimentData, runs []Run) ([]Outcome, error) {
	shards, err := d.prepareShards(ctx)
	if err != nil {
		return nil, err
	}
	var out []Outcome
	for _, r := range runs {
		o, err := d.run(ctx, shards, r)
		if err != nil {
			return out, fmt.Errorf("%s p=%g: %w", r.Label, r.P, err)
		}
		out = append(out, o)
	}
	return out, nil
}

func (d ExperimentData) run(ctx context.Context, shards string, r Run) (Outcome, error) {
	start := time.Now()
	e := r.Ext
	variant := fmt.Sprintf("%s_gate-%s_loss-%s_init-%s_cap%g_alpha%g_seq%d", e.Method, e.Gate, e.LocalLoss, e.Init, e.Capacity, e.Alpha, r.Seq)
	o := Outcome{Run: r, BuildDir: filepath.Join(d.Work, "build_"+variant), RunDir: filepath.Join(d.Work, fmt.Sprintf("run_%s_p%g_lr%g", variant, r.P, r.LR))}
	if _, err := os.Stat(filepath.Join(o.BuildDir, build.ManifestFile)); err != nil {
		fmt.Fprintf(d.Log, "\nnrgraph build --model %s --method %s --seq %d\n", d.Model, r.Ext.Method, r.Seq)
		man, err := build.Build(build.BuildOptions{ModelDir: d.Model, Ext: r.Ext, Opt: graph.DefaultAdamW(), Seq: r.Seq, Out: o.BuildDir, Log: d.Log})
		if err != nil {
			return o, err
		}
		fmt.Fprintf(d.Log, "  added %d parameters (%.1f%% of the backbone)\n", man.AddedParams, 100*float64(man.AddedParams)/float64(man.BackboneParams))
	}
	if err := os.RemoveAll(o.RunDir); err != nil {
		return o, err
	}
	cfg := trainer.RunConfig{Build: o.BuildDir, New: []string{filepath.Join(shards, "fr_train")}, P: r.P,
		Steps: r.Steps, Batch: r.Batch, LR: r.LR, Warmup: max(1, r.Steps/10), Schedule: "cosine", MinLRRatio: 0.1,
		EvalEvery: r.Steps, EvalNew: []string{filepath.Join(shards, "fr_heldout_same")}, EvalOrig: []string{filepath.Join(shards, "en_heldout")},
		EvalBatches: 16, SaveEvery: r.Steps, KeepLast: 1, Out: o.RunDir, Seed: 1, DataOrder: trainer.Shuffled, Threads: d.Threads}
	if r.P > 0 {
		cfg.Orig = []string{filepath.Join(shards, "en_orig")}
	}
	fmt.Fprintf(d.Log, "\nnrgraph train --method %s --p %g --lr %g --steps %d --batch %d --seq %d --data-order %s --seed %d\n", r.Ext.Method, r.P, r.LR, r.Steps, r.Batch, r.Seq, cfg.DataOrder, cfg.Seed)
	tr, err := trainer.New(cfg, false, d.Log)
	if err != nil {
		return o, err
	}
	defer tr.Close()
	before, err := tr.EvaluateHeldOut()
	if err != nil {
		return o, err
	}
	o.BackboneEN, o.BackboneFR = before["orig"].BitsPerByte, before["new"].BitsPerByte
	var last *trainer.Metrics
	tr.AfterStep = func(m *trainer.Metrics) { last = m }
	if err := tr.Run(ctx); err != nil {
		return o, err
	}
	o.EN, o.FR = last.Eval["orig"].BitsPerByte, last.Eval["new"].BitsPerByte
	o.GateOrig, o.GateNew, o.AdapterL1Orig, o.AdapterL1New = last.GateMeanOrig, last.GateMeanNew, last.AdapterL1Orig, last.AdapterL1New
	o.Seconds = time.Since(start).Seconds()
	return o, nil
}

// PaperLR is the paper's learning rate per method (Section 4.1): 5e-5 for
// finetuning and LoRA, 2e-4 for adapters and neutral residues.
func PaperLR(method models.Method) float64 {
	if method == models.Finetune || method == models.LoRA {
		return 5e-5
	}
	return 2e-4
}

// ReproRuns are Table 2's runs: every method at p=0 and p=0.1, with the
// paper's learning rates times lrScale.
func ReproRuns(steps int, lrScale float64) []Run {
	var runs []Run
	for _, p := range []float64{0, 0.1} {
		for _, m := range models.Methods {
			ext, _ := models.DefaultExtension(m)
			runs = append(runs, Run{Label: string(m), Ext: ext, P: p, LR: PaperLR(m) * lrScale, Steps: steps, Batch: 8, Seq: 128})
		}
	}
	return runs
}

// AblationRuns are the paper's ablations on neutral residues at p=0.1:
// gate and local loss (Table 4), initialisation (Table 5), α (Table 6) and
// capacity (Table 9).
func AblationRuns(steps int, lrScale float64) []Run {
	base, _ := models.DefaultExtension(models.NeutralResidues)
	lr := PaperLR(models.NeutralResidues) * lrScale
	variant := func(label string, change func(e *models.ExtensionConfig)) Run {
		e := base
		change(&e)
		return Run{Label: label, Ext: e, P: 0.1, LR: lr, Steps: steps, Batch: 8, Seq: 128}
	}
	return []Run{
		variant("gate none + l1", func(e *models.ExtensionConfig) { e.Gate = "none" }),
		variant("sigmoid + ce", func(e *models.ExtensionConfig) { e.Gate, e.LocalLoss = "sigmoid", "ce" }),
		variant("relu, no loss", func(e *models.ExtensionConfig) { e.LocalLoss = "none" }),
		variant("relu + l1 (ours)", func(e *models.ExtensionConfig) {}),
		variant("init he", func(e *models.ExtensionConfig) { e.Init = "he" }),
		variant("alpha 0.001", func(e *models.ExtensionConfig) { e.Alpha = 0.001 }),
		variant("alpha 0.1", func(e *models.ExtensionConfig) { e.Alpha = 0.1 }),
		variant("capacity 0.05", func(e *models.ExtensionConfig) { e.Capacity = 0.05 }),
		variant("capacity 0.5", func(e *models.ExtensionConfig) { e.Capacity = 0.5 }),
	}
}

// Table renders outcomes like the paper's Table 2: held-out English and
// French bits per byte (lower is better) per method and p.
func Table(outs []Outcome) string {
	var b strings.Builder
	b.WriteString("| method | p | lr | EN bits/byte (forgetting) | FR bits/byte (learning) |\n|---|---|---|---|---|\n")
	if len(outs) > 0 {
		fmt.Fprintf(&b, "| backbone | – | – | %.4f | %.4f |\n", outs[0].BackboneEN, outs[0].BackboneFR)
	}
	for _, o := range outs {
		fmt.Fprintf(&b, "| %s | %g | %g | %.4f | %.4f |\n", o.Run.Label, o.Run.P, o.Run.LR, o.EN, o.FR)
	}
	return b.String()
}

// Plot writes a Figure 1-style PNG: English bits/byte (x, forgetting grows
// to the right) against French bits/byte (y, learning goes down).
func Plot(path string, outs []Outcome) error {
	if len(outs) == 0 {
		return nil
	}
	points := []evaltasks.TradeoffPoint{{Method: "backbone", X: outs[0].BackboneEN, Y: outs[0].BackboneFR}}
	for _, o := range outs {
		points = append(points, evaltasks.TradeoffPoint{Method: o.Run.Label, Label: fmt.Sprintf("p=%g", o.Run.P), X: o.EN, Y: o.FR})
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := evaltasks.WriteTradeoffPlot(f, points, evaltasks.TradeoffPlotOptions{
		Title:  "Learning French vs forgetting English (held-out bits per byte; lower is better)",
		XLabel: "English bits/byte (forgetting →)", YLabel: "French bits/byte (↓ learning)"}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// DemoOptions configure Demo.
type DemoOptions struct {
	ExperimentData
	Steps int
	LR    float64
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
	ext, _ := models.DefaultExtension(models.NeutralResidues)
	outs, err := Experiment(ctx, o.ExperimentData, []Run{{Label: string(models.NeutralResidues), Ext: ext, P: 0.1, LR: o.LR, Steps: o.Steps, Batch: 8, Seq: 128}})
	if err != nil {
		return err
	}
	res := outs[0]
	fmt.Fprintf(log, "\nheld-out bits per byte (lower is better)\n\n%s\n", Table(outs))
	fmt.Fprintf(log, "gates: mean %.3f on English tokens, %.3f on French; mean |adapter output| %.2e English, %.2e French\n",
		res.GateOrig, res.GateNew, res.AdapterL1Orig, res.AdapterL1New)
	plot := filepath.Join(o.Work, "tradeoff.png")
	if err := Plot(plot, outs); err != nil {
		return err
	}
	exportDir := filepath.Join(o.Work, "export")
	if err := trained.Export(trained.ExportOptions{Build: res.BuildDir, Checkpoint: res.RunDir, Out: exportDir, Log: log}); err != nil {
		return err
	}
	fmt.Fprintf(log, "wrote %s and %s (PEFT-style adapters + self-contained ONNX)\ndone in %s\n", plot, exportDir, time.Since(start).Round(time.Second))
	return nil
}
