package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/trainer"
)

func init() {
	register(subcommand{name: "train", summary: "train a build on token shards (mixing, checkpoints, resume, eval)", run: runTrain})
}

func runTrain(args []string) error {
	fs := newFlagSet("train", "--build BUILD_DIR --new SHARDS [--orig SHARDS --p 0.1] --steps N --out RUN_DIR [flags]")
	var c trainer.RunConfig
	configFile := fs.String("config", "", "run configuration file (YAML or JSON, keys as in RUN_DIR/config.json); flags override it")
	fs.StringVar(&c.Build, "build", "", "build directory written by nrgraph build")
	fs.StringSliceVar(&c.New, "new", nil, "new-domain token shards (files, stems or directories)")
	fs.StringSliceVar(&c.Orig, "orig", nil, "original-domain token shards, mixed in with probability --p")
	fs.Float64Var(&c.P, "p", 0.1, "probability that a training sequence comes from --orig (paper: 0.1)")
	fs.IntVar(&c.Steps, "steps", 1000, "optimizer steps")
	fs.IntVar(&c.Batch, "batch", 16, "sequences per optimizer step")
	fs.IntVar(&c.MicroBatch, "micro-batch", 0, "sequences per forward/backward (gradients accumulate; default --batch)")
	fs.Float64Var(&c.LR, "lr", 2e-4, "peak learning rate (paper: 2e-4 adapters/neutral residues, 5e-5 finetune/LoRA)")
	fs.IntVar(&c.Warmup, "warmup", 100, "linear warmup steps")
	fs.StringVar(&c.Schedule, "schedule", "cosine", "learning-rate schedule after warmup: cosine, linear or constant")
	fs.Float64Var(&c.MinLRRatio, "min-lr-ratio", 0.1, "final learning rate as a fraction of --lr")
	fs.IntVar(&c.EvalEvery, "eval-every", 0, "evaluate held-out loss every K steps (0: never)")
	fs.StringSliceVar(&c.EvalNew, "eval-new", nil, "held-out new-domain token shards")
	fs.StringSliceVar(&c.EvalOrig, "eval-orig", nil, "held-out original-domain token shards")
	fs.IntVar(&c.EvalBatches, "eval-batches", 8, "micro-batches per held-out evaluation")
	fs.IntVar(&c.SaveEvery, "save-every", 100, "checkpoint every S steps (and at the end)")
	fs.IntVar(&c.KeepLast, "keep-last", 3, "checkpoints to keep")
	fs.StringVar(&c.Out, "out", "", "run directory (checkpoints, metrics.jsonl, config.json)")
	fs.Uint64Var(&c.Seed, "seed", 1, "data-order seed")
	fs.IntVar(&c.Threads, "threads", 0, "ONNX Runtime intra-op threads (0: all CPUs)")
	fs.StringVar(&c.Provider, "provider", "cpu", "execution provider: cpu, cuda or tensorrt (needs --ort-lib of a GPU build)")
	resume := fs.Bool("resume", false, "continue from the latest checkpoint in --out")
	fromScratch := fs.Bool("from-scratch", false, "pretrain a backbone: build --model's config.json with random weights (all trainable) into RUN_DIR/build")
	modelDir := fs.String("model", "", "with --from-scratch: directory with config.json and tokenizer.json")
	seq := fs.Int("seq", 256, "with --from-scratch: sequence length")
	initStd := fs.Float64("init-std", 0.02, "with --from-scratch: standard deviation of the random init")
	ortLib := fs.String("ort-lib", "", "path to libonnxruntime.so")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *configFile != "" {
		// Flag defaults, then the file's keys, then flags given explicitly.
		fromFile, err := readRunConfig(*configFile, c)
		if err != nil {
			return err
		}
		c = mergeFlags(fs, fromFile, c)
	}
	if err := initRuntime(*ortLib); err != nil {
		return err
	}
	if *fromScratch {
		if *modelDir == "" || c.Out == "" {
			return fmt.Errorf("--from-scratch needs --model (config.json + tokenizer.json) and --out")
		}
		c.Build = filepath.Join(c.Out, "build")
		if _, err := os.Stat(filepath.Join(c.Build, build.ManifestFile)); err != nil || !*resume {
			ext, _ := models.DefaultExtension(models.Finetune)
			opt := graph.DefaultAdamW()
			fmt.Fprintf(os.Stderr, "building %s from scratch into %s\n", *modelDir, c.Build)
			if _, err := build.Build(build.BuildOptions{ModelDir: *modelDir, RandomInit: true, InitStd: *initStd, Ext: ext, Opt: opt, Seq: *seq, Out: c.Build, Log: os.Stderr}); err != nil {
				return err
			}
		}
	}
	tr, err := trainer.New(c, *resume, os.Stderr)
	if err != nil {
		return err
	}
	defer tr.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(os.Stderr, "training %s (%d trainable tensors) for %d steps, batch %d x %d tokens, p=%g -> %s\n",
		tr.Manifest.Extension.Method, len(tr.Manifest.Params), tr.Cfg.Steps, tr.Cfg.Batch, tr.Manifest.Seq, tr.Cfg.P, tr.Cfg.Out)
	err = tr.Run(ctx)
	if errors.Is(err, trainer.ErrInterrupted) {
		return nil
	}
	return err
}

// readRunConfig reads YAML or JSON (JSON is YAML) over base, using the
// JSON key names; keys absent from the file keep base's values.
func readRunConfig(path string, base trainer.RunConfig) (trainer.RunConfig, error) {
	c := base
	raw, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	var generic map[string]any
	if err := yaml.Unmarshal(raw, &generic); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	js, err := json.Marshal(generic)
	if err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	dec := json.NewDecoder(bytesReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// mergeFlags starts from the file and applies every flag set on the
// command line.
func mergeFlags(fs *pflag.FlagSet, file, flags trainer.RunConfig) trainer.RunConfig {
	out := file
	set := func(name string, apply func()) {
		if fs.Changed(name) {
			apply()
		}
	}
	set("build", func() { out.Build = flags.Build })
	set("new", func() { out.New = flags.New })
	set("orig", func() { out.Orig = flags.Orig })
	set("p", func() { out.P = flags.P })
	set("steps", func() { out.Steps = flags.Steps })
	set("batch", func() { out.Batch = flags.Batch })
	set("micro-batch", func() { out.MicroBatch = flags.MicroBatch })
	set("lr", func() { out.LR = flags.LR })
	set("warmup", func() { out.Warmup = flags.Warmup })
	set("schedule", func() { out.Schedule = flags.Schedule })
	set("min-lr-ratio", func() { out.MinLRRatio = flags.MinLRRatio })
	set("eval-every", func() { out.EvalEvery = flags.EvalEvery })
	set("eval-new", func() { out.EvalNew = flags.EvalNew })
	set("eval-orig", func() { out.EvalOrig = flags.EvalOrig })
	set("eval-batches", func() { out.EvalBatches = flags.EvalBatches })
	set("save-every", func() { out.SaveEvery = flags.SaveEvery })
	set("keep-last", func() { out.KeepLast = flags.KeepLast })
	set("out", func() { out.Out = flags.Out })
	set("seed", func() { out.Seed = flags.Seed })
	set("threads", func() { out.Threads = flags.Threads })
	set("provider", func() { out.Provider = flags.Provider })
	return out
}
