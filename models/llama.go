package models

import "encoding/json"

// LlamaForCausalLM: SwiGLU FFN, grouped-query attention, RoPE (rotate-half),
// RMSNorm, tied or untied embeddings.
func init() {
	register("LlamaForCausalLM", architecture{
		parse: func(raw []byte) (Config, error) {
			var h hfCommon
			if err := json.Unmarshal(raw, &h); err != nil {
				return Config{}, err
			}
			return h.toConfig(false)
		},
		tensors: func(c Config) []TensorSpec { return blockTensors(c, nil) },
	})
}
