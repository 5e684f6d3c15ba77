package models

import (
	"encoding/json"
	"fmt"
	"math"
)

// Gemma2ForCausalLM: Gemma plus norms after attention and FFN, soft-capped
// attention and final logits, sliding-window attention on even layers and
// query scaling by query_pre_attn_scalar.
func init() {
	register("Gemma2ForCausalLM", architecture{
		parse: func(raw []byte) (Config, error) {
			h := gemma2Config{hfCommon: gemmaDefaults(), AttnLogitSoftcapping: floatPtr(50), FinalLogitSoftcapping: floatPtr(30), QueryPreAttnScalar: floatPtr(256)}
			h.VocabSize, h.HiddenSize, h.IntermediateSize, h.NumHiddenLayers, h.NumAttentionHeads, h.NumKeyValueHeads = 256000, 2304, 9216, 26, 8, 4
			h.SlidingWindow = intPtr(4096)
			if err := json.Unmarshal(raw, &h); err != nil {
				return Config{}, err
			}
			return h.toConfig(func(layer int) bool { return layer%2 == 0 })
		},
		tensors: func(c Config) []TensorSpec {
			return blockTensors(c, "pre_feedforward_layernorm", "post_feedforward_layernorm")
		},
	})
}

// gemma2Config is the Gemma 2 / Gemma 3 fields beyond the common ones; a
// null soft-capping disables it (HF reads None).
type gemma2Config struct {
	hfCommon
	AttnLogitSoftcapping  *float64 `json:"attn_logit_softcapping"`
	FinalLogitSoftcapping *float64 `json:"final_logit_softcapping"`
	QueryPreAttnScalar    *float64 `json:"query_pre_attn_scalar"`
}

func floatPtr(v float64) *float64 { return &v }

// toConfig reads the activation from hidden_activation only (Gemma 2 and
// 3 ignore hidden_act) and sliding tells which layers use the window
// when layer_types is absent.
func (h gemma2Config) toConfig(sliding func(layer int) bool) (Config, error) {
	c, err := h.hfCommon.toConfig(h.HiddenActivation)
	if err != nil {
		return c, err
	}
	c.NormPlusOne, c.EmbedScale, c.PostNorms = true, true, true
	if h.AttnLogitSoftcapping != nil {
		c.AttnSoftcap = *h.AttnLogitSoftcapping
	}
	if h.FinalLogitSoftcapping != nil {
		c.FinalSoftcap = *h.FinalLogitSoftcapping
	}
	if h.QueryPreAttnScalar == nil || *h.QueryPreAttnScalar <= 0 {
		return c, fmt.Errorf("query_pre_attn_scalar must be a positive number (the attention scale is its inverse square root)")
	}
	c.QueryScale = 1 / math.Sqrt(*h.QueryPreAttnScalar)
	return c, h.setSliding(&c, sliding)
}
