package experiments

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/nrgraph/nrgraph/data"
	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/models/tokenizer"
)

// shardTokenizer is the tokenizer the corpora are tokenized with: the
// extended one when the runs extend the vocabulary (shard names hold its
// hash, so shards of both coexist in Work).
func (d ExperimentData) shardTokenizer() (*tokenizer.File, error) {
	path := filepath.Join(d.Model, build.TokenizerFile)
	if d.ExtendedTokenizer != "" {
		path = d.ExtendedTokenizer
	}
	tok, err := tokenizer.LoadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--model %s: %w", d.Model, err)
	}
	return tok, nil
}

// extendedTokenizerBytes is the tokenizer.json a build extends its
// vocabulary with (nil: none).
func (d ExperimentData) extendedTokenizerBytes() ([]byte, error) {
	if d.ExtendedTokenizer == "" {
		return nil, nil
	}
	return os.ReadFile(d.ExtendedTokenizer)
}

// ExtendVocab learns newTokens tokens on the new language's training text
// on top of the backbone's tokenizer (`nrgraph build --extend-vocab`) and
// writes the extended tokenizer.json, with the backbone's
// tokenizer_config.json beside it, under work; it returns its path.
func ExtendVocab(model string, text Corpus, work string, newTokens int, scope tokenizer.ExtendScope) (string, error) {
	textHash, err := contentHash(text)
	if err != nil {
		return "", err
	}
	mh, err := modelHash(model)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(work, fmt.Sprintf("tokenizer-%s-vocab%d-%s-%s", text.Name, newTokens, scope, hashStrings(mh, textHash)[:12]))
	path := filepath.Join(dir, build.TokenizerFile)
	if _, err := os.Stat(path); err == nil {
		return path, nil // learned before: learning is deterministic
	}
	tok, err := data.ExtendTokenizer(model, []string{text.Path}, "text",
		tokenizer.ExtendOptions{NewTokens: newTokens, Scope: scope})
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if conf, err := os.ReadFile(filepath.Join(model, build.TokenizerConfigFile)); err == nil {
		if err := build.WriteFileAtomic(filepath.Join(dir, build.TokenizerConfigFile), conf); err != nil {
			return "", err
		}
	}
	return path, tok.Save(path)
}
