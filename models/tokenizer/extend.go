package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sugarme/tokenizer/pretokenizer"
)

// ExtendScope says which new merges Extend may learn.
type ExtendScope string

// The scopes.
const (
	// ExtendAll learns the most frequent pairs of the new-language text,
	// whatever their bytes.
	ExtendAll ExtendScope = "all"
	// ExtendNonASCII learns only merges whose token holds a non-ASCII byte:
	// then every word of ASCII text provably keeps its ids (a new merge's
	// token is a substring of any word it applies to).
	ExtendNonASCII ExtendScope = "non-ascii"
)

// ExtendScopes lists the scopes (flag values).
var ExtendScopes = []ExtendScope{ExtendAll, ExtendNonASCII}

// ExtendOptions configure Extend.
type ExtendOptions struct {
	// NewTokens is how many tokens to add (fewer when the text has no more
	// pairs seen twice).
	NewTokens int
	// FirstID is the first new token's id: the model's vocab_size, so that
	// new ids index rows appended after the whole embedding (padding rows
	// included). At least the tokenizer's VocabSize.
	FirstID int
	Scope   ExtendScope
	// Protect are text files (original-domain text, e.g. English) whose ids
	// must not change: a merge of a pair adjacent in any of their words (or
	// whose token spells one of their words) is never learned.
	Protect []string
}

// Extend learns new BPE merges on top of t's from text files (the new
// language), appended after all of t's merges with ids from FirstID. HF
// applies merges in rank order, and no old merge involves a new token, so
// every word is first tokenized exactly as by t and then the new merges
// apply to t's tokens: this is what is trained here, starting from each
// word's ids under t. A word keeps its ids unless a new merge's pair is
// adjacent in them (or, with ignore_merges, the word is a new token).
//
// Only byte-level BPE is supported: SentencePiece-style files (Gemma,
// Llama 2) tokenize whole documents as one word and fall back to bytes,
// which this trainer does not model.
func Extend(t *Tokenizer, files []string, o ExtendOptions) (*Tokenizer, error) {
	if err := o.check(t, files); err != nil {
		return nil, err
	}
	counts := map[string]int64{}
	for _, f := range files {
		if err := t.countWords(f, counts); err != nil {
			return nil, fmt.Errorf("extend tokenizer: %w", err)
		}
	}
	accept, err := t.extendFilter(o)
	if err != nil {
		return nil, err
	}
	vocab := t.modelVocab(o.FirstID)
	keys := slices.Sorted(maps.Keys(counts)) // deterministic training
	words, freq := make([][]int32, len(keys)), make([]int64, len(keys))
	for i, w := range keys {
		for _, id := range t.model.encodeWord(w, t.byteLevel, nil) {
			words[i] = append(words[i], int32(id))
		}
		freq[i] = counts[w]
	}
	merges := runMerges(vocab, newWordPairs(words, freq), o.FirstID+o.NewTokens, func(l, r int32) bool {
		return accept(l, r, vocab.tokens[l]+vocab.tokens[r])
	})
	raw, err := extendedJSON(t.raw, t.withAddedTokens(vocab.tokens), merges)
	if err != nil {
		return nil, fmt.Errorf("extend tokenizer: %w", err)
	}
	ext, err := LoadBytes(raw)
	if err != nil {
		return nil, fmt.Errorf("extend tokenizer: reload: %w", err)
	}
	ext.bos, ext.eos, ext.pad = t.bos, t.eos, t.pad // tokenizer_config.json's, if applied
	return ext, nil
}

func (o ExtendOptions) check(t *Tokenizer, files []string) error {
	switch {
	case t.kind != KindByteLevelBPE || !t.byteLevel:
		return fmt.Errorf("extend tokenizer: only byte-level BPE tokenizers (GPT-2, Llama 3, Qwen) can be extended, this one is %s; give an extended tokenizer.json made with another tool instead", t.kind)
	case len(files) == 0:
		return errors.New("extend tokenizer: no new-language text files")
	case o.NewTokens <= 0:
		return fmt.Errorf("extend tokenizer: %d new tokens: want at least 1", o.NewTokens)
	case o.FirstID < t.VocabSize():
		return fmt.Errorf("extend tokenizer: first new id %d is below the tokenizer's %d ids", o.FirstID, t.VocabSize())
	case o.Scope != ExtendAll && o.Scope != ExtendNonASCII:
		return fmt.Errorf("extend tokenizer: scope %q: want all or non-ascii", o.Scope)
	}
	return nil
}

