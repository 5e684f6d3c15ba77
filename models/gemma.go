package models

import "encoding/json"

// GemmaForCausalLM: GeGLU (tanh GELU), RMSNorm scaling by (1 + w),
// embeddings scaled by sqrt(d), head_dim 256, multi-query attention, tied
// embeddings.
func init() {
	register("GemmaForCausalLM", architecture{
		parse: func(raw []byte) (Config, error) {
			var h hfCommon
			if err := json.Unmarshal(raw, &h); err != nil {
				return Config{}, err
			}
			if h.HiddenActivation == "" && h.HiddenAct == "" {
				h.HiddenActivation = "gelu_pytorch_tanh"
			}
			c, err := h.toConfig(true)
			c.NormPlusOne, c.EmbedScale = true, true
			return c, err
		},
		tensors: func(c Config) []TensorSpec { return blockTensors(c, nil) },
	})
}
