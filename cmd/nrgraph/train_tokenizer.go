package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nrgraph/nrgraph/models/tokenizer"
	"github.com/nrgraph/nrgraph/trainer"
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
	files, cleanup, err := plainTextFiles(fs.Args(), *field)
	if err != nil {
		return err
	}
	defer cleanup()
	start := time.Now()
	tok, err := tokenizer.Train(files, *vocab, *specials)
	if err != nil {
		return err
	}
	if err := tok.Save(*out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "trained a %d-token byte-level BPE in %s -> %s\n", tok.VocabSize(), time.Since(start).Round(time.Millisecond), *out)
	return nil
}

// plainTextFiles passes .txt files through and extracts the text field of
// .jsonl files into temporary text files (documents separated by blank
// lines), since the trainer reads plain text.
func plainTextFiles(paths []string, field string) ([]string, func(), error) {
	dir, err := os.MkdirTemp("", "nrgraph-tok-")
	if err != nil {
		return nil, func() {}, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	var out []string
	for i, p := range paths {
		if !strings.HasSuffix(p, ".jsonl") {
			out = append(out, p)
			continue
		}
		dst := filepath.Join(dir, fmt.Sprintf("%d.txt", i))
		f, err := os.Create(dst)
		if err != nil {
			cleanup()
			return nil, func() {}, err
		}
		w := bufio.NewWriter(f)
		err = trainer.ForEachDocument([]string{p}, field, func(text string) error {
			w.WriteString(text)
			_, err := w.WriteString("\n\n")
			return err
		})
		if err == nil {
			err = w.Flush()
		}
		f.Close()
		if err != nil {
			cleanup()
			return nil, func() {}, err
		}
		out = append(out, dst)
	}
	return out, cleanup, nil
}
