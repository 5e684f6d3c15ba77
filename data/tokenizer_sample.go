package data

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/nrgraph/nrgraph/models/tokenizer"
)

// TrainTokenizerBalanced trains a byte-level BPE like TrainTokenizer, but on
// about bytesPerFile bytes of text from each input: a multilingual
// vocabulary (as Gemma's) needs the small languages to weigh as much as the
// large one, or their words stay bytes. Each file's units (a .jsonl
// document, a line of any other file) are taken evenly spaced over the whole
// file, so a corpus that begins with one source (fr_train's man pages) gives
// all of its sources; a file with less text than the budget is taken whole.
func TrainTokenizerBalanced(paths []string, field string, vocab int, specials []string, bytesPerFile int64) (*tokenizer.Tokenizer, error) {
	if bytesPerFile <= 0 {
		return nil, fmt.Errorf("train tokenizer: bytes per file must be positive, got %d", bytesPerFile)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("train tokenizer: no input files")
	}
	dir, err := os.MkdirTemp("", "nrgraph-tok-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	files := make([]string, len(paths))
	for i, p := range paths {
		files[i] = filepath.Join(dir, fmt.Sprintf("%d.txt", i))
		if err := writeEvenSample(p, field, bytesPerFile, files[i]); err != nil {
			return nil, fmt.Errorf("train tokenizer: %w", err)
		}
	}
	return tokenizer.Train(files, vocab, specials)
}

// writeEvenSample writes about budget bytes of path's units to dst
// (documents separated by blank lines, lines as they were): unit i is kept
// when floor(i*r) > floor((i-1)*r) for r = budget / total bytes, i.e. every
// 1/r-th unit from the first (so a file of one unit is taken whole).
func writeEvenSample(path, field string, budget int64, dst string) error {
	var units, total int64
	if err := forEachUnit(path, field, func(text string) error {
		units++
		total += int64(len(text))
		return nil
	}); err != nil {
		return err
	}
	if units == 0 || total == 0 {
		return fmt.Errorf("%s: no text to sample", path)
	}
	ratio := min(1, float64(budget)/float64(total))
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	var i int64
	err = forEachUnit(path, field, func(text string) error {
		keep := math.Floor(float64(i)*ratio) > math.Floor(float64(i-1)*ratio)
		i++
		if !keep {
			return nil
		}
		_, err := w.WriteString(text)
		if strings.HasSuffix(path, ".jsonl") {
			_, err = w.WriteString("\n\n")
		}
		return err
	})
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// forEachUnit walks a .jsonl file's documents or another file's lines
// (each with its line end).
func forEachUnit(path, field string, fn func(text string) error) error {
	if strings.HasSuffix(path, ".jsonl") {
		return ForEachDocument([]string{path}, field, fn)
	}
	return ForEachDocument([]string{path}, field, func(text string) error {
		for line := range strings.Lines(text) {
			if err := fn(line); err != nil {
				return err
			}
		}
		return nil
	})
}
