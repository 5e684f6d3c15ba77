package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/nrgraph/nrgraph/data"
	"github.com/nrgraph/nrgraph/models/tokenizer"
)

// vocabFlags are build's vocabulary extension: new tokens learned on
// new-language text, or an extended tokenizer.json given.
type vocabFlags struct {
	newTokens       int
	corpus, protect []string
	field           string
	scope           tokenizer.ExtendScope
	tokenizer       string
}

func (v *vocabFlags) register(fs *pflag.FlagSet) {
	fs.IntVar(&v.newTokens, "extend-vocab", 0, "add N new-language tokens to the vocabulary, learned as BPE merges on --extend-vocab-corpus after the tokenizer's own, each with a trainable embedding (and, untied, output) row initialised as the mean of the rows of the pieces it replaces; counted in --capacity. Byte-level BPE tokenizers only")
	fs.StringSliceVar(&v.corpus, "extend-vocab-corpus", nil, "new-language text to learn --extend-vocab's tokens on (.txt, or .jsonl with --extend-vocab-field; repeatable or comma-separated)")
	fs.StringSliceVar(&v.protect, "extend-vocab-protect", nil, "original-domain text (e.g. English) whose token ids must not change: merges of pairs it has are not learned (.txt or .jsonl)")
	fs.StringVar(&v.field, "extend-vocab-field", "text", "JSONL field of --extend-vocab-corpus and --extend-vocab-protect")
	v.scope = tokenizer.ExtendNonASCII
	enumVar(fs, &v.scope, "extend-vocab-scope", tokenizer.ExtendScopes, "which merges --extend-vocab may learn: non-ascii (only tokens with a non-ASCII byte: every ASCII word provably keeps its ids) or all (more new-language tokens; other text may change too, see --extend-vocab-protect)")
	fs.StringVar(&v.tokenizer, "extend-tokenizer", "", "an extended tokenizer.json to use instead of --extend-vocab: the model's tokens at their ids, its merges first, new tokens from the model's vocab_size on")
}

// extendedTokenizer is the extended tokenizer.json the flags ask for (nil:
// no vocabulary extension).
func (v *vocabFlags) extendedTokenizer(modelDir string) ([]byte, error) {
	switch {
	case v.tokenizer != "" && v.newTokens != 0:
		return nil, fmt.Errorf("--extend-vocab learns new tokens and --extend-tokenizer gives them: use one")
	case v.tokenizer != "":
		return os.ReadFile(v.tokenizer)
	case v.newTokens == 0:
		if len(v.corpus) > 0 {
			return nil, fmt.Errorf("--extend-vocab-corpus without --extend-vocab N: say how many tokens to add")
		}
		return nil, nil
	case len(v.corpus) == 0:
		return nil, fmt.Errorf("--extend-vocab %d needs --extend-vocab-corpus: new-language text to learn the tokens on", v.newTokens)
	}
	tok, err := data.ExtendTokenizer(modelDir, v.corpus, v.field, tokenizer.ExtendOptions{NewTokens: v.newTokens, Scope: v.scope, Protect: v.protect})
	if err != nil {
		return nil, err
	}
	return tok.JSON(), nil
}
