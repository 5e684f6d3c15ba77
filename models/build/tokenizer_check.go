package build

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/tokenizer"
)

// noTokenizerHint is the way out when a model directory has no usable
// tokenizer.json, with what it costs.
const noTokenizerHint = "pass --no-tokenizer to build without one (then `nrgraph train` cannot tell shards of another tokenizer apart, and `nrgraph eval` cannot score text)"

// CheckTokenizer parses a tokenizer.json (path names it in messages) and
// checks it fits the model: every id it produces must index the embedding
// (at most vocab_size ids), and it must cover most of the embedding
// (models pad vocab_size to a round number, by a few percent at most), or
// it is the tokenizer of another model.
func CheckTokenizer(path string, raw []byte, cfg models.Config) error {
	tok, err := tokenizer.LoadBytes(raw)
	if err != nil {
		return fmt.Errorf("%s: %w (not a Hugging Face tokenizer.json?); %s", path, err, noTokenizerHint)
	}
	n := tok.VocabSize()
	switch {
	case n == 0:
		return fmt.Errorf("%s: the tokenizer has no tokens; %s", path, noTokenizerHint)
	case n > cfg.Vocab:
		return fmt.Errorf("%s: the tokenizer has %d ids, more than the model's vocab_size %d in config.json: it belongs to another model",
			path, n, cfg.Vocab)
	case int64(n)*8 < int64(cfg.Vocab)*7:
		return fmt.Errorf("%s: the tokenizer has %d ids but the model's vocab_size is %d (more than 1/8 of the embedding unused): it belongs to another model",
			path, n, cfg.Vocab)
	}
	return nil
}

// readBuildTokenizer reads and checks DIR/tokenizer.json for a build;
// nil without error only when noTokenizer allows its absence.
func readBuildTokenizer(modelDir string, cfg models.Config, noTokenizer bool) ([]byte, error) {
	path := filepath.Join(modelDir, TokenizerFile)
	if noTokenizer {
		return nil, nil
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s is missing: a build records the tokenizer so that shards from another one are refused; %s", path, noTokenizerHint)
	}
	if err != nil {
		return nil, err
	}
	return raw, CheckTokenizer(path, raw, cfg)
}

// extendVocab checks the options' extended tokenizer against the model's
// (raw, already checked against cfg) and returns it with each new token's
// pieces: its ids under the model's tokenizer.
func (o BuildOptions) extendVocab(raw []byte, cfg models.Config) ([]byte, [][]int, error) {
	if raw == nil {
		return nil, nil, fmt.Errorf("vocabulary extension needs the model's tokenizer.json to extend: drop --no-tokenizer")
	}
	if o.Ext.NewTokens > 0 {
		return nil, nil, fmt.Errorf("give the new tokens by an extended tokenizer, not a count: --extend-vocab learns them, --extend-tokenizer reads them")
	}
	old, err := tokenizer.LoadBytes(raw)
	if err != nil {
		return nil, nil, err
	}
	ext, err := tokenizer.LoadBytes(o.ExtendedTokenizer)
	if err != nil {
		return nil, nil, fmt.Errorf("extended tokenizer: %w (not a Hugging Face tokenizer.json?)", err)
	}
	x, err := tokenizer.CheckExtension(old, ext, cfg.Vocab)
	if err != nil {
		return nil, nil, err
	}
	return o.ExtendedTokenizer, x.Pieces, nil
}
