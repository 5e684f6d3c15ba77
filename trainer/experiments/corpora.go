package experiments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/nrgraph/nrgraph/data"
	"github.com/nrgraph/nrgraph/models/tokenizer"
)

// Corpus is one named text corpus of an experiment, given on the command
// line as NAME=PATH: PATH is a .jsonl file (field "text"), a .txt file
// (one document) or a directory of those, as `nrgraph tokenize` reads.
type Corpus struct {
	// Name heads the corpus's table column and plot axis.
	Name string `json:"name"`
	Path string `json:"path"`
	// Flag is where the corpus came from (--forget, ...), so errors name it.
	Flag string `json:"-"`
}

// corpusName keeps names safe in file names, table headers and JSON keys.
var corpusName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ParseCorpus reads a NAME=PATH flag value. It splits at the first '=' only,
// so paths may hold '=' and ':' (a colon separator would break on them).
func ParseCorpus(flag, value string) (Corpus, error) {
	name, path, ok := strings.Cut(value, "=")
	if !ok || path == "" {
		return Corpus{}, fmt.Errorf("%s %q: want NAME=PATH, e.g. %s en-news=/data/news.jsonl", flag, value, flag)
	}
	if !corpusName.MatchString(name) {
		return Corpus{}, fmt.Errorf("%s %q: name %q must start with a letter or digit and hold only letters, digits, '.', '_' and '-'", flag, value, name)
	}
	return Corpus{Name: name, Path: path, Flag: flag}, nil
}

// Corpora are an experiment's data (the paper's Section 4.1 roles).
type Corpora struct {
	// NewTrain is the new language's training text; its name names the
	// language in the plot's title.
	NewTrain Corpus `json:"new_train"`
	// NewHeldOut are held-out texts of the new language: learning.
	NewHeldOut []Corpus `json:"new_heldout"`
	// OrigTrain is original-domain text mixed in at rate p (Wikipedia in
	// the paper); its name names the original language.
	OrigTrain Corpus `json:"orig_train"`
	// Forget are held-out original-language texts from other domains
	// (PubMed in the paper): forgetting.
	Forget []Corpus `json:"forget"`
}

// DemoCorpora are `make corpora`'s sets in dir, as the demo and repro have
// always used them: French man pages and help, English dictionaries mixed
// in, Jane Austen as English from another domain.
func DemoCorpora(dir string) Corpora {
	at := func(flag, name, file string) Corpus {
		return Corpus{Name: name, Path: filepath.Join(dir, file+".jsonl"), Flag: flag}
	}
	return Corpora{NewTrain: at("--new-train", "fr", "fr_train"), NewHeldOut: []Corpus{at("--new-heldout", "fr", "fr_heldout_same")},
		OrigTrain: at("--orig-train", "en", "en_orig"), Forget: []Corpus{at("--forget", "en", "en_heldout")}}
}

// HeldOut lists the scored sets: forgetting first, then learning, the
// order of the table's columns.
func (c Corpora) HeldOut() []Corpus { return append(append([]Corpus{}, c.Forget...), c.NewHeldOut...) }

// all lists every corpus with its role.
func (c Corpora) all() []Corpus {
	return append([]Corpus{c.NewTrain, c.OrigTrain}, c.HeldOut()...)
}

// Check refuses what would fail later or mislabel the table: a missing
// file, no held-out set, or two held-out sets with one name (each heads a
// column, and the JSON results are keyed by it).
func (c Corpora) Check() error {
	if len(c.Forget) == 0 || len(c.NewHeldOut) == 0 {
		return fmt.Errorf("need at least one --forget and one --new-heldout set (NAME=PATH)")
	}
	seen := map[string]Corpus{}
	for _, s := range c.HeldOut() {
		if prev, dup := seen[s.Name]; dup {
			return fmt.Errorf("%s %s=%s and %s %s=%s share the name %q: each held-out set heads its own column, give them different names",
				prev.Flag, prev.Name, prev.Path, s.Flag, s.Name, s.Path, s.Name)
		}
		seen[s.Name] = s
	}
	for _, s := range c.all() {
		if s.Name == "" || s.Path == "" {
			return fmt.Errorf("%s: want NAME=PATH", s.Flag)
		}
		if _, err := data.TextFiles([]string{s.Path}); err != nil {
			hint := ""
			if strings.HasPrefix(s.Path, filepath.Join(".cache", "corpora")) || strings.Contains(s.Path, "/corpora/") {
				hint = " (the demo corpora: run `make corpora` first)"
			}
			return fmt.Errorf("%s %s=%s: %v%s", s.Flag, s.Name, s.Path, err, hint)
		}
	}
	return nil
}

// contentHash fingerprints the text a corpus tokenizes from, so a shard is
// re-made when its source changes and a run's identity covers its data.
func contentHash(c Corpus) (string, error) {
	files, err := data.TextFiles([]string{c.Path})
	if err != nil {
		return "", fmt.Errorf("%s %s=%s: %w", c.Flag, c.Name, c.Path, err)
	}
	h := sha256.New()
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return "", fmt.Errorf("%s %s=%s: %w", c.Flag, c.Name, c.Path, err)
		}
		fmt.Fprintf(h, "%s\x00", filepath.Base(p))
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("%s %s=%s: %w", c.Flag, c.Name, c.Path, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// shardSet is a tokenized corpus: its shard stem and the fingerprint of
// its text and tokenizer (what a run's identity and the score cache use).
type shardSet struct {
	Corpus
	Stem, Hash string
}

// prepareShards tokenizes each corpus with the backbone's tokenizer into
// Work/shards/NAME-HASH, once: the hash covers the text and the tokenizer,
// so a changed file or model gets new shards and stale ones are never read.
func (d ExperimentData) prepareShards(ctx context.Context, tok *tokenizer.File) (map[Corpus]shardSet, error) {
	out := map[Corpus]shardSet{}
	for _, c := range d.Corpora.all() {
		if _, done := out[c]; done {
			continue
		}
		text, err := contentHash(c)
		if err != nil {
			return nil, err
		}
		hash := hashStrings(text, tok.Hash)
		set := shardSet{Corpus: c, Stem: filepath.Join(d.Work, "shards", c.Name+"-"+hash[:12]), Hash: hash}
		out[c] = set
		if _, err := os.Stat(set.Stem + ".json"); err == nil {
			continue
		}
		st, err := data.Tokenize(ctx, data.TokenizeOptions{Inputs: []string{c.Path}, Out: set.Stem, Tokenizer: tok, TokenizerHash: tok.Hash,
			VocabSize: tok.VocabSize(), BOS: tok.BOS, EOS: tok.EOS, Workers: 2})
		if err != nil {
			return nil, fmt.Errorf("%s %s=%s: %w", c.Flag, c.Name, c.Path, err)
		}
		fmt.Fprintf(d.Log, "  tokenized %s %-16s %7d documents, %9d tokens\n", c.Flag, c.Name, st.Documents, st.Tokens)
	}
	return out, nil
}

// hashStrings is the hex sha256 of the strings joined by NUL.
func hashStrings(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%s\x00", p)
	}
	return hex.EncodeToString(h.Sum(nil))
}
