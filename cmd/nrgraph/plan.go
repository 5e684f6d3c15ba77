package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/nrgraph/nrgraph/models"
)

func init() {
	register(subcommand{name: "plan", summary: "estimate the memory of training and scoring a model before building it", run: runPlan})
}

func runPlan(args []string) error {
	fs := newFlagSet("plan", "--model DIR [--method M] [--seq N] [--micro-batch B] [--score-tokens T] [--recompute] [--backbone-precision int8] [--json]")
	model := fs.String("model", "", "Hugging Face model directory (only config.json is read)")
	seq := fs.Int("seq", 512, "training sequence length")
	micro := fs.Int("micro-batch", 1, "sequences per forward/backward")
	scoreTokens := fs.Int("score-tokens", 2048, "tokens scored at once (one window of nrgraph eval)")
	recompute := fs.Bool("recompute", false, "estimate the training peak of graphs built with --recompute (block activations recomputed in the backward pass)")
	precision := models.PrecisionFP32
	enumVar(fs, &precision, "backbone-precision", models.BackbonePrecisions, "frozen projections of the blocks: fp32 (stored dtype), or int8 (build --backbone-precision int8)")
	asJSON := fs.Bool("json", false, "print JSON")
	var ext extensionFlags
	ext.register(fs)
	newTokens := fs.Int("extend-vocab", 0, "new tokens of a vocabulary extension (build --extend-vocab): their rows count in --capacity and memory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *model == "" || *seq <= 0 || *micro <= 0 || *scoreTokens <= 0 {
		fs.Usage()
		return fmt.Errorf("--model is required; --seq, --micro-batch and --score-tokens must be positive")
	}
	cfg, err := ext.config()
	if err != nil {
		return err
	}
	cfg.NewTokens = *newTokens
	c, err := models.LoadConfig(*model)
	if err != nil {
		return err
	}
	est, err := models.EstimateMemory(c, cfg, *seq, *micro, *scoreTokens)
	if err != nil {
		return err
	}
	est = est.WithBuildOptions(c, cfg, *recompute, precision)
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(est)
	}
	fmt.Printf("%s, %d layers, d=%d, vocabulary %d, %s weights; %s\n", c.Arch, c.Layers, c.Hidden, c.Vocab, c.DType, cfg.Method)
	fmt.Print(est)
	return nil
}
