package trainer

import (
	"fmt"
	"path/filepath"

	"github.com/nrgraph/nrgraph/data"
	"github.com/nrgraph/nrgraph/models/build"
)

// checkCorpusForBuild checks shards against the build they feed, before
// any compute: the tokenizer that made them (when the build records one),
// their vocabulary against the model's embedding, and that they hold at
// least one sequence of seq+1 tokens (inputs and shifted targets). flag
// names the corpus in messages (--new, --eval-orig, ...).
func checkCorpusForBuild(flag string, c *data.Corpus, m *build.Manifest, buildDir string) error {
	if m.TokenizerHash != "" && c.TokenizerHash() != m.TokenizerHash {
		return fmt.Errorf("%s: %s was tokenized with tokenizer %s, but the build's model uses %s: re-run `nrgraph tokenize` with %s",
			flag, c.Shards[0].Path, data.ShortHash(c.TokenizerHash()), data.ShortHash(m.TokenizerHash), filepath.Join(buildDir, build.TokenizerFile))
	}
	for _, s := range c.Shards {
		if vocab := m.Extension.ExtendedVocab(m.Config); s.Index.VocabSize > vocab {
			return fmt.Errorf("%s: %s was tokenized with a vocabulary of %d, larger than the model's vocab_size %d (with the build's new tokens): wrong tokenizer; re-run `nrgraph tokenize` with %s",
				flag, s.Path, s.Index.VocabSize, vocab, filepath.Join(buildDir, build.TokenizerFile))
		}
	}
	if c.Bytes() == 0 {
		return fmt.Errorf("%s: %d tokens but no text (bytes 0 in every index): only empty documents; tokenize text that has some",
			flag, c.Len())
	}
	if need := int64(m.Seq) + 1; c.Len() < need {
		return fmt.Errorf("%s: %d tokens, fewer than one sequence of %d (the build's --seq %d, plus the shifted target): tokenize more text",
			flag, c.Len(), need, m.Seq)
	}
	return nil
}

// openCorpora opens and checks every corpus of the run (training and
// held-out) before any compute.
func (t *Trainer) openCorpora() error {
	open := func(flag string, paths []string) (*data.Corpus, error) {
		c, err := data.OpenCorpus(paths)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		if err := checkCorpusForBuild(flag, c, t.Manifest, t.Cfg.Build); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	if t.Manifest.TokenizerHash == "" && t.Log != nil {
		fmt.Fprintf(t.Log, "note: build %s records no tokenizer (built with --no-tokenizer): shards are checked by vocabulary size only\n", t.Cfg.Build)
	}
	var err error
	if t.newC, err = open("--new", t.Cfg.New); err != nil {
		return err
	}
	if t.Cfg.P > 0 {
		if t.origC, err = open("--orig", t.Cfg.Orig); err != nil {
			return err
		}
	}
	t.evalSets = map[string]*data.Corpus{}
	for _, set := range []struct {
		name  string
		paths []string
	}{{"new", t.Cfg.EvalNew}, {"orig", t.Cfg.EvalOrig}} {
		if len(set.paths) == 0 {
			continue
		}
		c, err := open("--eval-"+set.name, set.paths)
		if err != nil {
			return err
		}
		t.evalSets[set.name] = c
		if c.TokenizerHash() != t.newC.TokenizerHash() {
			return fmt.Errorf("--eval-%s: %s was tokenized with tokenizer %s, but --new with %s: re-run `nrgraph tokenize` with the same tokenizer.json",
				set.name, c.Shards[0].Path, data.ShortHash(c.TokenizerHash()), data.ShortHash(t.newC.TokenizerHash()))
		}
	}
	return nil
}
