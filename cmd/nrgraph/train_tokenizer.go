package main

import (
	"fmt"
	"os"
	"time"

	"github.com/nrgraph/nrgraph/data"
)

func init() {
	register(subcommand{name: "train-tokenizer", summary: "train a byte-level BPE tokenizer and save a Hugging Face tokenizer.json", run: runTrainTokenizer})
}

func runTrainTokenizer(args []string) error {
	fs := newFlagSet("train-tokenizer", "--vocab N --out tokenizer.json FILES...")
	vocab := fs.Int("vocab", 8192, "vocabulary size (specials, 256 bytes, then merges)")
	specials := fs.StringSlice("special", []string{"<s>", "</s>", "<pad>"}, "special tokens, given the first ids (BOS, EOS, PAD)")
	field := fs.String("field", "text", "JSONL field holding the text")
	out := fs.String("out", "tokenizer.json", "where to write tokenizer.json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("give text (.txt) or JSONL (.jsonl) files")
	}
	start := time.Now()
	tok, err := data.TrainTokenizer(fs.Args(), *field, *vocab, *specials)
	if err != nil {
		return err
	}
	if err := tok.Save(*out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "trained a %d-token byte-level BPE in %s -> %s\n", tok.VocabSize(), time.Since(start).Round(time.Millisecond), *out)
	return nil
}
