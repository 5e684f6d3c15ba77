package data

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/tokenizer"
)

// TrainTokenizer trains a byte-level BPE on text (.txt) and JSONL (.jsonl,
// the given field) files.
func TrainTokenizer(paths []string, field string, vocab int, specials []string) (*tokenizer.Tokenizer, error) {
	files, cleanup, err := plainTextFiles(paths, field)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	return tokenizer.Train(files, vocab, specials)
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
		err = ForEachDocument([]string{p}, field, func(text string) error {
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

// ExtendTokenizer learns o.NewTokens new tokens on the new-language text
// (.txt, or .jsonl's field) on top of the tokenizer.json of modelDir
// (tokenizer.Extend), with ids from the model's vocab_size on. o.Protect
// may also name .jsonl files.
func ExtendTokenizer(modelDir string, paths []string, field string, o tokenizer.ExtendOptions) (*tokenizer.Tokenizer, error) {
	cfg, err := models.LoadConfig(modelDir)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.Load(filepath.Join(modelDir, "tokenizer.json"))
	if err != nil {
		return nil, err
	}
	files, cleanup, err := plainTextFiles(paths, field)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	protect, cleanupProtect, err := plainTextFiles(o.Protect, field)
	if err != nil {
		return nil, err
	}
	defer cleanupProtect()
	o.Protect, o.FirstID = protect, cfg.Vocab
	return tokenizer.Extend(tok, files, o)
}
