package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/nrgraph/nrgraph/export/trained"
	"github.com/nrgraph/nrgraph/models/tokenizer"
)

func init() {
	register(subcommand{name: "generate", summary: "continue a prompt with a model (greedy or sampled) to see that it works", run: runGenerate})
}

func runGenerate(args []string) error {
	fs := newFlagSet("generate", "MODEL_DIR --prompt TEXT  |  --build BUILD_DIR [--checkpoint RUN_DIR] --prompt TEXT")
	var o trained.GenerateOptions
	fs.StringVar(&o.Build, "build", "", "generate with an extended model from this build (instead of MODEL_DIR)")
	fs.StringVar(&o.Checkpoint, "checkpoint", "", "with --build: run or checkpoint directory (default: initial weights)")
	gates := fs.String("gates", "on", "with --build: on, or off to switch the adapters off")
	fs.StringVar(&o.Prompt, "prompt", "", "text to continue")
	fs.IntVar(&o.MaxNew, "max-new", 64, "tokens to generate")
	fs.Float64Var(&o.Temperature, "temperature", 0, "sampling temperature (0: greedy)")
	fs.IntVar(&o.TopK, "top-k", 40, "sample among the k most likely tokens (with --temperature > 0)")
	fs.Uint64Var(&o.Seed, "seed", 1, "sampling seed")
	fs.IntVar(&o.Threads, "threads", 0, "ONNX Runtime threads (0: all CPUs)")
	ortLib := fs.String("ort-lib", "", "path to libonnxruntime.so")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tokDir := o.Build
	if o.Build == "" {
		if fs.NArg() != 1 {
			fs.Usage()
			return fmt.Errorf("give a model directory or --build")
		}
		o.ModelDir, tokDir = fs.Arg(0), fs.Arg(0)
	}
	o.GatesOff = *gates == "off"
	if err := initRuntime(*ortLib); err != nil {
		return err
	}
	tok, err := tokenizer.LoadFile(filepath.Join(tokDir, "tokenizer.json"))
	if err != nil {
		return err
	}
	o.Tokenizer, o.BOS, o.EOS, o.Out = tok, tok.BOS, tok.EOS, os.Stdout
	fmt.Print(o.Prompt)
	_, err = trained.Generate(o)
	fmt.Println()
	return err
}
