// Package tokenizer loads Hugging Face tokenizer.json files of the two BPE
// families nrgraph's base models use, and encodes and decodes text exactly as
// Hugging Face `tokenizers` does:
//
//   - byte-level BPE (GPT-2 style: ByteLevel pre-tokenizer and decoder);
//   - SentencePiece-style BPE (Llama, Gemma: a Metaspace pre-tokenizer or a
//     Replace(" ", "▁") normalizer with optional Prepend, byte_fallback, and
//     ByteFallback/Fuse/Strip/Replace/Metaspace decoders).
//
// It also trains byte-level BPE tokenizers (Train) and saves them as standard
// tokenizer.json files that Hugging Face loads.
//
// github.com/sugarme/tokenizer v0.3.0 is the base: its config types parse the
// file's added tokens, its pretrained.CreateModel builds the vocabulary and the
// merge-rank table, and its byte<->char table is the GPT-2 byte alphabet. The
// rest of its pipeline does not match Hugging Face (merge priority, byte
// fallback, Metaspace split/prepend_scheme, Regex replace, Save, training), so
// the encode/decode path, normalizers, pre-tokenizers, decoders and trainer
// here are our own. Exactness is checked against goldens made by HF's Node
// binding (testdata/*.golden.json, scripts/regen_goldens.sh).
//
// A Tokenizer is immutable after Load and safe for concurrent use.
package tokenizer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Kinds reported by Tokenizer.Kind.
const (
	KindByteLevelBPE     = "byte-level-bpe"
	KindSentencePieceBPE = "sentencepiece-bpe"
	KindBPE              = "bpe"
)

// Tokenizer is a loaded tokenizer.json.
type Tokenizer struct {
	raw  []byte // the file as loaded; Save writes it back unchanged
	kind string

	normalizer   normalizer   // nil: identity
	preTokenizer preTokenizer // nil: each segment is one word
	byteLevel    bool         // words are mapped to the GPT-2 byte alphabet before BPE
	model        *bpeModel
	added        *addedVocab
	post         postProcessor
	decoder      decoder // nil: tokens joined by " ", as HF does

	idToToken []string // model vocab overlaid with added tokens
	special   []bool   // by id: added token marked special

	bos, eos, pad int // -1 when undefined

	hashOnce sync.Once
	hash     string
}

// Load reads and parses a tokenizer.json file.
func Load(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	t, err := LoadBytes(data)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", path, err)
	}
	return t, nil
}

// Encode tokenizes text. With addSpecial, the post-processor's special tokens
// (e.g. Llama's <s>) are added, as HF's add_special_tokens=true does. Special
// tokens written literally in text are recognised, as in HF.
func (t *Tokenizer) Encode(text string, addSpecial bool) []int {
	ids := make([]int, 0, len(text)/3+4)
	if addSpecial {
		ids = append(ids, t.post.prefix...)
	}
	ids = t.added.splitRaw(text, ids, t.encodeSegment)
	if addSpecial {
		ids = append(ids, t.post.suffix...)
	}
	return ids
}

// encodeSegment normalizes, splits by normalized added tokens, pre-tokenizes
// and BPE-encodes one stretch of text that holds no raw added token. atStart
// says whether it begins at offset 0 of the input (Metaspace prepend_scheme
// "first" only prepends there).
func (t *Tokenizer) encodeSegment(segment string, atStart bool, ids []int) []int {
	return t.segmentWords(segment, atStart, ids, t.model.encodeWord)
}

// wordFunc handles one pre-tokenized word (raw bytes when byteLevel).
type wordFunc func(word string, byteLevel bool, ids []int) []int

// segmentWords is encodeSegment with what is done to each word given:
// encoding, or collecting words to learn new merges from (Extend).
func (t *Tokenizer) segmentWords(segment string, atStart bool, ids []int, encodeWord wordFunc) []int {
	if t.normalizer != nil {
		segment = t.normalizer.normalize(segment)
	}
	return t.added.splitNormalized(segment, atStart, ids, func(part string, partAtStart bool, ids []int) []int {
		switch pre := t.preTokenizer.(type) {
		case nil:
			return encodeWord(part, t.byteLevel, ids)
		case preByteLevel:
			if pre.useRegex {
				// GPT-2's pipeline, streamed: no piece slices for a big input.
				if pre.addPrefixSpace && !strings.HasPrefix(part, " ") {
					part = " " + part
				}
				for i := 0; i < len(part); {
					end := gpt2MatchAt(part, i)
					ids = encodeWord(part[i:end], true, ids)
					i = end
				}
				return ids
			}
		}
		for _, word := range t.preTokenizer.split([]piece{{text: part, atStart: partAtStart}}) {
			ids = encodeWord(word.text, t.byteLevel, ids)
		}
		return ids
	})
}