// countWords adds the words of a text file, as t pre-tokenizes them, to
// counts.
func (t *Tokenizer) countWords(path string, counts map[string]int64) error {
	collect := func(word string, _ bool, ids []int) []int {
		addWord(counts, word)
		return ids
	}
	return forEachChunk(path, func(text string) {
		t.added.splitRaw(text, nil, func(seg string, atStart bool, ids []int) []int {
			return t.segmentWords(seg, atStart, ids, collect)
		})
	})
}

// modelVocab is t's BPE vocabulary as a trainer vocabulary of firstID
// entries (ids no model token has, e.g. added tokens, read as "").
func (t *Tokenizer) modelVocab(firstID int) *bpeVocab {
	v := &bpeVocab{tokens: make([]string, firstID), index: make(map[string]int32, len(t.model.vocab))}
	for tok, id := range t.model.vocab {
		v.tokens[id], v.index[tok] = tok, int32(id)
	}
	return v
}

// extendFilter is the merges Extend may learn: by scope, and none that
// would change the ids of the protected text.
func (t *Tokenizer) extendFilter(o ExtendOptions) (func(left, right int32, token string) bool, error) {
	protected := map[string]int64{}
	for _, f := range o.Protect {
		if err := t.countWords(f, protected); err != nil {
			return nil, fmt.Errorf("extend tokenizer: protected text: %w", err)
		}
	}
	pairs := map[uint64]bool{}
	spelled := map[string]bool{} // protected words as vocabulary strings (ignore_merges)
	for w := range protected {
		ids := t.model.encodeWord(w, t.byteLevel, nil)
		for j := 0; j+1 < len(ids); j++ {
			pairs[pairKey(ids[j], ids[j+1])] = true
		}
		spelled[byteLevelString(w)] = true
	}
	return func(left, right int32, token string) bool {
		if pairs[pairKey(int(left), int(right))] || spelled[token] {
			return false
		}
		return o.Scope == ExtendAll || !isASCII(tokenBytes(token))
	}, nil
}

// withAddedTokens is vocab with the added tokens that have no model token
// put in at their ids. HF numbers added tokens absent from the model's
// vocabulary from the vocabulary's entry count on, whatever ids the file
// gives them: after new model tokens, Llama 3's and Qwen's special tokens
// would move. In the model's vocabulary they keep their ids, and the
// pre-tokenizer never produces them as words, so BPE never emits them.
func (t *Tokenizer) withAddedTokens(vocab []string) []string {
	out := slices.Clone(vocab)
	for content, id := range t.added.byContent {
		if id < len(out) && out[id] == "" {
			out[id] = content
		}
	}
	return out
}

// tokenBytes is the raw bytes a byte-level vocabulary string stands for.
func tokenBytes(token string) []byte {
	var b []byte
	for _, r := range token {
		b = append(b, pretokenizer.CharBytes[string(r)])
	}
	return b
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// extendedJSON is the tokenizer.json raw with its model's vocabulary
// replaced by vocab (id order, "" for ids the model has no token for) and
// merges appended after the old ones, in the old list's format. Every
// other field is kept as it was.
func extendedJSON(raw []byte, vocab []string, merges [][2]string) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, err
	}
	var model map[string]json.RawMessage
	if err := json.Unmarshal(top["model"], &model); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	var oldMerges []json.RawMessage
	if err := json.Unmarshal(model["merges"], &oldMerges); err != nil {
		return nil, fmt.Errorf("model.merges: %w", err)
	}
	asStrings := len(oldMerges) > 0 && bytes.HasPrefix(bytes.TrimSpace(oldMerges[0]), []byte(`"`))
	var b bytes.Buffer
	b.WriteByte('[')
	for i, m := range oldMerges {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(m)
	}
	for i, m := range merges {
		if i > 0 || len(oldMerges) > 0 {
			b.WriteByte(',')
		}
		if asStrings {
			fmt.Fprintf(&b, "\n%s", jsonString(m[0]+" "+m[1]))
		} else {
			fmt.Fprintf(&b, "\n[%s,%s]", jsonString(m[0]), jsonString(m[1]))
		}
	}
	b.WriteString("\n]")
	model["merges"] = json.RawMessage(b.Bytes())
	model["vocab"] = vocabJSON(vocab)
	var err error
	if top["model"], err = marshalNoEscape(model); err != nil {
		return nil, err
	}
	return marshalNoEscape(top)
}

// marshalNoEscape is json.Marshal without HTML escaping, which would turn
// special tokens' < and > into \u003c and \u003e.
func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// vocabJSON writes vocab as a JSON object in id order, one entry per line.
func vocabJSON(vocab []string) json.RawMessage {
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for id, tok := range vocab {
		if tok == "" {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		fmt.Fprintf(&b, "\n%s:%d", jsonString(tok), id)
	}
	b.WriteString("\n}")
	return json.RawMessage(b.String())
}
