package models

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// hfCommon is the config.json fields shared by the Llama family. An
// architecture fills it with its HF config class's defaults before
// unmarshalling, so an absent field takes HF's default; pointer fields are
// the ones where an explicit null means something else (HF reads None).
type hfCommon struct {
	VocabSize             int     `json:"vocab_size"`
	HiddenSize            int     `json:"hidden_size"`
	IntermediateSize      int     `json:"intermediate_size"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	NumKeyValueHeads      int     `json:"num_key_value_heads"` // 0 or null: one per query head
	HeadDim               *int    `json:"head_dim"`            // nil: hidden_size / num_attention_heads
	RMSNormEps            float64 `json:"rms_norm_eps"`
	RopeTheta             float64 `json:"rope_theta"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"`
	TieWordEmbeddings     bool    `json:"tie_word_embeddings"`
	HiddenAct             string  `json:"hidden_act"`
	HiddenActivation      string  `json:"hidden_activation"`
	TorchDType            string  `json:"torch_dtype"`
	AttentionBias         bool    `json:"attention_bias"`
	MLPBias               bool    `json:"mlp_bias"`
	// RopeScaling is the transformers 4.x key; RopeParameters the 5.x one
	// (which also carries rope_theta).
	RopeScaling    json.RawMessage `json:"rope_scaling"`
	RopeParameters json.RawMessage `json:"rope_parameters"`
	// SlidingWindow and LayerTypes are read by the architectures with
	// sliding-window layers; nil SlidingWindow: no window.
	SlidingWindow *int     `json:"sliding_window"`
	LayerTypes    []string `json:"layer_types"`
	// Read only to refuse: they change the math and are not built.
	PartialRotaryFactor       *float64 `json:"partial_rotary_factor"`
	UseBidirectionalAttention bool     `json:"use_bidirectional_attention"`
}

// hfDefaults is the defaults every HF config class shares; an
// architecture overrides the ones its class sets differently.
func hfDefaults() hfCommon {
	return hfCommon{RMSNormEps: 1e-6, RopeTheta: 10000, HiddenAct: "silu"}
}

func intPtr(v int) *int { return &v }

// maxLayers bounds num_hidden_layers before anything is sized by it (as
// Config.Validate does afterwards).
const maxLayers = 10_000

// toConfig maps the common fields onto Config; act is the HF activation
// name the architecture reads (hidden_act or hidden_activation).
func (h hfCommon) toConfig(act string) (Config, error) {
	if h.MLPBias {
		return Config{}, fmt.Errorf("mlp_bias: true is not supported (the FFN projections would need biases)")
	}
	if h.PartialRotaryFactor != nil && *h.PartialRotaryFactor != 1 {
		return Config{}, fmt.Errorf("partial_rotary_factor %g is not supported (RoPE on every head dimension only)", *h.PartialRotaryFactor)
	}
	if h.UseBidirectionalAttention {
		return Config{}, fmt.Errorf("use_bidirectional_attention: true is not supported (causal decoders only)")
	}
	c := Config{
		Vocab: h.VocabSize, Hidden: h.HiddenSize, Intermediate: h.IntermediateSize, Layers: h.NumHiddenLayers,
		Heads: h.NumAttentionHeads, KVHeads: h.NumKeyValueHeads, RMSEps: h.RMSNormEps,
		RopeTheta: h.RopeTheta, MaxPositions: h.MaxPositionEmbeddings, Tied: h.TieWordEmbeddings, DType: h.TorchDType,
		QKVBias: h.AttentionBias, OutBias: h.AttentionBias,
	}
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if h.HeadDim != nil && *h.HeadDim > 0 {
		c.HeadDim = *h.HeadDim
	} else if c.Heads > 0 {
		c.HeadDim = c.Hidden / c.Heads
	}
	var err error
	if c.Act, err = hfActivation(act); err != nil {
		return Config{}, err
	}
	if c.HeadDim > 0 {
		c.QueryScale = 1 / math.Sqrt(float64(c.HeadDim))
	}
	rope, err := h.rope()
	if err != nil {
		return Config{}, err
	}
	if rope.theta != nil {
		c.RopeTheta = *rope.theta
	}
	c.RopeScaling = rope.scaling
	if o := c.RopeScaling.OriginalMaxPositions; c.RopeScaling.Type == RopeDynamic && o > 0 && o < c.MaxPositions {
		// Dynamic NTK scaling changes nothing up to the original context;
		// past it the frequencies depend on the sequence length, which
		// fixed RoPE tables cannot follow, so sequences stop there.
		c.MaxPositions = o
	}
	return c, nil
}

// rope reads rope_scaling, or rope_parameters when a transformers 5.x
// config has it instead.
func (h hfCommon) rope() (ropeSpec, error) {
	if isJSONNull(h.RopeParameters) {
		return parseRopeScaling("rope_scaling", h.RopeScaling, h.MaxPositionEmbeddings)
	}
	return parseRopeScaling("rope_parameters", h.RopeParameters, h.MaxPositionEmbeddings)
}

func isJSONNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

// hfActivation maps HF's ACT2FN names onto the activations nrgraph builds.
func hfActivation(name string) (Act, error) {
	switch name {
	case "silu", "swish":
		return ActSiLU, nil
	case "gelu":
		return ActGELU, nil
	case "gelu_pytorch_tanh", "gelu_new":
		return ActGELUTanh, nil
	}
	return "", fmt.Errorf("activation %q is not supported (silu, swish, gelu, gelu_pytorch_tanh, gelu_new)", name)
}

// slidingLayers returns which layers use the sliding window: layer_types
// when the config lists them, else the architecture's rule.
func (h hfCommon) slidingLayers(layers int, rule func(layer int) bool) ([]bool, error) {
	if layers <= 0 || layers > maxLayers {
		return nil, fmt.Errorf("num_hidden_layers must be in [1, %d], got %d", maxLayers, layers)
	}
	out := make([]bool, layers)
	if h.LayerTypes != nil {
		if len(h.LayerTypes) != layers {
			return nil, fmt.Errorf("layer_types has %d entries for num_hidden_layers %d", len(h.LayerTypes), layers)
		}
		for i, t := range h.LayerTypes {
			switch t {
			case "sliding_attention":
				out[i] = true
			case "full_attention":
			default:
				return nil, fmt.Errorf("layer_types[%d] %q is not supported (sliding_attention, full_attention)", i, t)
			}
		}
		return out, nil
	}
	for i := range out {
		out[i] = rule(i)
	}
	return out, nil
}

// setSliding fills c's window from sliding_window (nil: none) and the
// layer rule.
func (h hfCommon) setSliding(c *Config, rule func(layer int) bool) error {
	if h.SlidingWindow == nil || *h.SlidingWindow <= 0 {
		return nil
	}
	layers, err := h.slidingLayers(c.Layers, rule)
	if err != nil {
		return err
	}
	for _, s := range layers {
		if s {
			c.SlidingWindow, c.SlidingLayers = *h.SlidingWindow, layers
			return nil
		}
	}
	return nil
}
