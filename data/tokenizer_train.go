package data

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
