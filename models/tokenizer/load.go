package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	sugar "github.com/sugarme/tokenizer"
	"github.com/sugarme/tokenizer/model/bpe"
	"github.com/sugarme/tokenizer/pretrained"
)

// fileJSON is the top level of tokenizer.json. Components stay raw until the
// builder below interprets them, so that an unknown component type is an
// error naming it rather than a silent default.
type fileJSON struct {
	AddedTokens   []sugar.TokenConfig `json:"added_tokens"`
	Normalizer    json.RawMessage     `json:"normalizer"`
	PreTokenizer  json.RawMessage     `json:"pre_tokenizer"`
	PostProcessor json.RawMessage     `json:"post_processor"`
	Decoder       json.RawMessage     `json:"decoder"`
	Model         json.RawMessage     `json:"model"`
	Padding       *struct {
		PadID    *int   `json:"pad_id"`
		PadToken string `json:"pad_token"`
	} `json:"padding"`
}

// componentJSON holds the fields of every normalizer, pre-tokenizer,
// post-processor and decoder type we support; each type reads its own.
type componentJSON struct {
	Type string `json:"type"`

	Normalizers   []json.RawMessage `json:"normalizers"`
	Pretokenizers []json.RawMessage `json:"pretokenizers"`
	Decoders      []json.RawMessage `json:"decoders"`
	Processors    []json.RawMessage `json:"processors"`

	Prepend        string       `json:"prepend"`
	Pattern        *patternJSON `json:"pattern"`
	Content        string       `json:"content"`
	Replacement    string       `json:"replacement"`
	PrependScheme  string       `json:"prepend_scheme"`
	AddPrefixSpace *bool        `json:"add_prefix_space"`
	UseRegex       *bool        `json:"use_regex"`
	Split          *bool        `json:"split"`
	Behavior       string       `json:"behavior"`
	Invert         bool         `json:"invert"`
	Start          int          `json:"start"`
	Stop           int          `json:"stop"`
	StripLeft      bool         `json:"strip_left"`
	StripRight     bool         `json:"strip_right"`

	IndividualDigits bool `json:"individual_digits"`

	Single        []templatePieceJSON         `json:"single"`
	SpecialTokens map[string]templateSpecJSON `json:"special_tokens"`
	Cls           []json.RawMessage           `json:"cls"`
	Sep           []json.RawMessage           `json:"sep"`
}

type patternJSON struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

type templatePieceJSON struct {
	SpecialToken *struct {
		ID string `json:"id"`
	} `json:"SpecialToken"`
	Sequence *struct {
		ID string `json:"id"`
	} `json:"Sequence"`
}

type templateSpecJSON struct {
	IDs []int `json:"ids"`
}

