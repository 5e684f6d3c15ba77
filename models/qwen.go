package models

import "encoding/json"

// Qwen2ForCausalLM (Qwen2, Qwen2.5): Llama with biases on the q/k/v
// projections and an optional sliding window on the layers from
// max_window_layers on. Qwen3ForCausalLM: Llama with RMSNorm on each
// query and key head before RoPE (q_norm, k_norm), head_dim 128 by
// default, biases only with attention_bias, the same optional window.
func init() {
	register("Qwen2ForCausalLM", architecture{
		parse: func(raw []byte) (Config, error) {
			h := qwenDefaults()
			if err := json.Unmarshal(raw, &h); err != nil {
				return Config{}, err
			}
			c, err := h.toConfig()
			c.QKVBias, c.OutBias = true, false
			return c, err
		},
		tensors: func(c Config) []TensorSpec { return blockTensors(c) },
	})
	register("Qwen3ForCausalLM", architecture{
		parse: func(raw []byte) (Config, error) {
			h := qwenDefaults()
			h.HeadDim = intPtr(128)
			if err := json.Unmarshal(raw, &h); err != nil {
				return Config{}, err
			}
			c, err := h.toConfig()
			c.QKNorm = true
			return c, err
		},
		tensors: func(c Config) []TensorSpec { return blockTensors(c) },
	})
}

// qwenConfig is Qwen2Config / Qwen3Config: the window is used only with
// use_sliding_window, on layers i >= max_window_layers.
type qwenConfig struct {
	hfCommon
	UseSlidingWindow bool `json:"use_sliding_window"`
	MaxWindowLayers  int  `json:"max_window_layers"`
}

func qwenDefaults() qwenConfig {
	h := hfDefaults()
	h.VocabSize, h.HiddenSize, h.IntermediateSize, h.NumHiddenLayers, h.NumAttentionHeads, h.NumKeyValueHeads = 151936, 4096, 22016, 32, 32, 32
	h.MaxPositionEmbeddings, h.SlidingWindow = 32768, intPtr(4096)
	return qwenConfig{hfCommon: h, MaxWindowLayers: 28}
}

func (q qwenConfig) toConfig() (Config, error) {
	c, err := q.hfCommon.toConfig(q.HiddenAct)
	if err != nil {
		return c, err
	}
	if !q.UseSlidingWindow {
		return c, nil
	}
	return c, q.setSliding(&c, func(layer int) bool { return layer >= q.MaxWindowLayers })
}
