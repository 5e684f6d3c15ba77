package models

import (
	"encoding/json"
	"fmt"
)

// Gemma3ForCausalLM: Gemma 2 without soft-capping (unless configured),
// with RMSNorm on each query and key head (q_norm, k_norm), and a pattern
// of sliding_window_pattern - 1 local layers per global one; local layers
// use RoPE base rope_local_base_freq unscaled, global ones rope_theta with
// rope_scaling. Gemma3ForConditionalGeneration: the same language model,
// configured under text_config and stored under a prefix beside the
// vision tower (which nrgraph leaves alone).
func init() {
	register("Gemma3ForCausalLM", architecture{
		parse:   parseGemma3Text,
		tensors: gemma3Tensors,
	})
	register("Gemma3ForConditionalGeneration", architecture{
		parse: func(raw []byte) (Config, error) {
			var outer struct {
				TextConfig json.RawMessage `json:"text_config"`
				TorchDType string          `json:"torch_dtype"`
			}
			if err := json.Unmarshal(raw, &outer); err != nil {
				return Config{}, err
			}
			text := outer.TextConfig
			if isJSONNull(text) {
				text = json.RawMessage(`{}`) // HF: the default Gemma3TextConfig
			}
			c, err := parseGemma3Text(text)
			if err != nil {
				return c, fmt.Errorf("text_config: %w", err)
			}
			if c.DType == "" {
				c.DType = outer.TorchDType
			}
			return c, nil
		},
		tensors:  gemma3Tensors,
		prefixes: []tensorPrefix{{"language_model.model.", "language_model.lm_head."}, {"model.language_model.", "lm_head."}},
	})
}

func gemma3Tensors(c Config) []TensorSpec {
	return blockTensors(c, "pre_feedforward_layernorm", "post_feedforward_layernorm")
}

// gemma3Config is Gemma3TextConfig.
type gemma3Config struct {
	gemma2Config
	RopeLocalBaseFreq    float64 `json:"rope_local_base_freq"`
	SlidingWindowPattern int     `json:"sliding_window_pattern"`
}

func parseGemma3Text(raw []byte) (Config, error) {
	h := gemma3Config{gemma2Config: gemma2Config{hfCommon: gemmaDefaults(), QueryPreAttnScalar: floatPtr(256)}, RopeLocalBaseFreq: 10000, SlidingWindowPattern: 6}
	h.VocabSize, h.HiddenSize, h.IntermediateSize, h.NumHiddenLayers, h.NumAttentionHeads, h.NumKeyValueHeads = 262208, 2304, 9216, 26, 8, 4
	h.MaxPositionEmbeddings, h.RopeTheta, h.SlidingWindow = 131072, 1e6, intPtr(4096)
	if err := json.Unmarshal(raw, &h); err != nil {
		return Config{}, err
	}
	// transformers 5.x: rope_parameters per layer type.
	var perType map[string]json.RawMessage
	if !isJSONNull(h.RopeParameters) && json.Unmarshal(h.RopeParameters, &perType) == nil && perType["full_attention"] != nil {
		local, err := parseRopeScaling("rope_parameters.sliding_attention", perType["sliding_attention"], h.MaxPositionEmbeddings)
		if err != nil {
			return Config{}, err
		}
		if local.scaling.Type != RopeDefault {
			return Config{}, fmt.Errorf("rope_parameters.sliding_attention: type %q is not supported for local layers (default only)", local.scaling.Type)
		}
		if local.theta != nil {
			h.RopeLocalBaseFreq = *local.theta
		}
		h.RopeParameters = perType["full_attention"]
	}
	if h.SlidingWindowPattern <= 0 {
		return Config{}, fmt.Errorf("sliding_window_pattern must be positive, got %d", h.SlidingWindowPattern)
	}
	pattern := h.SlidingWindowPattern
	local := func(layer int) bool { return (layer+1)%pattern != 0 }
	window := h.SlidingWindow
	h.SlidingWindow = nil // the window is set below: local layers keep their RoPE base without one
	c, err := h.gemma2Config.toConfig(local)
	if err != nil {
		return c, err
	}
	c.QKNorm, c.LocalRopeTheta = true, h.RopeLocalBaseFreq
	if c.SlidingLayers, err = h.slidingLayers(c.Layers, local); err != nil {
		return c, err
	}
	if window != nil && *window > 0 {
		c.SlidingWindow = *window
	}
	return c, nil
}
