package models

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// ModelInfo summarises a model directory for `nrgraph inspect`.
type ModelInfo struct {
	Dir           string         `json:"dir"`
	Config        Config         `json:"config"`
	Params        int64          `json:"params"`
	DTypes        map[string]int `json:"dtypes"` // tensors per dtype
	Files         []string       `json:"files"`
	TokenizerKind string         `json:"tokenizer_kind,omitempty"`
	TokenizerSize int            `json:"tokenizer_vocab,omitempty"`
	Warnings      []string       `json:"warnings,omitempty"`
}

// VocabWarning says what goes wrong when the tokenizer has more ids than
// the model has embedding rows ("" when it has not; fewer is usual, the
// rows beyond are padding).
func VocabWarning(c Config, tokenizerSize int) string {
	if tokenizerSize <= c.Vocab {
		return ""
	}
	return fmt.Sprintf("tokenizer.json has %d ids but config.json's vocab_size is %d: ids %d and up have no embedding row, "+
		"and text that tokenizes to them cannot be trained on or scored (use the model's own tokenizer)", tokenizerSize, c.Vocab, c.Vocab)
}

// Inspect reads a model directory's config, tensor headers and tokenizer.
func Inspect(dir string) (*ModelInfo, error) {
	c, w, err := LoadModelDir(dir)
	if err != nil {
		return nil, err
	}
	info := &ModelInfo{Dir: dir, Config: c, DTypes: map[string]int{}}
	files := map[string]bool{}
	for _, n := range w.Names() {
		d, _ := w.Tensor(n)
		info.Params += d.NumBytes() / int64(d.DType.Size())
		info.DTypes[d.DType.String()]++
		if d.File != nil {
			files[filepath.Base(d.File.Path)] = true
		}
	}
	info.Files = slices.Sorted(maps.Keys(files))
	if raw, err := os.ReadFile(filepath.Join(dir, "tokenizer.json")); err == nil {
		info.TokenizerKind, info.TokenizerSize, err = TokenizerSummary(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "tokenizer.json"), err)
		}
		if w := VocabWarning(c, info.TokenizerSize); w != "" {
			info.Warnings = append(info.Warnings, w)
		}
	}
	return info, nil
}

// TokenizerSummary names a tokenizer.json's kind and counts its vocabulary
// (model vocabulary plus added tokens outside it).
func TokenizerSummary(raw []byte) (kind string, size int, err error) {
	var t struct {
		Model struct {
			Type         string         `json:"type"`
			Vocab        map[string]int `json:"vocab"`
			ByteFallback bool           `json:"byte_fallback"`
		} `json:"model"`
		PreTokenizer *struct {
			Type          string            `json:"type"`
			Pretokenizers []json.RawMessage `json:"pretokenizers"`
		} `json:"pre_tokenizer"`
		AddedTokens []struct {
			ID int `json:"id"`
		} `json:"added_tokens"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return "", 0, err
	}
	maxID := -1
	for _, id := range t.Model.Vocab {
		maxID = max(maxID, id)
	}
	for _, a := range t.AddedTokens {
		maxID = max(maxID, a.ID)
	}
	pre := ""
	if t.PreTokenizer != nil {
		pre = t.PreTokenizer.Type
		for _, p := range t.PreTokenizer.Pretokenizers {
			pre += " " + string(p)
		}
	}
	switch {
	case t.Model.Type == "BPE" && strings.Contains(pre, "ByteLevel"):
		kind = "byte-level BPE"
	case t.Model.Type == "BPE" && t.Model.ByteFallback:
		kind = "SentencePiece-style BPE (byte fallback)"
	case t.Model.Type != "":
		kind = t.Model.Type
	default:
		kind = "unknown"
	}
	return kind, maxID + 1, nil
}

// String renders the summary for humans.
func (m *ModelInfo) String() string {
	c := m.Config
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", m.Dir)
	fmt.Fprintf(&b, "  architecture  %s\n", c.Arch)
	fmt.Fprintf(&b, "  layers        %d\n", c.Layers)
	fmt.Fprintf(&b, "  hidden        %d (FFN %d, %s)\n", c.Hidden, c.Intermediate, c.Act)
	fmt.Fprintf(&b, "  attention     %d heads x %d, %d KV heads, RoPE θ=%g%s, max positions %d\n", c.Heads, c.HeadDim, c.KVHeads, c.RopeTheta, ropeSummary(c), c.MaxPositions)
	if extras := attentionExtras(c); extras != "" {
		fmt.Fprintf(&b, "                %s\n", extras)
	}
	fmt.Fprintf(&b, "  vocabulary    %d (embeddings %s)\n", c.Vocab, map[bool]string{true: "tied", false: "untied"}[c.Tied])
	fmt.Fprintf(&b, "  parameters    %d\n", m.Params)
	dts := make([]string, 0, len(m.DTypes))
	for dt, n := range m.DTypes {
		dts = append(dts, fmt.Sprintf("%s x%d", dt, n))
	}
	sort.Strings(dts)
	fmt.Fprintf(&b, "  weights       %s in %s\n", strings.Join(dts, ", "), strings.Join(m.Files, ", "))
	if m.TokenizerKind != "" {
		fmt.Fprintf(&b, "  tokenizer     %s, %d tokens\n", m.TokenizerKind, m.TokenizerSize)
	}
	for _, w := range m.Warnings {
		fmt.Fprintf(&b, "  warning: %s\n", w)
	}
	return b.String()
}

func ropeSummary(c Config) string {
	r := c.RopeScaling
	s := ""
	switch r.Type {
	case RopeLinear, RopeDynamic:
		s = fmt.Sprintf(" (%s x%g)", r.Type, r.Factor)
	case RopeLlama3, RopeYarn:
		s = fmt.Sprintf(" (%s x%g, original %d)", r.Type, r.Factor, r.OriginalMaxPositions)
	}
	if c.LocalRopeTheta > 0 {
		s += fmt.Sprintf(", local layers θ=%g", c.LocalRopeTheta)
	}
	return s
}

// attentionExtras lists what sets the attention apart from plain Llama.
func attentionExtras(c Config) string {
	var parts []string
	if c.SlidingWindow > 0 {
		n := 0
		for _, s := range c.SlidingLayers {
			if s {
				n++
			}
		}
		parts = append(parts, fmt.Sprintf("sliding window %d on %d of %d layers", c.SlidingWindow, n, c.Layers))
	}
	if c.QKVBias {
		parts = append(parts, "q/k/v biases")
	}
	if c.OutBias {
		parts = append(parts, "output bias")
	}
	if c.QKNorm {
		parts = append(parts, "q/k norms")
	}
	if c.AttnSoftcap > 0 {
		parts = append(parts, fmt.Sprintf("logit soft-cap %g", c.AttnSoftcap))
	}
	if c.TensorPrefix != "" {
		parts = append(parts, fmt.Sprintf("language model under %q", c.TensorPrefix))
	}
	return strings.Join(parts, ", ")
}
