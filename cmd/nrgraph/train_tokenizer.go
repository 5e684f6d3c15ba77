package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

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
		in, err := os.Open(p)
		if err != nil {
			cleanup()
			return nil, func() {}, err
		}
		dst := filepath.Join(dir, fmt.Sprintf("%d.txt", i))
		f, err := os.Create(dst)
		if err != nil {
			in.Close()
			cleanup()
			return nil, func() {}, err
		}
		w := bufio.NewWriter(f)
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 1<<20), 1<<28)
		line := 0
		for sc.Scan() {
			line++
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			var rec map[string]json.RawMessage
			var text string
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || json.Unmarshal(rec[field], &text) != nil {
				in.Close()
				f.Close()
				cleanup()
				return nil, func() {}, fmt.Errorf("%s:%d: want a JSON object with a string field %q", p, line, field)
			}
			w.WriteString(text)
			w.WriteString("\n\n")
		}
		in.Close()
		if err := w.Flush(); err != nil {
			f.Close()
			cleanup()
			return nil, func() {}, err
		}
		f.Close()
		if err := sc.Err(); err != nil {
			cleanup()
			return nil, func() {}, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, dst)
	}
	return out, cleanup, nil
}
