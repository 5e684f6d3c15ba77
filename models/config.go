// Package models turns Hugging Face decoder checkpoints (config.json +
// safetensors) into nrgraph forward graphs: one file per architecture maps
// the HF config and tensor names onto the shared decoder builder.
package models

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Act is a backbone's FFN activation.
type Act string

// The activations.
const (
	// ActSiLU is x·σ(x) (Llama's "silu").
	ActSiLU Act = "silu"
	// ActGELU is exact GELU x·Φ(x) (HF "gelu").
	ActGELU Act = "gelu"
	// ActGELUTanh is GELU's tanh approximation (HF "gelu_pytorch_tanh",
	// "gelu_new").
	ActGELUTanh Act = "gelu_tanh"
)

// Config is the architecture-independent description of a decoder. Each
// architecture's loader fills it from its config.json; the decoder builder
// reads only this.
type Config struct {
	Arch         string // the HF "architectures" entry, e.g. LlamaForCausalLM
	Vocab        int
	Hidden       int // d
	Intermediate int // FFN hidden size
	Layers       int
	Heads        int
	KVHeads      int
	HeadDim      int
	RMSEps       float64
	RopeTheta    float64
	MaxPositions int
	Tied         bool // lm_head shares the embedding matrix
	Act          Act  // FFN activation
	// RopeScaling rescales the RoPE frequencies (of the global layers
	// when LocalRopeTheta is set).
	RopeScaling RopeScaling `json:",omitempty"`
	// LocalRopeTheta is the RoPE base of the sliding-window layers, which
	// then use no scaling (Gemma 3); 0: every layer uses RopeTheta.
	LocalRopeTheta float64 `json:",omitempty"`
	// QKVBias: q/k/v projections have biases (Qwen2, Llama attention_bias);
	// OutBias: so does o_proj (Llama attention_bias).
	QKVBias bool `json:",omitempty"`
	OutBias bool `json:",omitempty"`
	// QKNorm: RMSNorm over head_dim on queries and keys before RoPE
	// (Qwen3, Gemma 3), scaled like the other norms (NormPlusOne).
	QKNorm bool `json:",omitempty"`
	// Gemma family.
	NormPlusOne bool // RMSNorm scales by (1 + w)
	EmbedScale  bool // embeddings multiplied by sqrt(d)
	// Gemma 2.
	PostNorms    bool    // extra norms after attention and FFN
	AttnSoftcap  float64 // 0: none
	FinalSoftcap float64 // 0: none
	QueryScale   float64 // multiplier of q·k (1/sqrt(head_dim) by default)
	// SlidingWindow restricts attention to the last SlidingWindow keys
	// (i - j < window) on the layers SlidingLayers marks; 0: none.
	SlidingWindow int
	SlidingLayers []bool `json:",omitempty"`
	// TensorPrefix is where a multimodal checkpoint stores the language
	// model ("language_model.model."); tensors are named here as in a
	// plain causal LM ("model.layers.0...").
	TensorPrefix string `json:",omitempty"`
	// DType is the checkpoint's weight dtype ("float32", "bfloat16", ...).
	DType string
}

// IsSliding reports whether layer uses sliding-window attention.
func (c Config) IsSliding(layer int) bool {
	return c.SlidingWindow > 0 && layer < len(c.SlidingLayers) && c.SlidingLayers[layer]
}

