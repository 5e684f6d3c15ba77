package models

import "encoding/json"

// MistralForCausalLM: Llama with a sliding window on every layer
// (sliding_window, 4096 by default; null: none).
func init() {
	register("MistralForCausalLM", architecture{
		parse: func(raw []byte) (Config, error) {
			// MistralConfig's defaults.
			h := hfDefaults()
			h.VocabSize, h.HiddenSize, h.IntermediateSize, h.NumHiddenLayers, h.NumAttentionHeads, h.NumKeyValueHeads = 32000, 4096, 14336, 32, 32, 8
			h.MaxPositionEmbeddings, h.SlidingWindow = 4096*32, intPtr(4096)
			if err := json.Unmarshal(raw, &h); err != nil {
				return Config{}, err
			}
			c, err := h.toConfig(h.HiddenAct)
			if err != nil {
				return c, err
			}
			return c, h.setSliding(&c, func(int) bool { return true })
		},
		tensors: func(c Config) []TensorSpec { return blockTensors(c) },
	})
}
