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
	out, err := createTokenizeOutputs(o)
	if err != nil {
		return st, err
	}
	docs, readErr := encodeInOrder(ctx, files, o)
	lastReport := time.Now()
	var writeErr error
	for d := range docs {
		<-d.done
		if writeErr == nil {
			writeErr = out.write(d, o.Split, &st)
		}
		if o.Progress != nil && time.Since(lastReport) > 2*time.Second {
			lastReport = time.Now()
			mb := float64(st.Bytes) / 1e6
			fmt.Fprintf(o.Progress, "tokenized %d documents, %d tokens, %.1f MB (%.2f MB/s)\n",
				st.Documents+st.ValDocuments, st.Tokens+st.ValTokens, mb, mb/time.Since(start).Seconds())
		}
	}
	for _, err := range []error{readErr(), writeErr} {
		if err != nil {
			out.abort()
			return st, err
		}
	}
	if st.Documents == 0 {
		out.abort()
		return st, fmt.Errorf("no documents with text in %v (%d empty ones skipped); check --field", o.Inputs, st.EmptyDocuments)
	}
	if err := out.close(files); err != nil {
		return st, err
	}
	st.Seconds = time.Since(start).Seconds()
	return st, nil
}

// tokenizeOutputs are the shards Tokenize writes and the directories it
// created for them: a failed run removes both, leaving nothing behind.
type tokenizeOutputs struct {
	train, val *ShardWriter // val is nil without a split
	newDirs    []string
}

func createTokenizeOutputs(o TokenizeOptions) (*tokenizeOutputs, error) {
	out := &tokenizeOutputs{newDirs: missingDirs(filepath.Dir(o.Out))}
	var err error
	if out.train, err = CreateShard(o.Out, o.TokenizerHash, o.VocabSize); err != nil {
		out.abort()
		return nil, err
	}
	if o.Split > 0 {
		if out.val, err = CreateShard(o.Out+".val", o.TokenizerHash, o.VocabSize); err != nil {
			out.abort()
			return nil, err
		}
	}
	return out, nil
}

// write adds one encoded document to the training or the held-out shard
// (by a hash of its text) and counts it.
func (out *tokenizeOutputs) write(d *encodedDoc, split float64, st *TokenizeStats) error {
	if strings.TrimSpace(d.text) == "" {
		// Nothing to learn from; with BOS/EOS it would still add tokens.
		st.EmptyDocuments++
		return nil
	}
	w := out.train
	if out.val != nil && heldOut(d.text, split) {
		w = out.val
		st.ValDocuments++
		st.ValTokens += int64(len(d.ids))
	} else {
		st.Documents++
		st.Tokens += int64(len(d.ids))
	}
	st.Bytes += int64(len(d.text))
	return w.AddDocument(d.ids, len(d.text))
}

func (out *tokenizeOutputs) abort() {
	for _, w := range []*ShardWriter{out.train, out.val} {
		if w != nil {
			w.Abort()
		}
	}
	for _, d := range out.newDirs {
		os.Remove(d) // only if still empty
	}
}

func (out *tokenizeOutputs) close(sources []string) error {
	for _, w := range []*ShardWriter{out.train, out.val} {
		if w == nil {
			continue
		}
		w.SetSources(sources)
		if err := w.Close(); err != nil {
			return err
		}
	}
	return nil
}

// encodedDoc is one document and its token ids (BOS/EOS added); done
// closes when a worker has encoded it.
type encodedDoc struct {
	text string
	ids  []int
	done chan struct{}
}

// encodeInOrder reads the documents of files and encodes them on
// o.Workers goroutines; the channel yields them in input order, each
// encoded once its done closes. The returned function reports the reading
// error once the channel is drained.
func encodeInOrder(ctx context.Context, files []string, o TokenizeOptions) (<-chan *encodedDoc, func() error) {
	jobs := make(chan *encodedDoc, 4*o.Workers)
	ordered := make(chan *encodedDoc, 4*o.Workers)
	var wg sync.WaitGroup
	for w := 0; w < o.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range jobs {
				ids := o.Tokenizer.Encode(d.text, false)
				if o.BOS >= 0 {
					ids = append([]int{o.BOS}, ids...)
				}
				if o.EOS >= 0 {
					ids = append(ids, o.EOS)
				}
				d.ids = ids
				close(d.done)
			}
		}()
	}
	readErr := make(chan error, 1)
	go func() {
		defer close(ordered)
		defer close(jobs)
		readErr <- ForEachDocument(files, o.Field, func(text string) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			d := &encodedDoc{text: text, done: make(chan struct{})}
			jobs <- d
			ordered <- d
			return nil
		})
	}()
	return ordered, func() error {
		wg.Wait()
		return <-readErr
	}
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

// TextFiles lists the files Tokenize reads from inputs, in its order:
// each file named, and the .txt/.jsonl files under each directory, sorted.
// Callers that fingerprint a corpus (repro's shard cache) hash exactly these.
func TextFiles(inputs []string) ([]string, error) { return expandTextInputs(inputs) }

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
