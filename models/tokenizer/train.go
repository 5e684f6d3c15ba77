package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/sugarme/tokenizer/pretokenizer"
)

// trainMinPairCount stops training at pairs seen fewer times: merging
// hapaxes only memorises the corpus.
const trainMinPairCount = 2

// trainChunkBytes is how much text is pre-tokenized at a time; chunks end at
// line ends, so memory is bounded by the distinct words, not the corpus.
const trainChunkBytes = 1 << 20

// Train learns a byte-level BPE tokenizer (GPT-2 pipeline) from text files,
// streaming them. Ids are: specialTokens (in order), the 256 byte symbols,
// then one token per merge until vocabSize is reached or no pair occurs
// twice. The result saves (Save) as a tokenizer.json that HF loads and
// encodes identically.
//
// sugarme's BpeTrainer is not used: it panics on bytes absent from its
// alphabet, breaks ties by wall-clock time, drops special tokens and loses
// pair positions when re-queueing, so its output is neither deterministic
// nor a correct BPE.
func Train(files []string, vocabSize int, specialTokens []string) (*Tokenizer, error) {
	if len(files) == 0 {
		return nil, errors.New("train tokenizer: no input files")
	}
	if minSize := len(specialTokens) + 256; vocabSize < minSize {
		return nil, fmt.Errorf("train tokenizer: vocab size %d below specials + 256 bytes = %d", vocabSize, minSize)
	}
	counts := map[string]int64{}
	for _, f := range files {
		if err := countWords(f, counts); err != nil {
			return nil, fmt.Errorf("train tokenizer: %w", err)
		}
	}
	vocab, merges, err := learnMerges(counts, vocabSize, specialTokens)
	if err != nil {
		return nil, fmt.Errorf("train tokenizer: %w", err)
	}
	t, err := LoadBytes(byteLevelJSON(vocab, merges, len(specialTokens)))
	if err != nil {
		return nil, fmt.Errorf("train tokenizer: reload: %w", err)
	}
	return t, nil
}

// countWords adds the GPT-2 pre-tokenized words of a file to counts.
func countWords(path string, counts map[string]int64) error {
	return forEachChunk(path, func(text string) {
		for _, m := range (gpt2Matcher{}).findAll(text) {
			addWord(counts, text[m[0]:m[1]])
		}
	})
}

// addWord counts one occurrence of word, cloning it when new so that the
// map does not pin the chunk it was cut from.
func addWord(counts map[string]int64, word string) {
	if _, ok := counts[word]; !ok {
		word = strings.Clone(word)
	}
	counts[word]++
}

// forEachChunk streams a text file to fn in chunks of about
// trainChunkBytes that end at line ends.
func forEachChunk(path string, fn func(text string)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	var chunk []byte
	for {
		line, err := r.ReadSlice('\n')
		chunk = append(chunk, line...)
		if len(chunk) >= trainChunkBytes || err != nil && len(chunk) > 0 {
			fn(string(chunk))
			chunk = chunk[:0]
		}
		switch {
		case err == io.EOF:
			return nil
		case err == bufio.ErrBufferFull:
			continue // a long line: keep appending
		case err != nil:
			return fmt.Errorf("read %s: %w", path, err)
		}
	}
}

// pairCount is a heap entry of the trainer: most frequent pair first, ties
// to the lower (left, right) ids, as in HF's BpeTrainer.
type pairCount struct {
	count int64
	pair  uint64
}

func (a pairCount) less(b pairCount) bool {
	return a.count > b.count || a.count == b.count && a.pair < b.pair
}

type pairHeap = minHeap[pairCount]

// learnMerges runs BPE training on word counts. It returns the vocabulary in
// id order and the merges in rank order.
func learnMerges(counts map[string]int64, vocabSize int, specialTokens []string) ([]string, [][2]string, error) {
	vocab, byteID, err := newBPEVocab(specialTokens)
	if err != nil {
		return nil, nil, err
	}
	pairs := countWordPairs(counts, &byteID)
	merges := runMerges(vocab, pairs, vocabSize, nil)
	return vocab.tokens, merges, nil
}

