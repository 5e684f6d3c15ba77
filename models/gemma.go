package models

import "encoding/json"

// GemmaForCausalLM: GeGLU (tanh GELU), RMSNorm scaling by (1 + w),
// embeddings scaled by sqrt(d), head_dim 256, multi-query attention, tied
// embeddings.
func init() {
	register("GemmaForCausalLM", architecture{
		parse: func(raw []byte) (Config, error) {
			h := gemmaDefaults()
			h.VocabSize, h.HiddenSize, h.IntermediateSize, h.NumHiddenLayers, h.NumAttentionHeads, h.NumKeyValueHeads = 256000, 3072, 24576, 28, 16, 16
			if err := json.Unmarshal(raw, &h); err != nil {
				return Config{}, err
			}
			// transformers' GemmaMLP reads hidden_activation and, when it
			// is unset, ignores hidden_act (the original checkpoints'
			// "gelu") for the tanh approximation they were trained with.
			c, err := h.toConfig(h.HiddenActivation)
			c.NormPlusOne, c.EmbedScale = true, true
			return c, err
		},
		tensors: func(c Config) []TensorSpec { return blockTensors(c) },
	})
}

// gemmaDefaults is what the Gemma config classes share: head_dim 256,
// 8192 positions, tied embeddings, tanh GELU read from hidden_activation.
func gemmaDefaults() hfCommon {
	h := hfDefaults()
	h.HeadDim, h.MaxPositionEmbeddings, h.TieWordEmbeddings, h.HiddenActivation = intPtr(256), 8192, true, "gelu_pytorch_tanh"
	return h
}