// Validate checks internal consistency.
func (c Config) Validate() error {
	var errs []string
	pos := map[string]int{"vocab_size": c.Vocab, "hidden_size": c.Hidden, "intermediate_size": c.Intermediate,
		"num_hidden_layers": c.Layers, "num_attention_heads": c.Heads, "num_key_value_heads": c.KVHeads, "head_dim": c.HeadDim}
	for _, k := range slices.Sorted(maps.Keys(pos)) {
		if pos[k] <= 0 {
			errs = append(errs, fmt.Sprintf("%s must be positive, got %d", k, pos[k]))
		}
	}
	if c.KVHeads > 0 && c.Heads%c.KVHeads != 0 {
		errs = append(errs, fmt.Sprintf("num_attention_heads %d is not a multiple of num_key_value_heads %d", c.Heads, c.KVHeads))
	}
	if c.HeadDim%2 != 0 {
		errs = append(errs, fmt.Sprintf("head_dim %d must be even for RoPE", c.HeadDim))
	}
	for _, f := range []struct {
		key string
		v   float64
	}{{"rms_norm_eps", c.RMSEps}, {"rope_theta", c.RopeTheta}} {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			errs = append(errs, fmt.Sprintf("%s must be positive and finite, got %g", f.key, f.v))
		}
	}
	if c.MaxPositions <= 0 {
		errs = append(errs, fmt.Sprintf("max_position_embeddings must be positive, got %d", c.MaxPositions))
	}
	// Per-layer and per-head work is looped over, so these are bounded on
	// their own too (the largest real models: ~130 layers, ~260k vocab).
	for _, f := range []struct {
		key      string
		v, limit int
	}{{"num_hidden_layers", c.Layers, maxLayers}, {"num_attention_heads", c.Heads, 10_000}, {"vocab_size", c.Vocab, 1 << 24}} {
		if f.v > f.limit {
			errs = append(errs, fmt.Sprintf("%s %d is above nrgraph's limit of %d (a typo?)", f.key, f.v, f.limit))
		}
	}
	if n := c.numParamsFloat(); n > MaxParams {
		errs = append(errs, fmt.Sprintf("hidden_size %d, intermediate_size %d, num_hidden_layers %d, vocab_size %d make %.3g parameters, above nrgraph's limit of %.0e (a typo?)",
			c.Hidden, c.Intermediate, c.Layers, c.Vocab, n, float64(MaxParams)))
	}
	if c.Act != ActSiLU && c.Act != ActGELU && c.Act != ActGELUTanh {
		errs = append(errs, fmt.Sprintf("activation %q is not supported (%s, %s, %s)", c.Act, ActSiLU, ActGELU, ActGELUTanh))
	}
	if (c.SlidingWindow > 0 || c.LocalRopeTheta > 0) && len(c.SlidingLayers) != c.Layers {
		errs = append(errs, fmt.Sprintf("sliding-window layer pattern has %d entries for %d layers", len(c.SlidingLayers), c.Layers))
	}
	if err := c.RopeScaling.validate(); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid %s config: %s", c.Arch, strings.Join(errs, "; "))
	}
	return nil
}

// MaxParams bounds the backbone's parameter count (the largest open
// decoders are under 1e12), so a mistyped config.json is refused before
// anything is sized by it.
const MaxParams = 1e12

// numParamsFloat is NumParams in float64, which cannot overflow whatever
// the config says.
func (c Config) numParamsFloat() float64 {
	d, f, hd := float64(c.Hidden), float64(c.Intermediate), float64(c.HeadDim)
	block := d*float64(c.Heads)*hd*2 + d*float64(c.KVHeads)*hd*2 + 3*d*f + 4*d
	return float64(c.Layers)*block + 2*float64(c.Vocab)*d + d
}

// NumParams counts the backbone's parameters (embeddings counted once
// when tied).
func (c Config) NumParams() int64 {
	d, f, hd := int64(c.Hidden), int64(c.Intermediate), int64(c.HeadDim)
	attn := d*int64(c.Heads)*hd*2 + d*int64(c.KVHeads)*hd*2
	if c.QKVBias {
		attn += int64(c.Heads+2*c.KVHeads) * hd
	}
	if c.OutBias {
		attn += d
	}
	if c.QKNorm {
		attn += 2 * hd
	}
	norms := int64(2)
	if c.PostNorms {
		norms = 4
	}
	block := attn + 3*d*f + norms*d
	total := int64(c.Layers)*block + int64(c.Vocab)*d + d
	if !c.Tied {
		total += int64(c.Vocab) * d
	}
	return total
}

// architecture parses one HF architecture's config.json and names its
// tensors.
type architecture struct {
	parse func(raw []byte) (Config, error)
	// tensors lists every checkpoint tensor with its [out, in]-style HF shape.
	tensors func(c Config) []TensorSpec
	// prefixes are where multimodal checkpoints store the language model,
	// tried in order; nil: tensors are named as tensors says.
	prefixes []tensorPrefix
}

