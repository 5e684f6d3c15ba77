package main

import (
	"fmt"
	"os"
	"time"

	"github.com/nrgraph/nrgraph/export"
	"github.com/nrgraph/nrgraph/models/bpe"
)

func init() {
	register(subcommand{name: "train-tokenizer", summary: "train a byte-level BPE tokenizer and save a Hugging Face tokenizer.json", run: runTrainTokenizer})
}

func runTrainTokenizer(args []string) error {
	fs := newFlagSet("train-tokenizer", "--vocab N --out tokenizer.json FILES...")
	vocab := fs.Int("vocab", 8192, "vocabulary size (3 specials <s> </s> <pad>, 256 bytes, then merges)")
	minFreq := fs.Int("min-frequency", 2, "stop merging when the best pair is rarer than this")
	out := fs.String("out", "tokenizer.json", "where to write tokenizer.json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("give text (.txt) or JSONL (.jsonl, field \"text\") files")
	}
	start := time.Now()
	tok, err := bpe.Train(fs.Args(), *vocab, *minFreq)
	if err != nil {
		return err
	}
	raw, err := tok.JSON()
	if err != nil {
		return err
	}
	if err := export.WriteFileAtomic(*out, raw); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "trained a %d-token byte-level BPE in %s -> %s\n", tok.VocabSize(), time.Since(start).Round(time.Millisecond), *out)
	return nil
}
