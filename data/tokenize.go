package data

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nrgraph/nrgraph/models/tokenizer"
)

// TokenizeOptions configure Tokenize.
type TokenizeOptions struct {
	// Inputs: .txt files (one document per file), .jsonl files (one
	// document per line, field Field) or directories of those.
	Inputs []string
	Field  string // JSONL field holding the text (default "text")
	// Out is the shard stem: Out.bin/.json, and Out.val.bin/.json with Split.
	Out           string
	Tokenizer     tokenizer.Encoder
	TokenizerHash string
	VocabSize     int
	// BOS/EOS ids added around each document when >= 0.
	BOS, EOS int
	// Split is the fraction of documents held out for validation, chosen
	// by a hash of the document (deterministic, independent of order).
	Split    float64
	Workers  int
	Progress io.Writer
}

// TokenizeStats reports what Tokenize wrote.
type TokenizeStats struct {
	Documents, ValDocuments int64
	EmptyDocuments          int64 // skipped: no text but whitespace
	Tokens, ValTokens       int64
	Bytes                   int64
	Seconds                 float64
}

// Tokenize streams documents through the tokenizer into token shards.
// Documents are encoded in parallel but written in input order, so the
// output is identical for any worker count.
func Tokenize(ctx context.Context, o TokenizeOptions) (TokenizeStats, error) {
	var st TokenizeStats
	start := time.Now()
	if o.Field == "" {
		o.Field = "text"
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	files, err := expandTextInputs(o.Inputs)
	if err != nil {
		return st, err
	}
	// Directories CreateShard makes are removed again on failure: a failed
	// run leaves nothing behind.
	newDirs := missingDirs(filepath.Dir(o.Out))
	removeNewDirs := func() {
		for _, d := range newDirs {
			os.Remove(d) // only if still empty
		}
	}
	train, err := CreateShard(o.Out, o.TokenizerHash, o.VocabSize)
	if err != nil {
		removeNewDirs()
		return st, err
	}
	var val *ShardWriter
	if o.Split > 0 {
		if val, err = CreateShard(o.Out+".val", o.TokenizerHash, o.VocabSize); err != nil {
			train.Abort()
			removeNewDirs()
			return st, err
		}
	}
	abort := func(err error) (TokenizeStats, error) {
		train.Abort()
		if val != nil {
			val.Abort()
		}
		removeNewDirs()
		return st, err
	}
	type job struct {
		seq  int
		text string
		ids  []int
		done chan struct{}
	}
	jobs := make(chan *job, 4*o.Workers)
	ordered := make(chan *job, 4*o.Workers)
	var wg sync.WaitGroup
	for w := 0; w < o.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				ids := o.Tokenizer.Encode(j.text, false)
				if o.BOS >= 0 {
					ids = append([]int{o.BOS}, ids...)
				}
				if o.EOS >= 0 {
					ids = append(ids, o.EOS)
				}
				j.ids = ids
				close(j.done)
			}
		}()
	}
	readErr := make(chan error, 1)
	go func() {
		defer close(ordered)
		defer close(jobs)
		seq := 0
		err := ForEachDocument(files, o.Field, func(text string) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			j := &job{seq: seq, text: text, done: make(chan struct{})}
			seq++
			jobs <- j
			ordered <- j
			return nil
		})
		readErr <- err
	}()
	lastReport := time.Now()
	var writeErr error
	for j := range ordered {
		<-j.done
		if writeErr != nil {
			continue
		}
		if strings.TrimSpace(j.text) == "" {
			// Nothing to learn from; with BOS/EOS it would still add tokens.
			st.EmptyDocuments++
			continue
		}
		w := train
		if val != nil && heldOut(j.text, o.Split) {
			w = val
			st.ValDocuments++
			st.ValTokens += int64(len(j.ids))
		} else {
			st.Documents++
			st.Tokens += int64(len(j.ids))
		}
		st.Bytes += int64(len(j.text))
		writeErr = w.AddDocument(j.ids, len(j.text))
		if o.Progress != nil && time.Since(lastReport) > 2*time.Second {
			lastReport = time.Now()
			el := time.Since(start).Seconds()
			fmt.Fprintf(o.Progress, "tokenized %d documents, %d tokens, %.1f MB (%.2f MB/s)\n", st.Documents+st.ValDocuments, st.Tokens+st.ValTokens, float64(st.Bytes)/1e6, float64(st.Bytes)/1e6/el)
		}
	}
	wg.Wait()
	if err := <-readErr; err != nil {
		return abort(err)
	}
	if writeErr != nil {
		return abort(writeErr)
	}
	if st.Documents == 0 {
		return abort(fmt.Errorf("no documents with text in %v (%d empty ones skipped); check --field", o.Inputs, st.EmptyDocuments))
	}
	train.SetSources(files)
	if err := train.Close(); err != nil {
		return st, err
	}
	if val != nil {
		val.SetSources(files)
		if err := val.Close(); err != nil {
			return st, err
		}
	}
	st.Seconds = time.Since(start).Seconds()
	return st, nil
}

// missingDirs lists dir and its ancestors that do not exist yet, deepest
// first.
func missingDirs(dir string) []string {
	var out []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || filepath.Dir(d) == d {
			return out
		}
		out = append(out, d)
	}
}

// heldOut picks validation documents by a hash of their text.
func heldOut(text string, fraction float64) bool {
	h := fnv.New64a()
	h.Write([]byte(text))
	return float64(h.Sum64()%1_000_000)/1e6 < fraction
}

func expandTextInputs(inputs []string) ([]string, error) {
	var files []string
	for _, in := range inputs {
		st, err := os.Stat(in)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, in)
			continue
		}
		var found []string
		err = filepath.WalkDir(in, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(p, ".txt") || strings.HasSuffix(p, ".jsonl")) {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no .txt or .jsonl files in %v", inputs)
	}
	return files, nil
}

// ForEachDocument streams documents: each line of a .jsonl file (its string
// field), or each other file whole. Invalid UTF-8 becomes U+FFFD (one per
// maximal ill-formed sequence, as Python's errors="replace"): HF's
// tokenizers only ever see valid text. An fn error stops the walk and is
// returned.
func ForEachDocument(files []string, field string, fn func(text string) error) error {
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, ".jsonl") {
			r := bufio.NewReaderSize(f, 1<<20)
			line := 0
			for {
				raw, err := r.ReadBytes('\n')
				if len(strings.TrimSpace(string(raw))) > 0 {
					line++
					var rec map[string]json.RawMessage
					var text string
					if !utf8.Valid(raw) {
						raw = []byte(tokenizer.LossyUTF8(raw))
					}
					if jerr := json.Unmarshal(raw, &rec); jerr != nil {
						f.Close()
						return fmt.Errorf("%s:%d: %v", p, line, jerr)
					}
					if jerr := json.Unmarshal(rec[field], &text); jerr != nil {
						f.Close()
						return fmt.Errorf("%s:%d: field %q is missing or not a string", p, line, field)
					}
					if ferr := fn(text); ferr != nil {
						f.Close()
						return ferr
					}
				} else if len(raw) > 0 {
					line++
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					f.Close()
					return fmt.Errorf("%s: %w", p, err)
				}
			}
		} else {
			raw, err := io.ReadAll(f)
			if err != nil {
				f.Close()
				return fmt.Errorf("%s: %w", p, err)
			}
			if err := fn(tokenizer.LossyUTF8(raw)); err != nil {
				f.Close()
				return err
			}
		}
		f.Close()
	}
	return nil
}