// TensorSpec is a checkpoint tensor the architecture expects.
type TensorSpec struct {
	Name  string
	Shape []int64
}

var architectures = map[string]architecture{}

// register adds an architecture; duplicates are a programming error.
func register(name string, a architecture) {
	if _, dup := architectures[name]; dup {
		panic("models: duplicate architecture " + name)
	}
	architectures[name] = a
}

// SupportedArchitectures lists the HF architecture strings nrgraph reads.
func SupportedArchitectures() []string { return slices.Sorted(maps.Keys(architectures)) }

// ParseConfig reads a config.json's bytes (path is for messages).
func ParseConfig(path string, raw []byte) (Config, error) {
	var head struct {
		Architectures []string `json:"architectures"`
		ModelType     string   `json:"model_type"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(head.Architectures) == 0 {
		return Config{}, fmt.Errorf("%s: no \"architectures\" entry (supported: %s)", path, strings.Join(SupportedArchitectures(), ", "))
	}
	name := head.Architectures[0]
	arch, ok := architectures[name]
	if !ok {
		return Config{}, fmt.Errorf("%s: unsupported architecture %q (supported: %s)", path, name, strings.Join(SupportedArchitectures(), ", "))
	}
	c, err := arch.parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	c.Arch = name
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// LoadConfig reads DIR/config.json.
func LoadConfig(dir string) (Config, error) {
	path := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read model config: %w", err)
	}
	return ParseConfig(path, raw)
}

// ExpectedTensors lists the checkpoint tensors c's architecture needs.
func ExpectedTensors(c Config) []TensorSpec {
	return architectures[c.Arch].tensors(c)
}

// blockTensors lists the per-layer tensors of the Llama family: the
// projections, their optional biases and q/k norms, the two norms every
// block has and the architecture's extra ones.
func blockTensors(c Config, extraNorms ...string) []TensorSpec {
	d, f, hd := int64(c.Hidden), int64(c.Intermediate), int64(c.HeadDim)
	var out []TensorSpec
	for i := 0; i < c.Layers; i++ {
		p := fmt.Sprintf("model.layers.%d.", i)
		out = append(out,
			TensorSpec{p + "input_layernorm.weight", []int64{d}},
			TensorSpec{p + "post_attention_layernorm.weight", []int64{d}},
			TensorSpec{p + "self_attn.q_proj.weight", []int64{int64(c.Heads) * hd, d}},
			TensorSpec{p + "self_attn.k_proj.weight", []int64{int64(c.KVHeads) * hd, d}},
			TensorSpec{p + "self_attn.v_proj.weight", []int64{int64(c.KVHeads) * hd, d}},
			TensorSpec{p + "self_attn.o_proj.weight", []int64{d, int64(c.Heads) * hd}},
			TensorSpec{p + "mlp.gate_proj.weight", []int64{f, d}},
			TensorSpec{p + "mlp.up_proj.weight", []int64{f, d}},
			TensorSpec{p + "mlp.down_proj.weight", []int64{d, f}},
		)
		if c.QKVBias {
			out = append(out,
				TensorSpec{p + "self_attn.q_proj.bias", []int64{int64(c.Heads) * hd}},
				TensorSpec{p + "self_attn.k_proj.bias", []int64{int64(c.KVHeads) * hd}},
				TensorSpec{p + "self_attn.v_proj.bias", []int64{int64(c.KVHeads) * hd}})
		}
		if c.OutBias {
			out = append(out, TensorSpec{p + "self_attn.o_proj.bias", []int64{d}})
		}
		if c.QKNorm {
			out = append(out, TensorSpec{p + "self_attn.q_norm.weight", []int64{hd}}, TensorSpec{p + "self_attn.k_norm.weight", []int64{hd}})
		}
		for _, n := range extraNorms {
			out = append(out, TensorSpec{p + n + ".weight", []int64{d}})
		}
	}
	out = append(out, TensorSpec{"model.embed_tokens.weight", []int64{int64(c.Vocab), d}}, TensorSpec{"model.norm.weight", []int64{d}})
	if !c.Tied {
		out = append(out, TensorSpec{"lm_head.weight", []int64{int64(c.Vocab), d}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
