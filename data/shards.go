// Package trainer runs nrgraph's training graphs over token shards: data
// mixing between the new and original domains, the learning-rate schedule,
// checkpoints that survive crashes, exact resume, metrics and evaluation.
package data

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/nrgraph/nrgraph/export"
)

// ShardIndex is the small JSON file beside a token shard (NAME.bin +
// NAME.json). Documents are contiguous runs of tokens; DocStarts[i] is the
// first token of document i.
type ShardIndex struct {
	Format        string   `json:"format"` // "nrgraph-tokens-v1"
	TokenizerHash string   `json:"tokenizer_hash"`
	VocabSize     int      `json:"vocab_size"`
	DType         string   `json:"dtype"` // "uint16" or "uint32"
	Tokens        int64    `json:"tokens"`
	Bytes         int64    `json:"bytes"` // UTF-8 bytes of the source text (for bits per byte)
	DocStarts     []int64  `json:"doc_starts"`
	Sources       []string `json:"sources,omitempty"`
}

const shardFormat = "nrgraph-tokens-v1"

// Shard is a memory-mapped token file.
type Shard struct {
	Path  string
	Index ShardIndex
	data  []byte
	width int
}

// OpenShard maps NAME.bin and reads NAME.json (path may name either, or
// the stem).
func OpenShard(path string) (*Shard, error) {
	stem := strings.TrimSuffix(strings.TrimSuffix(path, ".bin"), ".json")
	idxPath, binPath := stem+".json", stem+".bin"
	raw, err := os.ReadFile(idxPath)
	if err != nil {
		return nil, fmt.Errorf("token shard index: %w", err)
	}
	var idx ShardIndex
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("%s: %w", idxPath, err)
	}
	if idx.Format != shardFormat {
		return nil, fmt.Errorf("%s: format %q, want %q", idxPath, idx.Format, shardFormat)
	}
	width, err := idx.check(idxPath)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(binPath)
	if err != nil {
		return nil, fmt.Errorf("token shard: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := idx.checkSize(binPath, st.Size(), width); err != nil {
		return nil, err
	}
	s := &Shard{Path: binPath, Index: idx, width: width}
	if st.Size() > 0 {
		s.data, err = syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
		if err != nil {
			return nil, fmt.Errorf("mmap %s: %w", binPath, err)
		}
	}
	return s, nil
}

// Close unmaps the shard.
func (s *Shard) Close() error {
	if s.data == nil {
		return nil
	}
	err := syscall.Munmap(s.data)
	s.data = nil
	return err
}

// Len is the number of tokens.
func (s *Shard) Len() int64 { return s.Index.Tokens }

// Token returns token i.
func (s *Shard) Token(i int64) int32 {
	if s.width == 2 {
		return int32(binary.LittleEndian.Uint16(s.data[2*i:]))
	}
	return int32(binary.LittleEndian.Uint32(s.data[4*i:]))
}

// Corpus is an ordered set of shards read as one token stream.
type Corpus struct {
	Shards []*Shard
	starts []int64 // cumulative token offsets
	total  int64
}

// OpenCorpus opens shards given as files, stems or directories (every
// *.bin inside, sorted). All must share one tokenizer.
func OpenCorpus(paths []string) (*Corpus, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err == nil && st.IsDir() {
			matches, _ := filepath.Glob(filepath.Join(p, "*.bin"))
			sort.Strings(matches)
			files = append(files, matches...)
			continue
		}
		files = append(files, p)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no token shards in %v", paths)
	}
	c := &Corpus{}
	for _, f := range files {
		s, err := OpenShard(f)
		if err != nil {
			c.Close()
			return nil, err
		}
		if len(c.Shards) > 0 && s.Index.TokenizerHash != c.Shards[0].Index.TokenizerHash {
			c.Close()
			s.Close()
			return nil, fmt.Errorf("%s was tokenized with tokenizer %s but %s with %s: mixed tokenizers",
				s.Path, ShortHash(s.Index.TokenizerHash), c.Shards[0].Path, ShortHash(c.Shards[0].Index.TokenizerHash))
		}
		if s.Len() > math.MaxInt64-c.total {
			c.Close()
			s.Close()
			return nil, fmt.Errorf("%s: the shards hold more than 2^63 tokens together", s.Path)
		}
		c.starts = append(c.starts, c.total)
		c.total += s.Len()
		c.Shards = append(c.Shards, s)
	}
	if c.total == 0 {
		c.Close()
		return nil, ErrEmptyCorpus
	}
	return c, nil
}