// runMerges merges the most frequent pair of pairs until vocab holds
// vocabSize tokens or no pair occurs trainMinPairCount times, skipping
// pairs accept (when set) refuses, and returns the merges in rank order.
func runMerges(vocab *bpeVocab, pairs *wordPairs, vocabSize int, accept func(left, right int32) bool) [][2]string {
	heap := make(pairHeap, 0, len(pairs.counts))
	for p, c := range pairs.counts {
		heap.push(pairCount{c, p})
	}
	var merges [][2]string
	for len(vocab.tokens) < vocabSize && len(heap) > 0 {
		top := heap.pop()
		if cur := pairs.counts[top.pair]; cur != top.count {
			// A stale entry: merges changed the count since it was pushed.
			if cur > 0 {
				heap.push(pairCount{cur, top.pair})
			}
			continue
		}
		if top.count < trainMinPairCount {
			break
		}
		left, right := int32(top.pair>>32), int32(uint32(top.pair))
		if accept != nil && !accept(left, right) {
			continue // dropped; pushed again only if a merge raises its count
		}
		newID := vocab.add(vocab.tokens[left] + vocab.tokens[right])
		merges = append(merges, [2]string{vocab.tokens[left], vocab.tokens[right]})
		pairs.merge(top.pair, left, right, newID, &heap)
	}
	return merges
}

// bpeVocab is the trainer's growing vocabulary: tokens in id order and the
// id of each token.
type bpeVocab struct {
	tokens []string
	index  map[string]int32
}

// add returns tok's id, giving it the next one if it is new.
func (v *bpeVocab) add(tok string) int32 {
	if id, ok := v.index[tok]; ok {
		return id
	}
	v.index[tok] = int32(len(v.tokens))
	v.tokens = append(v.tokens, tok)
	return v.index[tok]
}

// newBPEVocab starts the vocabulary with the special tokens, then the 256
// byte symbols; byteID maps a raw byte to its symbol's id.
func newBPEVocab(specialTokens []string) (vocab *bpeVocab, byteID [256]int32, err error) {
	vocab = &bpeVocab{index: map[string]int32{}}
	for _, s := range specialTokens {
		if s == "" {
			return nil, byteID, errors.New("empty special token")
		}
		if _, dup := vocab.index[s]; dup {
			return nil, byteID, fmt.Errorf("special token %q given twice", s)
		}
		vocab.add(s)
	}
	// All 256 byte symbols, so that any input encodes without <unk>; in
	// code-point order like HF's trainer.
	alphabet := make([]string, 0, 256)
	for b := range 256 {
		alphabet = append(alphabet, pretokenizer.BytesChar[uint8(b)])
	}
	slices.SortFunc(alphabet, func(a, b string) int { return int([]rune(a)[0] - []rune(b)[0]) })
	for _, ch := range alphabet {
		id := vocab.add(ch)
		byteID[pretokenizer.CharBytes[ch]] = id
	}
	return vocab, byteID, nil
}

// wordPairs is the training corpus as symbol ids: every distinct word with
// its count, and for every adjacent pair its total count and the words it
// occurs in.
type wordPairs struct {
	words  [][]int32
	freq   []int64
	counts map[uint64]int64
	where  map[uint64][]int32
	// Scratch of one merge, cleared and reused so merges do not allocate:
	// the pairs whose counts grew, and the last word added to where[pair].
	touched  map[uint64]bool
	lastWord map[uint64]int32
}

// countWordPairs spells each word of counts in byte symbols and counts its
// adjacent pairs.
func countWordPairs(counts map[string]int64, byteID *[256]int32) *wordPairs {
	// Words in sorted order so that training is deterministic.
	keys := slices.Sorted(maps.Keys(counts))
	words, freq := make([][]int32, len(keys)), make([]int64, len(keys))
	for i, w := range keys {
		syms := make([]int32, len(w))
		for j := 0; j < len(w); j++ {
			syms[j] = byteID[w[j]]
		}
		words[i], freq[i] = syms, counts[w]
	}
	return newWordPairs(words, freq)
}

