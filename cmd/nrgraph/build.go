package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
)

func init() {
	register(subcommand{name: "build", summary: "emit the training, scoring and accumulation graphs for a model + extension method", run: runBuild})
}

// extensionFlags are the method knobs shared by build (and from-scratch
// training).
type extensionFlags struct {
	method                     models.Method
	init                       models.Init
	gate                       models.Gate
	localLoss                  models.LocalLoss
	capacity, alpha, loraAlpha float64
	seed                       int64
}

func (e *extensionFlags) register(fs *pflag.FlagSet) {
	e.method = models.NeutralResidues
	enumVar(fs, &e.method, "method", models.Methods, "extension method: neutral-residues, sigmoid-gate, adapters, lora, finetune")
	fs.Float64Var(&e.capacity, "capacity", 0.2, "fraction of backbone parameters to add (0.05, 0.1, 0.2, 0.5)")
	fs.Float64Var(&e.alpha, "alpha", 0.01, "weight of the local loss")
	enumVar(fs, &e.init, "init", []models.Init{models.InitLowVar, models.InitHe}, "adapter init: lowvar (variance 1/(d·L)) or he (2/d); default from --method")
	enumVar(fs, &e.gate, "gate", []models.Gate{models.GateReLU, models.GateSigmoid, models.GateNone}, "block gate: relu, sigmoid or none; default from --method")
	enumVar(fs, &e.localLoss, "local-loss", []models.LocalLoss{models.LocalLossL1, models.LocalLossCE, models.LocalLossNone}, "local loss: l1, ce or none; default from --method")
	fs.Float64Var(&e.loraAlpha, "lora-alpha", 0, "LoRA scaling numerator α (scaling α/r; 0 means α = r)")
	fs.Int64Var(&e.seed, "seed", 1, "initialisation seed")
}

func (e *extensionFlags) config() (models.ExtensionConfig, error) {
	ext, err := models.DefaultExtension(e.method)
	if err != nil {
		return ext, err
	}
	ext.Capacity, ext.Alpha, ext.LoRAAlpha, ext.Seed = e.capacity, e.alpha, e.loraAlpha, e.seed
	if e.init != "" {
		ext.Init = e.init
	}
	if e.gate != "" {
		ext.Gate = e.gate
	}
	if e.localLoss != "" {
		ext.LocalLoss = e.localLoss
	}
	return ext, ext.Validate()
}

func runBuild(args []string) error {
	fs := newFlagSet("build", "--model DIR --out BUILD_DIR [--method M] [--recompute] [knobs]")
	model := fs.String("model", "", "Hugging Face model directory (config.json, *.safetensors, tokenizer.json)")
	out := fs.String("out", "", "build directory to write")
	seq := fs.Int("seq", 512, "training sequence length")
	recompute := fs.Bool("recompute", false, "training graphs keep only each block's input for the backward pass and re-run the block's forward there: less activation memory (see nrgraph plan) for about one more forward pass of compute")
	precision := models.PrecisionFP32
	enumVar(fs, &precision, "backbone-precision", models.BackbonePrecisions, "frozen projections of the blocks: fp32, or int8 (weights quantised per output channel here, activations per call; CPU provider only; held-out bits/byte within 0.1% of fp32 on the embedded model, see README)")
	noTok := fs.Bool("no-tokenizer", false, "build without the model's tokenizer.json (otherwise required: it is checked against config.json, and train refuses shards of another tokenizer by it)")
	var ext extensionFlags
	ext.register(fs)
	var vocab vocabFlags
	vocab.register(fs)
	opt := graph.DefaultAdamW()
	fs.Float64Var(&opt.Beta1, "beta1", opt.Beta1, "AdamW β1")
	fs.Float64Var(&opt.Beta2, "beta2", opt.Beta2, "AdamW β2")
	fs.Float64Var(&opt.Eps, "eps", opt.Eps, "AdamW ε")
	fs.Float64Var(&opt.WeightDecay, "weight-decay", opt.WeightDecay, "decoupled weight decay (matrices only)")
	fs.Float64Var(&opt.ClipNorm, "clip", opt.ClipNorm, "global gradient-norm clipping (0: off)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *model == "" || *out == "" {
		fs.Usage()
		return fmt.Errorf("--model and --out are required")
	}
	cfg, err := ext.config()
	if err != nil {
		return err
	}
	start := time.Now()
	extTok, err := vocab.extendedTokenizer(*model)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "building %s on %s (seq %d) into %s\n", cfg.Method, *model, *seq, *out)
	man, err := build.Build(build.BuildOptions{ModelDir: *model, Ext: cfg, Opt: opt, Seq: *seq, Out: *out, Log: os.Stderr, NoTokenizer: *noTok, Recompute: *recompute,
		ExtendedTokenizer: extTok, BackbonePrecision: precision})
	if err != nil {
		return err
	}
	fmt.Print(describeBuild(man))
	fmt.Printf("done in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// describeBuild summarises what a build adds.
func describeBuild(m *build.Manifest) string {
	s := fmt.Sprintf("backbone: %s, %d layers, d=%d, %s parameters\n", m.Config.Arch, m.Config.Layers, m.Config.Hidden, human(m.BackboneParams))
	switch {
	case m.AdapterHidden > 0:
		s += fmt.Sprintf("method:   %s (GLU adapter hidden %d, gate %s, local loss %s, init %s, α=%g)\n",
			m.Extension.Method, m.AdapterHidden, m.Extension.Gate, m.Extension.LocalLoss, m.Extension.Init, m.Extension.Alpha)
	case m.LoRARank > 0:
		s += fmt.Sprintf("method:   lora (rank %d on the FFN gate/up/down projections)\n", m.LoRARank)
	default:
		s += fmt.Sprintf("method:   %s\n", m.Extension.Method)
	}
	if n := m.Extension.NewTokens; n > 0 {
		s += fmt.Sprintf("vocab:    %d new tokens (ids %d-%d; tokenizer.json is the extended one: tokenize corpora with it)\n", n, m.Config.Vocab, m.Config.Vocab+n-1)
	}
	trainable := m.TrainableParams()
	s += fmt.Sprintf("added:    %d parameters (%.2f%% of the backbone)\n", m.AddedParams, 100*float64(m.AddedParams)/float64(m.BackboneParams))
	s += fmt.Sprintf("trained:  %d parameters in %d tensors\n", trainable, len(m.Params))
	return s
}

func human(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