// ErrEmptyCorpus: the shards hold no tokens.
var ErrEmptyCorpus = errors.New("corpus has no tokens")

// ShortHash abbreviates a hash for messages.
func ShortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// Close unmaps every shard.
func (c *Corpus) Close() {
	for _, s := range c.Shards {
		s.Close()
	}
}

// Len is the total number of tokens.
func (c *Corpus) Len() int64 { return c.total }

// TokenizerHash of the corpus.
func (c *Corpus) TokenizerHash() string { return c.Shards[0].Index.TokenizerHash }

// Bytes is the total UTF-8 size of the source text.
func (c *Corpus) Bytes() int64 {
	n := int64(0)
	for _, s := range c.Shards {
		n += s.Index.Bytes
	}
	return n
}

// Read copies tokens [pos, pos+len(dst)) into dst, wrapping around the end.
// A token outside its shard's vocabulary (a damaged .bin) is an error
// naming the shard and position, before it can reach a graph's Gather.
func (c *Corpus) Read(pos int64, dst []int64) error {
	if pos < 0 {
		return fmt.Errorf("read position %d is negative", pos)
	}
	pos %= c.total
	i := sort.Search(len(c.starts), func(i int) bool { return c.starts[i] > pos }) - 1
	for k := range dst {
		for pos-c.starts[i] >= c.Shards[i].Len() {
			i++
			if i == len(c.Shards) {
				i, pos = 0, 0
			}
		}
		s := c.Shards[i]
		tok := s.Token(pos - c.starts[i])
		if int(tok) >= s.Index.VocabSize || tok < 0 {
			return fmt.Errorf("%s: token %d at position %d is outside the vocabulary of %d its index declares: the shard is damaged; re-run `nrgraph tokenize`",
				s.Path, uint32(tok), pos-c.starts[i], s.Index.VocabSize)
		}
		dst[k] = int64(tok)
		pos++
		if pos == c.total {
			pos, i = 0, 0
		}
	}
	return nil
}

// ShardWriter streams tokens into NAME.bin and writes NAME.json on Close;
// both appear atomically (temp files renamed at the end).
type ShardWriter struct {
	stem  string
	idx   ShardIndex
	f     *os.File
	buf   []byte
	width int
}

// CreateShard starts a shard at stem (NAME without extension).
func CreateShard(stem, tokenizerHash string, vocabSize int) (*ShardWriter, error) {
	dtype, width := "uint16", 2
	if vocabSize > 1<<16 {
		dtype, width = "uint32", 4
	}
	if err := os.MkdirAll(filepath.Dir(stem), 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(stem + ".bin.tmp")
	if err != nil {
		return nil, err
	}
	return &ShardWriter{stem: stem, f: f, width: width,
		idx: ShardIndex{Format: shardFormat, TokenizerHash: tokenizerHash, VocabSize: vocabSize, DType: dtype, DocStarts: []int64{}}}, nil
}

// AddDocument appends one document's tokens; textBytes is its UTF-8 size.
func (w *ShardWriter) AddDocument(tokens []int, textBytes int) error {
	w.idx.DocStarts = append(w.idx.DocStarts, w.idx.Tokens)
	w.buf = w.buf[:0]
	for _, t := range tokens {
		if t < 0 || t >= w.idx.VocabSize {
			return fmt.Errorf("token %d outside vocabulary of %d", t, w.idx.VocabSize)
		}
		if w.width == 2 {
			w.buf = binary.LittleEndian.AppendUint16(w.buf, uint16(t))
		} else {
			w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(t))
		}
	}
	if _, err := w.f.Write(w.buf); err != nil {
		return err
	}
	w.idx.Tokens += int64(len(tokens))
	w.idx.Bytes += int64(textBytes)
	return nil
}

// Tokens written so far.
func (w *ShardWriter) Tokens() int64 { return w.idx.Tokens }

// SetSources records where the text came from.
func (w *ShardWriter) SetSources(s []string) { w.idx.Sources = s }

// Close finishes the shard.
func (w *ShardWriter) Close() error {
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(w.idx, "", " ")
	if err != nil {
		return err
	}
	// The index goes last: its presence means the shard is complete.
	if err := os.Rename(w.stem+".bin.tmp", w.stem+".bin"); err != nil {
		return err
	}
	return export.WriteFileAtomic(w.stem+".json", raw)
}

// Abort discards a partly written shard.
func (w *ShardWriter) Abort() {
	w.f.Close()
	os.Remove(w.stem + ".bin.tmp")
}