// newWordPairs counts the adjacent pairs of words (symbol ids, each seen
// freq[i] times).
func newWordPairs(words [][]int32, freq []int64) *wordPairs {
	s := &wordPairs{
		words:    words,
		freq:     freq,
		counts:   map[uint64]int64{},
		where:    map[uint64][]int32{},
		touched:  map[uint64]bool{},
		lastWord: map[uint64]int32{},
	}
	for i, syms := range words {
		for j := 0; j+1 < len(syms); j++ {
			p := pairKey(int(syms[j]), int(syms[j+1]))
			s.counts[p] += s.freq[i]
			if l := s.where[p]; len(l) == 0 || l[len(l)-1] != int32(i) {
				s.where[p] = append(l, int32(i))
			}
		}
	}
	return s
}

// merge replaces (left, right) = pair by newID in every word holding it,
// updates the pair counts and word lists, and pushes each pair whose count
// grew onto heap (stale entries of shrunk pairs are skipped when popped).
func (s *wordPairs) merge(pair uint64, left, right, newID int32, heap *pairHeap) {
	// Locals, not s's fields, in the closure below: it runs for every pair
	// touched, and reading through s was measurably slower.
	counts, freq, where, touched, lastWord := s.counts, s.freq, s.where, s.touched, s.lastWord
	clear(touched)
	clear(lastWord)
	for _, wi := range where[pair] {
		change := func(p uint64, delta int64) {
			counts[p] += delta * freq[wi]
			if delta > 0 {
				touched[p] = true
				if last, ok := lastWord[p]; !ok || last != wi {
					where[p] = append(where[p], wi)
					lastWord[p] = wi
				}
			}
		}
		s.words[wi] = mergeWordPair(s.words[wi], left, right, newID, change)
	}
	delete(where, pair)
	for p := range touched {
		if c := counts[p]; c > 0 {
			heap.push(pairCount{c, p})
		}
	}
}

// mergeWordPair replaces each left-to-right occurrence of (left, right) in w
// by newID, reporting every adjacent pair it destroys (-1) or creates (+1).
func mergeWordPair(w []int32, left, right, newID int32, change func(pair uint64, delta int64)) []int32 {
	pk := func(a, b int32) uint64 { return pairKey(int(a), int(b)) }
	out := 0
	for i := 0; i < len(w); {
		if i+1 < len(w) && w[i] == left && w[i+1] == right {
			if out > 0 {
				change(pk(w[out-1], left), -1)
				change(pk(w[out-1], newID), +1)
			}
			change(pk(left, right), -1)
			if i+2 < len(w) {
				change(pk(right, w[i+2]), -1)
				change(pk(newID, w[i+2]), +1)
			}
			w[out] = newID
			out++
			i += 2
			continue
		}
		w[out] = w[i]
		out++
		i++
	}
	return w[:out]
}

// byteLevelJSON writes a tokenizer.json with GPT-2's pipeline, one vocab
// entry and one merge per line so that diffs of retrained files stay small.
func byteLevelJSON(vocab []string, merges [][2]string, nSpecial int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"version":"1.0","truncation":null,"padding":null,"added_tokens":[`)
	for id := range nSpecial {
		if id > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "\n"+`{"id":%d,"content":%s,"single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}`, id, jsonString(vocab[id]))
	}
	b.WriteString("\n" + `],"normalizer":null,` + "\n" +
		`"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true},` + "\n" +
		`"post_processor":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true},` + "\n" +
		`"decoder":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true},` + "\n" +
		`"model":{"type":"BPE","dropout":null,"unk_token":null,"continuing_subword_prefix":null,"end_of_word_suffix":null,"fuse_unk":false,"byte_fallback":false,"ignore_merges":false,` + "\n" +
		`"vocab":{`)
	for id, tok := range vocab {
		if id > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "\n%s:%d", jsonString(tok), id)
	}
	b.WriteString("\n},\n" + `"merges":[`)
	for i, m := range merges {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "\n[%s,%s]", jsonString(m[0]), jsonString(m[1]))
	}
	b.WriteString("\n]}}\n")
	return b.Bytes()
}

// jsonString quotes s without Go's HTML escaping of <, > and &, which would
// make special tokens unreadable in the file.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}
