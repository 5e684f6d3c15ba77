package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/nrgraph/nrgraph/trainer/experiments"
)

func init() {
	register(subcommand{name: "repro", summary: "the paper's Table 2 (and ablations) at small scale on the embedded backbone", run: runRepro})
}

func runRepro(args []string) error {
	fs := newFlagSet("repro", "[--ablations] [--steps N] [--lr-scale X]")
	var d experiments.ExperimentData
	fs.StringVar(&d.Model, "model", "models/embedded/en-llama-7m", "backbone (HF directory)")
	fs.StringVar(&d.Corpora, "corpora", ".cache/corpora", "corpora from `make corpora`")
	fs.StringVar(&d.Work, "work", ".cache/repro", "working directory")
	fs.IntVar(&d.Threads, "threads", 0, "ONNX Runtime threads (0: all CPUs)")
	steps := fs.Int("steps", 300, "training steps per run (same budget for every method)")
	lrScale := fs.Float64("lr-scale", 1, "multiply the paper's learning rates (5e-5 finetune/LoRA, 2e-4 adapters/NR)")
	ablations := fs.Bool("ablations", false, "run the ablations (gate/loss, init, α, capacity) instead of Table 2")
	ortLib := fs.String("ort-lib", "", "path to libonnxruntime.so")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := initRuntime(*ortLib); err != nil {
		return err
	}
	d.Log = os.Stderr
	runs := experiments.ReproRuns(*steps, *lrScale)
	name := "table2"
	if *ablations {
		runs, name = experiments.AblationRuns(*steps, *lrScale), "ablations"
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	outs, err := experiments.Experiment(ctx, d, runs)
	if err != nil {
		return err
	}
	table := experiments.Table(outs)
	fmt.Print(table)
	if err := os.WriteFile(filepath.Join(d.Work, name+".md"), []byte(table), 0o644); err != nil {
		return err
	}
	plot := filepath.Join(d.Work, name+".png")
	if err := experiments.Plot(plot, outs); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s and %s\n", filepath.Join(d.Work, name+".md"), plot)
	return nil
}
