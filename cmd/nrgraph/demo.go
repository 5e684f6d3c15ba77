package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/trainer/experiments"
)

func init() {
	register(subcommand{name: "demo", summary: "the main job on the embedded default: extend the English backbone to French, before/after table", run: runDemo})
}

func runDemo(args []string) error {
	fs := newFlagSet("demo", "[--work DIR] [--steps N] [--lr X]")
	var o experiments.DemoOptions
	fs.StringVar(&o.Model, "model", "models/embedded/en-llama-7m", "backbone (HF directory)")
	corpora := fs.String("corpora", ".cache/corpora", "corpora from `make corpora`")
	fs.StringVar(&o.Work, "work", ".cache/demo", "working directory (shards, build, run, plot, export)")
	fs.IntVar(&o.Steps, "steps", 300, "training steps")
	fs.Float64Var(&o.LR, "lr", 1e-3, "peak learning rate")
	fs.IntVar(&o.Threads, "threads", 0, "ONNX Runtime threads (0: all CPUs)")
	// 1,024 spread windows per set: whole sets (1.65M tokens per model)
	// would make scoring most of the demo's time; repro scores them whole.
	fs.Int64Var(&o.HeldOutTokens, "heldout-tokens", 131072, "score this many tokens per held-out set, as evenly spaced windows (0: the whole sets)")
	vocab := vocabExtensionFlags(fs, "French tokens learned on fr_train")
	o.BackbonePrecision = models.PrecisionFP32
	enumVar(fs, &o.BackbonePrecision, "backbone-precision", models.BackbonePrecisions, "frozen projections: fp32 or int8 (nrgraph build --backbone-precision)")
	ortLib := fs.String("ort-lib", "", "path to libonnxruntime.so")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.ExtendVocab, o.ExtendScope = vocab.tokens, vocab.scope
	o.Corpora = experiments.DemoCorpora(*corpora)
	if err := initRuntime(*ortLib); err != nil {
		return err
	}
	o.Log = os.Stdout
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return experiments.Demo(ctx, o)
}
