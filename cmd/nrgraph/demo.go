package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/nrgraph/nrgraph/trainer"
)

func init() {
	register(subcommand{name: "demo", summary: "the main job end to end on the embedded default (build, train, evaluate)", run: runDemo})
}

func runDemo(args []string) error {
	fs := newFlagSet("demo", "[--out DIR] [--steps N]")
	out := fs.String("out", filepath.Join(os.TempDir(), "nrgraph-demo"), "working directory")
	steps := fs.Int("steps", 60, "training steps")
	ortLib := fs.String("ort-lib", "", "path to libonnxruntime.so")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := initRuntime(*ortLib); err != nil {
		return err
	}
	return trainer.Demo(context.Background(), trainer.DemoOptions{Out: *out, Steps: *steps, Log: os.Stdout})
}
