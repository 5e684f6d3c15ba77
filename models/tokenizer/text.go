package tokenizer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// Encoder turns text into token ids: what data preparation and scoring need
// of a tokenizer.
type Encoder interface {
	Encode(text string, addSpecial bool) []int
}

// Codec also turns ids back into text: what generation needs.
type Codec interface {
	Encoder
	Decode(ids []int) string
}

// FileHash fingerprints a tokenizer.json's bytes; shards and builds record it
// so that data from another tokenizer is refused.
func FileHash(raw []byte) string {
	h := sha256.Sum256(raw)
	return hex.EncodeToString(h[:])
}

// File is a loaded tokenizer.json with what the data and
// scoring paths need.
type File struct {
	*Tokenizer
	Hash     string // of the file's bytes: shards and builds record it
	BOS, EOS int    // -1 when absent
}

// Decode drops special tokens (what a reader wants).
func (t *File) Decode(ids []int) string { return t.DecodeSkipSpecial(ids) }

// ConfigFileName is the tokenizer_config.json that sits beside a
// tokenizer.json and names its BOS and EOS.
const ConfigFileName = "tokenizer_config.json"

// LoadFile reads a tokenizer.json, and the tokenizer_config.json beside it
// when there is one (it names BOS and EOS, as in transformers).
func LoadFile(path string) (*File, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	tok, err := LoadBytes(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	configPath := filepath.Join(filepath.Dir(path), ConfigFileName)
	if conf, err := os.ReadFile(configPath); err == nil {
		if err := tok.ApplyConfig(conf); err != nil {
			return nil, fmt.Errorf("%s: %w", configPath, err)
		}
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	t := &File{Tokenizer: tok, Hash: FileHash(raw), BOS: -1, EOS: -1}
	if id, ok := tok.BOS(); ok {
		t.BOS = id
	}
	if id, ok := tok.EOS(); ok {
		t.EOS = id
	}
	return t, nil
}