// Decode turns ids back into text with the tokenizer's decoder, keeping
// special tokens (HF decode with skip_special_tokens=false). Unknown ids are
// skipped, as in HF.
func (t *Tokenizer) Decode(ids []int) string { return t.decode(ids, false) }

// DecodeSkipSpecial is Decode without special tokens (skip_special_tokens=true).
func (t *Tokenizer) DecodeSkipSpecial(ids []int) string { return t.decode(ids, true) }

func (t *Tokenizer) decode(ids []int, skipSpecial bool) string {
	tokens := make([]string, 0, len(ids))
	for _, id := range ids {
		if id < 0 || id >= len(t.idToToken) || t.idToToken[id] == "" && !t.isKnownEmpty(id) {
			continue
		}
		if skipSpecial && t.special[id] {
			continue
		}
		tokens = append(tokens, t.idToToken[id])
	}
	if t.decoder == nil {
		return strings.Join(tokens, " ")
	}
	return strings.Join(t.decoder.decode(tokens), "")
}

// isKnownEmpty reports whether id really maps to the empty token (vocabularies
// may have gaps, which read as "" in idToToken).
func (t *Tokenizer) isKnownEmpty(id int) bool {
	id2, ok := t.model.vocab[""]
	return ok && id2 == id
}

// VocabSize is the number of token ids, added tokens included: the embedding
// rows a model needs (HF get_vocab_size(with_added_tokens=true)).
func (t *Tokenizer) VocabSize() int { return len(t.idToToken) }

// Kind is KindByteLevelBPE, KindSentencePieceBPE or KindBPE.
func (t *Tokenizer) Kind() string { return t.kind }

// BOS is the beginning-of-sequence id: tokenizer_config.json's bos_token
// (see ApplyConfig), else the token the post-processor puts first, else a
// conventionally named added token marked special.
func (t *Tokenizer) BOS() (int, bool) { return t.bos, t.bos >= 0 }

// EOS is the end-of-sequence id: tokenizer_config.json's eos_token, else the
// token the post-processor puts last, else a conventionally named added
// token marked special (<eos>, </s>, <|endoftext|>, ...).
func (t *Tokenizer) EOS() (int, bool) { return t.eos, t.eos >= 0 }

// PAD is the padding id from the padding section or a token named like <pad>.
func (t *Tokenizer) PAD() (int, bool) { return t.pad, t.pad >= 0 }

// TokenID looks a token string up (added tokens first, as HF token_to_id).
func (t *Tokenizer) TokenID(token string) (int, bool) {
	if id, ok := t.added.byContent[token]; ok {
		return id, true
	}
	id, ok := t.model.vocab[token]
	return id, ok
}

// Token is the vocabulary string of id (HF id_to_token).
func (t *Tokenizer) Token(id int) (string, bool) {
	if id < 0 || id >= len(t.idToToken) || t.idToToken[id] == "" && !t.isKnownEmpty(id) {
		return "", false
	}
	return t.idToToken[id], true
}

// IsSpecial reports whether id is an added token marked special.
func (t *Tokenizer) IsSpecial(id int) bool { return id >= 0 && id < len(t.special) && t.special[id] }

// Hash is a stable hex SHA-256 of the tokenizer's content: the JSON with keys
// sorted and whitespace removed, so re-indenting a file does not change it.
// Token shards are tagged with it.
func (t *Tokenizer) Hash() string {
	t.hashOnce.Do(func() {
		sum := sha256.Sum256(canonicalJSON(t.raw))
		t.hash = hex.EncodeToString(sum[:])
	})
	return t.hash
}

// canonicalJSON re-marshals JSON with sorted keys; raw already parsed once in
// LoadBytes, so it is valid.
func canonicalJSON(raw []byte) []byte {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	out, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return out
}

// Save writes the tokenizer.json atomically: a temp file in the same
// directory, fsync, rename, fsync of the directory. A loaded tokenizer is
// written back byte for byte; a trained one as generated by Train.
func (t *Tokenizer) Save(path string) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("save tokenizer %s: %w", path, err)
	}
	cleanup := func(err error) error {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("save tokenizer %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; a tokenizer is no secret.
	if err := tmp.Chmod(0o644); err != nil {
		return cleanup(err)
	}
	if _, err := tmp.Write(t.raw); err != nil {
		return cleanup(err)
	}
	if err := tmp.Sync(); err != nil {
		return cleanup(err)
	}
	if err := tmp.Close(); err != nil {
		return cleanup(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save tokenizer %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		// Without this the rename itself may not survive a crash.
		d.Sync()
		d.Close()
	}
	return nil
}

// JSON returns the tokenizer.json content Save writes.
func (t *Tokenizer) JSON() []byte { return append([]byte(nil), t.raw...) }