// modelJSON is what we read of the model ourselves; vocab and merges go
// through sugarme's pretrained.CreateModel.
type modelJSON struct {
	Type                    string   `json:"type"`
	Dropout                 *float64 `json:"dropout"`
	UnkToken                *string  `json:"unk_token"`
	ContinuingSubwordPrefix *string  `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string  `json:"end_of_word_suffix"`
	FuseUnk                 bool     `json:"fuse_unk"`
	ByteFallback            bool     `json:"byte_fallback"`
	IgnoreMerges            bool     `json:"ignore_merges"`
}

// LoadBytes parses tokenizer.json content.
func LoadBytes(data []byte) (*Tokenizer, error) {
	var file fileJSON
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("parse tokenizer.json: %w", err)
	}
	t := &Tokenizer{raw: append([]byte(nil), data...), bos: -1, eos: -1, pad: -1}

	model, err := loadModel(file.Model)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	t.model = model

	if t.normalizer, err = buildNormalizer(file.Normalizer); err != nil {
		return nil, fmt.Errorf("normalizer: %w", err)
	}
	if t.preTokenizer, t.byteLevel, err = buildPreTokenizer(file.PreTokenizer); err != nil {
		return nil, fmt.Errorf("pre_tokenizer: %w", err)
	}
	if t.decoder, err = buildDecoder(file.Decoder); err != nil {
		return nil, fmt.Errorf("decoder: %w", err)
	}
	if err := t.buildVocab(file.AddedTokens); err != nil {
		return nil, fmt.Errorf("added_tokens: %w", err)
	}
	if t.post, err = buildPostProcessor(file.PostProcessor, t); err != nil {
		return nil, fmt.Errorf("post_processor: %w", err)
	}
	t.kind = detectKind(t, data)
	t.findSpecialIDs(file)
	return t, nil
}

// maxVocab bounds ids so that a corrupt file cannot make us allocate
// gigabytes (the largest real vocabularies are ~260k).
const maxVocab = 1 << 24

func loadModel(raw json.RawMessage) (*bpeModel, error) {
	if isNull(raw) {
		return nil, errors.New("missing")
	}
	var cfg modelJSON
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, err
	}
	if cfg.Type != "" && cfg.Type != "BPE" {
		return nil, fmt.Errorf("type %q not supported (only BPE)", cfg.Type)
	}
	if cfg.ContinuingSubwordPrefix != nil && *cfg.ContinuingSubwordPrefix != "" ||
		cfg.EndOfWordSuffix != nil && *cfg.EndOfWordSuffix != "" {
		return nil, errors.New("continuing_subword_prefix/end_of_word_suffix not supported")
	}
	var asMap map[string]any
	if err := json.Unmarshal(raw, &asMap); err != nil {
		return nil, err
	}
	if _, ok := asMap["vocab"].(map[string]any); !ok {
		return nil, errors.New("vocab: missing or not an object")
	}
	if _, ok := asMap["merges"].([]any); !ok {
		return nil, errors.New("merges: missing or not an array")
	}
	// sugarme reads dropout as a float and panics on anything else; we never
	// apply dropout (HF applies it only when set, and inference files leave it
	// null), so it is not passed on.
	delete(asMap, "dropout")
	sm, err := sugarmeModel(asMap)
	if err != nil {
		return nil, err
	}
	m := &bpeModel{
		vocab:        make(map[string]int, len(*sm.Vocab)),
		merges:       make(map[uint64]mergeRule, len(*sm.Merges)),
		fuseUnk:      cfg.FuseUnk,
		byteFallback: cfg.ByteFallback,
		ignoreMerges: cfg.IgnoreMerges,
		unkID:        -1,
	}
	for tok, id := range *sm.Vocab {
		if id < 0 || id >= maxVocab {
			return nil, fmt.Errorf("vocab: token %q has id %d out of range", tok, id)
		}
		m.vocab[tok] = id
	}
	for pair, val := range *sm.Merges {
		m.merges[pairKey(pair.C1, pair.C2)] = mergeRule{rank: int32(val.Rank), id: int32(val.NewId)}
	}
	if cfg.UnkToken != nil {
		// HF fails the whole encode when it needs an unk token missing from the
		// vocab; we drop the character instead (unkID stays -1).
		if id, ok := m.vocab[*cfg.UnkToken]; ok {
			m.unkID = id
		}
	}
	m.initByteTables()
	m.initJoinable()
	return m, nil
}

// sugarmeModel builds the vocab and merge-rank table with sugarme. Its
// loader type-asserts freely, so malformed input panics; that is turned into
// an error here.
func sugarmeModel(model map[string]any) (sm *bpe.BPE, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed model: %v", r)
		}
	}()
	for _, m := range model["merges"].([]any) {
		// sugarme joins array merges with a space and splits them again, so a
		// token holding a space would be mangled; HF vocabularies of the kinds
		// we load never have one (spaces are Ġ or ▁), so refuse loudly.
		if pair, ok := m.([]any); ok {
			for _, part := range pair {
				if s, ok := part.(string); ok && strings.Contains(s, " ") {
					return nil, fmt.Errorf("merge %q: tokens containing spaces are not supported", pair)
				}
			}
		}
	}
	for tok, v := range model["vocab"].(map[string]any) {
		f, ok := v.(float64)
		if !ok || f != math.Trunc(f) || f < 0 || f >= maxVocab {
			return nil, fmt.Errorf("vocab: token %q has invalid id %v", tok, v)
		}
	}
	built, err := pretrained.CreateModel(&sugar.Config{Model: model})
	if err != nil {
		return nil, err
	}
	sm, ok := built.(*bpe.BPE)
	if !ok {
		return nil, fmt.Errorf("sugarme built %T, want *bpe.BPE", built)
	}
	return sm, nil
}

// buildVocab lays out id -> token with added tokens overriding the model's
// strings, and builds the added-token matcher.
func (t *Tokenizer) buildVocab(added []sugar.TokenConfig) error {
	size := 0
	for _, id := range t.model.vocab {
		size = max(size, id+1)
	}
	for _, a := range added {
		if a.Id < 0 || a.Id >= maxVocab {
			return fmt.Errorf("token %q has id %d out of range", a.Content, a.Id)
		}
		size = max(size, int(a.Id)+1)
	}
	if size > 2*(len(t.model.vocab)+len(added))+1024 {
		return fmt.Errorf("ids too sparse: max id %d for %d tokens", size-1, len(t.model.vocab)+len(added))
	}
	t.idToToken = make([]string, size)
	t.special = make([]bool, size)
	for tok, id := range t.model.vocab {
		t.idToToken[id] = tok
	}
	t.added = newAddedVocab()
	for _, a := range added {
		id := int(a.Id)
		t.idToToken[id] = a.Content
		t.special[id] = a.Special
		if a.Content == "" {
			continue
		}
		tok := addedToken{content: a.Content, id: id, singleWord: a.SingleWord, lstrip: a.Lstrip, rstrip: a.Rstrip}
		if a.Normalized {
			// HF matches normalized tokens in normalized text, so their
			// content is normalized the same way first.
			if t.normalizer != nil {
				tok.content = t.normalizer.normalize(tok.content)
			}
			t.added.normalized.add(tok)
		} else {
			t.added.raw.add(tok)
		}
		t.added.byContent[a.Content] = id
	}
	return nil
}

func detectKind(t *Tokenizer, data []byte) string {
	switch {
	case t.byteLevel || isByteLevelDecoder(t.decoder):
		return KindByteLevelBPE
	case t.model.byteFallback || bytes.Contains(data, []byte(`"Metaspace"`)) || bytes.Contains(data, []byte("▁")):
		return KindSentencePieceBPE
	default:
		return KindBPE
	}
}

// Conventional names, tried in order (BOS and EOS among the added tokens
// marked special) when neither the post-processor nor tokenizer_config.json
// says: an ordinary token that happens to be spelled </s> (Qwen's
// vocabulary has one, Gemma 3 has a non-special added one) is text, not a
// marker.
var (
	bosNames = []string{"<bos>", "<s>", "<|begin_of_text|>", "<|startoftext|>", "[CLS]"}
	eosNames = []string{"<eos>", "</s>", "<|end_of_text|>", "<|endoftext|>", "[SEP]"}
	padNames = []string{"<pad>", "<|pad|>", "[PAD]", "<|padding|>"}
)

func (t *Tokenizer) findSpecialIDs(file fileJSON) {
	bySpecialName := func(names []string) int {
		for _, n := range names {
			if id, ok := t.added.byContent[n]; ok && t.IsSpecial(id) {
				return id
			}
		}
		return -1
	}
	if len(t.post.prefix) > 0 {
		t.bos = t.post.prefix[0]
	} else {
		t.bos = bySpecialName(bosNames)
	}
	if len(t.post.suffix) > 0 {
		t.eos = t.post.suffix[len(t.post.suffix)-1]
	} else {
		t.eos = bySpecialName(eosNames)
	}
	if file.Padding != nil && file.Padding.PadID != nil {
		t.pad = *file.Padding.PadID
	} else {
		t.pad = -1
		for _, n := range padNames {
			if id, ok := t.TokenID(n); ok {
				t.pad = id
				break
			}
		}
	}
}

func isNull(raw json.RawMessage) bool {
	s := bytes.TrimSpace(raw)
	return len(s) == 0 || string(s) == "null"
}

func parseComponent(raw json.RawMessage) (*componentJSON, error) {
	if isNull(raw) {
		return nil, nil
	}
	var c componentJSON
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// patternOf returns the literal or compiled regex of a Replace/Split pattern.
func patternOf(c *componentJSON) (matcher, error) {
	if c.Pattern == nil {
		return nil, fmt.Errorf("%s: missing pattern", c.Type)
	}
	switch {
	case c.Pattern.String != nil:
		return literalMatcher(*c.Pattern.String), nil
	case c.Pattern.Regex != nil:
		return compileRegex(*c.Pattern.Regex)
	}
	return nil, fmt.Errorf("%s: pattern has neither String nor Regex", c.Type)
}
