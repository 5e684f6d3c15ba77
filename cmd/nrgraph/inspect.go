package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/nrgraph/nrgraph/models"
)

func init() {
	register(subcommand{name: "inspect", summary: "describe a Hugging Face model directory (architecture, sizes, dtypes, tokenizer)", run: runInspect})
}

func runInspect(args []string) error {
	fs := newFlagSet("inspect", "MODEL_DIR [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("give one model directory")
	}
	info, err := models.Inspect(fs.Arg(0))
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	fmt.Print(info)
	return nil
}
