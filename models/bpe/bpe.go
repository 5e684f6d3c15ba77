// Package bpe is a byte-level BPE tokenizer (GPT-2 style) that nrgraph
// trains for its embedded backbone and saves as a standard Hugging Face
// tokenizer.json: pre-tokenization with the GPT-2 pattern, bytes mapped to
// printable characters, merges applied lowest-rank-first (leftmost on
// ties), exactly as Hugging Face tokenizers does for this model type.
// Golden ids produced by HF's own library (npm package "tokenizers") are
// checked in testdata/.
package bpe

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Tokenizer is a byte-level BPE model.
type Tokenizer struct {
	vocab    map[string]int
	inverse  []string
	ranks    map[[2]string]int
	merges   [][2]string
	specials map[string]int
	// cache memoises word encodings; Encode is safe for concurrent use.
	cacheMu sync.RWMutex
	cache   map[string][]int
	// BOS/EOS/PAD ids (-1 when absent).
	BOS, EOS, PAD int
}

// bytesToUnicode is GPT-2's reversible map from bytes to printable runes:
// printable Latin-1 bytes map to themselves, the rest to U+0100 onwards.
var byteRune, runeByte = func() ([256]rune, map[rune]byte) {
	var b2r [256]rune
	r2b := map[rune]byte{}
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			b2r[b] = rune(b)
		} else {
			b2r[b] = rune(256 + n)
			n++
		}
		r2b[b2r[b]] = byte(b)
	}
	return b2r, r2b
}()

// Special tokens of nrgraph-trained tokenizers.
const (
	BOSToken = "<s>"
	EOSToken = "</s>"
	PADToken = "<pad>"
)

// PreTokenize splits text with GPT-2's pattern
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// written out by hand (Go's regexp has no lookahead).
func PreTokenize(text string) []string {
	var out []string
	rs := []rune(text)
	n := len(rs)
	isL := func(r rune) bool { return unicode.IsLetter(r) }
	isN := func(r rune) bool { return unicode.IsNumber(r) }
	isS := unicode.IsSpace
	other := func(r rune) bool { return !isS(r) && !isL(r) && !isN(r) }
	for i := 0; i < n; {
		if rs[i] == '\'' && i+1 < n {
			if i+2 < n {
				two := string(rs[i+1 : i+3])
				if two == "re" || two == "ve" || two == "ll" {
					out = append(out, string(rs[i:i+3]))
					i += 3
					continue
				}
			}
			switch rs[i+1] {
			case 's', 't', 'm', 'd':
				out = append(out, string(rs[i:i+2]))
				i += 2
				continue
			}
		}
		start := i
		j := i
		if rs[j] == ' ' && j+1 < n && !isS(rs[j+1]) {
			j++
		}
		if class := classOf(rs[j], isL, isN, other); class != nil && (j == i || rs[i] == ' ') {
			k := j
			for k < n && class(rs[k]) {
				k++
			}
			out = append(out, string(rs[start:k]))
			i = k
			continue
		}
		// Whitespace: \s+(?!\S) then \s+.
		k := i
		for k < n && isS(rs[k]) {
			k++
		}
		if k < n && k-i > 1 {
			k-- // leave the last space to prefix the next token
		}
		out = append(out, string(rs[i:k]))
		i = k
	}
	return out
}

func classOf(r rune, isL, isN, other func(rune) bool) func(rune) bool {
	switch {
	case isL(r):
		return isL
	case isN(r):
		return isN
	case other(r):
		return other
	}
	return nil
}

// mapBytes turns a pre-token's UTF-8 bytes into byte-level symbols.
func mapBytes(s string) []string {
	out := make([]string, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = string(byteRune[s[i]])
	}
	return out
}

