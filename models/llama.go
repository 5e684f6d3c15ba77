package models

import "encoding/json"

// LlamaForCausalLM: SwiGLU FFN, grouped-query attention, RoPE (rotate-half,
// optionally llama3/linear/dynamic-scaled), RMSNorm, tied or untied
// embeddings, optional attention biases (attention_bias).
func init() {
	register("LlamaForCausalLM", architecture{
		parse: func(raw []byte) (Config, error) {
			// LlamaConfig's defaults.
			h := hfDefaults()
			h.VocabSize, h.HiddenSize, h.IntermediateSize, h.NumHiddenLayers, h.NumAttentionHeads = 32000, 4096, 11008, 32, 32
			h.MaxPositionEmbeddings = 2048
			if err := json.Unmarshal(raw, &h); err != nil {
				return Config{}, err
			}
			return h.toConfig(h.HiddenAct)
		},
		tensors: func(c Config) []TensorSpec { return blockTensors(c) },
	})
}
