package main

import (
	"fmt"
	"os"
	"time"

	"github.com/nrgraph/nrgraph/data"
	"github.com/nrgraph/nrgraph/models/tokenizer"
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
	bytesPerFile := fs.Int64("bytes-per-file", 0, "balance the inputs: train on about this many bytes of text from each file, its documents (lines of .txt) evenly spaced (0: all of every file)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("give text (.txt) or JSONL (.jsonl) files")
	}
	if *bytesPerFile < 0 {
		return fmt.Errorf("--bytes-per-file %d: give a positive number of bytes, or 0 to train on all of every file", *bytesPerFile)
	}
	start := time.Now()
	var tok *tokenizer.Tokenizer
	var err error
	if *bytesPerFile > 0 {
		tok, err = data.TrainTokenizerBalanced(fs.Args(), *field, *vocab, *specials, *bytesPerFile)
	} else {
		tok, err = data.TrainTokenizer(fs.Args(), *field, *vocab, *specials)
	}
	if err != nil {
		return err
	}
	if err := tok.Save(*out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "trained a %d-token byte-level BPE in %s -> %s\n", tok.VocabSize(), time.Since(start).Round(time.Millisecond), *out)
	return nil
}