// bpeWord applies merges: repeatedly merge the adjacent pair of lowest rank
// (the leftmost when a rank occurs twice).
func (t *Tokenizer) bpeWord(symbols []string) []string {
	for len(symbols) > 1 {
		best, at := -1, -1
		for i := 0; i+1 < len(symbols); i++ {
			if r, ok := t.ranks[[2]string{symbols[i], symbols[i+1]}]; ok && (best < 0 || r < best) {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		merged := symbols[at] + symbols[at+1]
		symbols = append(symbols[:at+1], symbols[at+2:]...)
		symbols[at] = merged
	}
	return symbols
}

// Encode returns token ids; addSpecial prepends BOS.
func (t *Tokenizer) Encode(text string, addSpecial bool) []int {
	var ids []int
	if addSpecial && t.BOS >= 0 {
		ids = append(ids, t.BOS)
	}
	for _, part := range t.splitSpecials(text) {
		if id, ok := t.specials[part]; ok {
			ids = append(ids, id)
			continue
		}
		for _, word := range PreTokenize(part) {
			t.cacheMu.RLock()
			cached, ok := t.cache[word]
			t.cacheMu.RUnlock()
			if ok {
				ids = append(ids, cached...)
				continue
			}
			var wordIDs []int
			for _, sym := range t.bpeWord(mapBytes(word)) {
				wordIDs = append(wordIDs, t.vocab[sym])
			}
			t.cacheMu.Lock()
			if len(t.cache) < 1<<16 {
				t.cache[word] = wordIDs
			}
			t.cacheMu.Unlock()
			ids = append(ids, wordIDs...)
		}
	}
	return ids
}

// splitSpecials cuts text around special tokens (matched literally, as HF
// added tokens).
func (t *Tokenizer) splitSpecials(text string) []string {
	if len(t.specials) == 0 {
		return []string{text}
	}
	var out []string
	for len(text) > 0 {
		first, tok := -1, ""
		for s := range t.specials {
			if i := strings.Index(text, s); i >= 0 && (first < 0 || i < first || i == first && len(s) > len(tok)) {
				first, tok = i, s
			}
		}
		if first < 0 {
			out = append(out, text)
			break
		}
		if first > 0 {
			out = append(out, text[:first])
		}
		out = append(out, tok)
		text = text[first+len(tok):]
	}
	return out
}

// Decode maps ids back to text (special tokens dropped).
func (t *Tokenizer) Decode(ids []int) string {
	var buf []byte
	for _, id := range ids {
		if id < 0 || id >= len(t.inverse) {
			continue
		}
		tok := t.inverse[id]
		if _, special := t.specials[tok]; special {
			continue
		}
		for _, r := range tok {
			if b, ok := runeByte[r]; ok {
				buf = append(buf, b)
			}
		}
	}
	if !utf8.Valid(buf) {
		return strings.ToValidUTF8(string(buf), "\uFFFD")
	}
	return string(buf)
}

// VocabSize is the number of ids.
func (t *Tokenizer) VocabSize() int { return len(t.inverse) }

// Train learns a byte-level BPE from text files (.txt whole, .jsonl field
// "text") up to vocabSize ids, streaming the files once to count words.
func Train(files []string, vocabSize int, minFrequency int) (*Tokenizer, error) {
	counts := map[string]int{}
	for _, path := range files {
		if err := forEachText(path, func(text string) {
			for _, w := range PreTokenize(text) {
				counts[w]++
			}
		}); err != nil {
			return nil, err
		}
	}
	if len(counts) == 0 {
		return nil, fmt.Errorf("no text in %v", files)
	}
	return trainCounts(counts, vocabSize, minFrequency)
}

func forEachText(path string, fn func(string)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if !strings.HasSuffix(path, ".jsonl") {
		raw, err := io.ReadAll(f)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		fn(string(raw))
		return nil
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	line := 0
	for sc.Scan() {
		line++
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var rec struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
		fn(rec.Text)
	}
	return sc.Err()
}

// trainCounts runs the merge loop over word counts: the most frequent
// adjacent pair (ties: the smallest pair) becomes the next merge.
func trainCounts(counts map[string]int, vocabSize, minFrequency int) (*Tokenizer, error) {
	specials := []string{BOSToken, EOSToken, PADToken}
	if vocabSize < len(specials)+256 {
		return nil, fmt.Errorf("vocabulary size %d is below the %d specials + 256 bytes", vocabSize, len(specials))
	}
	type word struct {
		syms  []string
		count int
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	words := make([]word, len(keys))
	for i, k := range keys {
		words[i] = word{syms: mapBytes(k), count: counts[k]}
	}
	pairCount := map[[2]string]int{}
	where := map[[2]string]map[int]bool{}
	addPairs := func(wi int, sign int) {
		w := words[wi]
		for i := 0; i+1 < len(w.syms); i++ {
			p := [2]string{w.syms[i], w.syms[i+1]}
			pairCount[p] += sign * w.count
			if sign > 0 {
				if where[p] == nil {
					where[p] = map[int]bool{}
				}
				where[p][wi] = true
			}
		}
	}
	for i := range words {
		addPairs(i, 1)
	}
	var merges [][2]string
	for len(specials)+256+len(merges) < vocabSize {
		var best [2]string
		bestCount := 0
		for p, c := range pairCount {
			if c > bestCount || c == bestCount && c > 0 && (p[0] < best[0] || p[0] == best[0] && p[1] < best[1]) {
				best, bestCount = p, c
			}
		}
		if bestCount < max(1, minFrequency) {
			break
		}
		merges = append(merges, best)
		merged := best[0] + best[1]
		for wi := range where[best] {
			addPairs(wi, -1)
			w := &words[wi]
			out := w.syms[:0:0]
			for i := 0; i < len(w.syms); i++ {
				if i+1 < len(w.syms) && w.syms[i] == best[0] && w.syms[i+1] == best[1] {
					out = append(out, merged)
					i++
				} else {
					out = append(out, w.syms[i])
				}
			}
			w.syms = out
			addPairs(wi, 1)
		}
		delete(where, best)
		for p, c := range pairCount {
			if c <= 0 {
				delete(pairCount, p)
			}
		}
	}
	return build(specials, merges)
}

// build assembles a tokenizer: specials, the 256 byte symbols, then one
// token per merge.
func build(specials []string, merges [][2]string) (*Tokenizer, error) {
	t := &Tokenizer{vocab: map[string]int{}, ranks: map[[2]string]int{}, specials: map[string]int{}, cache: map[string][]int{}, BOS: -1, EOS: -1, PAD: -1}
	add := func(s string) {
		if _, ok := t.vocab[s]; !ok {
			t.vocab[s] = len(t.inverse)
			t.inverse = append(t.inverse, s)
		}
	}
	for _, s := range specials {
		add(s)
		t.specials[s] = t.vocab[s]
	}
	alphabet := make([]string, 256)
	for b := 0; b < 256; b++ {
		alphabet[b] = string(byteRune[b])
	}
	sort.Strings(alphabet)
	for _, s := range alphabet {
		add(s)
	}
	for i, m := range merges {
		if _, ok := t.vocab[m[0]]; !ok {
			return nil, fmt.Errorf("merge %d (%q %q): left part is not in the vocabulary", i, m[0], m[1])
		}
		if _, ok := t.vocab[m[1]]; !ok {
			return nil, fmt.Errorf("merge %d (%q %q): right part is not in the vocabulary", i, m[0], m[1])
		}
		t.ranks[m] = i
		add(m[0] + m[1])
	}
	t.merges = merges
	t.setSpecialIDs()
	return t, nil
}

func (t *Tokenizer) setSpecialIDs() {
	for name, p := range map[string]*int{BOSToken: &t.BOS, EOSToken: &t.EOS, PADToken: &t.PAD} {
		if id, ok := t.specials[name]; ok {
			*p = id
		}
	}
}

// hfJSON is the subset of tokenizer.json this package writes and reads.
type hfJSON struct {
	Version       string          `json:"version"`
	Truncation    any             `json:"truncation"`
	Padding       any             `json:"padding"`
	AddedTokens   []hfAdded       `json:"added_tokens"`
	Normalizer    any             `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         hfModel         `json:"model"`
}

type hfAdded struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type hfModel struct {
	Type                    string         `json:"type"`
	Dropout                 any            `json:"dropout"`
	UnkToken                any            `json:"unk_token"`
	ContinuingSubwordPrefix any            `json:"continuing_subword_prefix"`
	EndOfWordSuffix         any            `json:"end_of_word_suffix"`
	FuseUnk                 bool           `json:"fuse_unk"`
	ByteFallback            bool           `json:"byte_fallback"`
	IgnoreMerges            bool           `json:"ignore_merges"`
	Vocab                   map[string]int `json:"vocab"`
	Merges                  [][2]string    `json:"merges"`
}

const byteLevel = `{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}`

// JSON renders the tokenizer as a Hugging Face tokenizer.json.
func (t *Tokenizer) JSON() ([]byte, error) {
	h := hfJSON{Version: "1.0", PreTokenizer: json.RawMessage(byteLevel), PostProcessor: json.RawMessage(byteLevel), Decoder: json.RawMessage(byteLevel),
		Model: hfModel{Type: "BPE", Vocab: t.vocab, Merges: t.merges}}
	names := make([]string, 0, len(t.specials))
	for s := range t.specials {
		names = append(names, s)
	}
	sort.Slice(names, func(i, j int) bool { return t.specials[names[i]] < t.specials[names[j]] })
	for _, s := range names {
		h.AddedTokens = append(h.AddedTokens, hfAdded{ID: t.specials[s], Content: s, Special: true})
	}
	if h.Model.Merges == nil {
		h.Model.Merges = [][2]string{}
	}
	return json.MarshalIndent(h, "", "  ")
}

// Hash identifies the tokenizer by its serialised form.
func (t *Tokenizer) Hash() string {
	raw, _ := t.JSON()
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// Parse loads a byte-level BPE tokenizer.json (GPT-2 family: BPE model,
// ByteLevel pre-tokenizer with the GPT-2 pattern, no normalizer). Other
// tokenizer kinds are rejected with a clear error.
func Parse(raw []byte) (*Tokenizer, error) {
	var h struct {
		AddedTokens  []hfAdded       `json:"added_tokens"`
		Normalizer   json.RawMessage `json:"normalizer"`
		PreTokenizer *struct {
			Type     string `json:"type"`
			UseRegex *bool  `json:"use_regex"`
			Prefix   bool   `json:"add_prefix_space"`
		} `json:"pre_tokenizer"`
		Model struct {
			Type         string            `json:"type"`
			Vocab        map[string]int    `json:"vocab"`
			Merges       []json.RawMessage `json:"merges"`
			ByteFallback bool              `json:"byte_fallback"`
		} `json:"model"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, err
	}
	if h.Model.Type != "BPE" || h.PreTokenizer == nil || h.PreTokenizer.Type != "ByteLevel" || h.PreTokenizer.Prefix ||
		(h.PreTokenizer.UseRegex != nil && !*h.PreTokenizer.UseRegex) || (len(h.Normalizer) > 0 && string(h.Normalizer) != "null") {
		return nil, fmt.Errorf("only byte-level BPE tokenizers (ByteLevel pre-tokenizer with the GPT-2 pattern, no normalizer) are supported by nrgraph's built-in tokenizer")
	}
	t := &Tokenizer{vocab: h.Model.Vocab, ranks: map[[2]string]int{}, specials: map[string]int{}, cache: map[string][]int{}, BOS: -1, EOS: -1, PAD: -1}
	maxID := -1
	for _, id := range t.vocab {
		maxID = max(maxID, id)
	}
	for _, a := range h.AddedTokens {
		maxID = max(maxID, a.ID)
	}
	if maxID > 1<<24 {
		return nil, fmt.Errorf("token id %d is implausibly large", maxID)
	}
	t.inverse = make([]string, maxID+1)
	for s, id := range t.vocab {
		if id < 0 {
			return nil, fmt.Errorf("negative id for token %q", s)
		}
		t.inverse[id] = s
	}
	for _, a := range h.AddedTokens {
		t.inverse[a.ID] = a.Content
		t.specials[a.Content] = a.ID
	}
	for i, m := range h.Model.Merges {
		var pair [2]string
		var str string
		if json.Unmarshal(m, &str) == nil {
			parts := strings.SplitN(str, " ", 2)
			if len(parts) != 2 {
				return nil, fmt.Errorf("merge %d %q is not two symbols", i, str)
			}
			pair = [2]string{parts[0], parts[1]}
		} else if err := json.Unmarshal(m, &pair); err != nil {
			return nil, fmt.Errorf("merge %d: %w", i, err)
		}
		if _, ok := t.vocab[pair[0]+pair[1]]; !ok {
			return nil, fmt.Errorf("merge %d (%q %q): result is not in the vocabulary", i, pair[0], pair[1])
		}
		t.ranks[pair] = i
		t.merges = append(t.merges, pair)
	}
	for b := 0; b < 256; b++ {
		if _, ok := t.vocab[string(byteRune[b])]; !ok {
			return nil, fmt.Errorf("byte-level alphabet incomplete: byte %d (%q) has no token", b, string(byteRune[b]))
		}
	}
	t.setSpecialIDs()
	return t, nil
}

// Load reads a tokenizer.json.
func Load(path string) (*Tokenizer, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}
