package models

import (
	"encoding/json"
	"math"
)

// Gemma2ForCausalLM: Gemma plus norms after attention and FFN, soft-capped
// attention and final logits, sliding-window attention on even layers and
// query scaling by query_pre_attn_scalar.
func init() {
	register("Gemma2ForCausalLM", architecture{
		parse: func(raw []byte) (Config, error) {
			var h struct {
				hfCommon
				AttnLogitSoftcapping  *float64 `json:"attn_logit_softcapping"`
				FinalLogitSoftcapping *float64 `json:"final_logit_softcapping"`
				QueryPreAttnScalar    float64  `json:"query_pre_attn_scalar"`
				SlidingWindow         int      `json:"sliding_window"`
			}
			if err := json.Unmarshal(raw, &h); err != nil {
				return Config{}, err
			}
			if h.HiddenActivation == "" && h.HiddenAct == "" {
				h.HiddenActivation = "gelu_pytorch_tanh"
			}
			c, err := h.toConfig(true)
			c.NormPlusOne, c.EmbedScale, c.PostNorms = true, true, true
			c.AttnSoftcap, c.FinalSoftcap = 50, 30 // HF defaults
			if h.AttnLogitSoftcapping != nil {
				c.AttnSoftcap = *h.AttnLogitSoftcapping
			}
			if h.FinalLogitSoftcapping != nil {
				c.FinalSoftcap = *h.FinalLogitSoftcapping
			}
			if h.QueryPreAttnScalar > 0 {
				c.QueryScale = 1 / math.Sqrt(h.QueryPreAttnScalar)
			}
			c.SlidingWindow = h.SlidingWindow
			return c, err
		},
		tensors: func(c Config) []TensorSpec {
			return blockTensors(c, []string{"pre_feedforward_layernorm", "post_feedforward_layernorm"})
		},
	})
}
