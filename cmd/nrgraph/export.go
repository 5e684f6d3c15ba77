package main

import (
	"fmt"
	"os"

	"github.com/nrgraph/nrgraph/export/trained"
)

func init() {
	register(subcommand{name: "export", summary: "write PEFT-style adapter files and a self-contained inference ONNX", run: runExport})
}

func runExport(args []string) error {
	fs := newFlagSet("export", "--build BUILD_DIR [--checkpoint RUN_DIR] --out DIR [--gates on|off] [--no-adapters]")
	var o trained.ExportOptions
	fs.StringVar(&o.Build, "build", "", "build directory")
	fs.StringVar(&o.Checkpoint, "checkpoint", "", "run directory (latest checkpoint), checkpoint directory or state file; default: the build's initial weights")
	fs.StringVar(&o.Out, "out", "", "output directory")
	gates := fs.String("gates", "on", "on: the extended model; off: every adapter switched off (exactly the backbone)")
	fs.BoolVar(&o.NoAdapters, "no-adapters", false, "export the plain backbone ONNX only")
	fs.StringVar(&o.HF, "hf", "", "also write a Hugging Face model directory of the trained model (finetune/from-scratch, or LoRA merged)")
	fs.StringVar(&o.HFDType, "hf-dtype", "bfloat16", "weight dtype of --hf: bfloat16 or float32")
	ortLib := fs.String("ort-lib", "", "path to libonnxruntime.so (LoRA merging runs in ONNX Runtime)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.Build == "" || o.Out == "" {
		fs.Usage()
		return fmt.Errorf("--build and --out are required")
	}
	switch *gates {
	case "on":
	case "off":
		o.GatesOff = true
	default:
		return fmt.Errorf("--gates %q: want on or off", *gates)
	}
	if err := initRuntime(*ortLib); err != nil {
		return err
	}
	o.Log = os.Stderr
	return trained.Export(o)
}
