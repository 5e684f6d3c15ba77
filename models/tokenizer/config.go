package tokenizer

import (
	"encoding/json"
	"fmt"
)

// ApplyConfig takes BOS and EOS from a tokenizer_config.json, which
// transformers ranks above the post-processor and the special flags:
// bos_token and eos_token, when present, are the tokenizer's BOS and EOS
// (null: none). A token must be in the vocabulary.
func (t *Tokenizer) ApplyConfig(raw []byte) error {
	var c struct {
		BOS json.RawMessage `json:"bos_token"`
		EOS json.RawMessage `json:"eos_token"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return err
	}
	for _, f := range []struct {
		key string
		raw json.RawMessage
		id  *int
	}{{"bos_token", c.BOS, &t.bos}, {"eos_token", c.EOS, &t.eos}} {
		if f.raw == nil {
			continue
		}
		id, err := t.configToken(f.key, f.raw)
		if err != nil {
			return err
		}
		*f.id = id
	}
	return nil
}

// configToken reads a token given as "text", {"content": "text", ...} or
// null (-1).
func (t *Tokenizer) configToken(key string, raw json.RawMessage) (int, error) {
	if isNull(raw) {
		return -1, nil
	}
	var content string
	if err := json.Unmarshal(raw, &content); err != nil {
		var obj struct {
			Content string `json:"content"`
		}
		if err := json.Unmarshal(raw, &obj); err != nil || obj.Content == "" {
			return -1, fmt.Errorf("%s: want a token string or {\"content\": ...}, got %s", key, raw)
		}
		content = obj.Content
	}
	id, ok := t.TokenID(content)
	if !ok {
		return -1, fmt.Errorf("%s %q is not in the tokenizer's vocabulary", key, content)
	}
	return id, nil
}
