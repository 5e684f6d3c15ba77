package models

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParseConfigFollowsHF: real config.json files (abridged to the fields
// that matter) read as transformers reads them: its defaults for absent
// fields, None for nulls.
func TestParseConfigFollowsHF(t *testing.T) {
	everyLocal := func(layers, pattern int) []bool {
		out := make([]bool, layers)
		for i := range out {
			out[i] = (i+1)%pattern != 0
		}
		return out
	}
	for _, tc := range []struct {
		name, json string
		check      func(t *testing.T, c Config)
	}{
		{"Llama-3.2-1B", `{"architectures": ["LlamaForCausalLM"], "attention_bias": false, "head_dim": 64, "hidden_act": "silu", "hidden_size": 2048,
			"intermediate_size": 8192, "max_position_embeddings": 131072, "mlp_bias": false, "num_attention_heads": 32, "num_hidden_layers": 16,
			"num_key_value_heads": 8, "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0,
			"low_freq_factor": 1.0, "original_max_position_embeddings": 8192, "rope_type": "llama3"}, "rope_theta": 500000.0,
			"tie_word_embeddings": true, "torch_dtype": "bfloat16", "vocab_size": 128256}`,
			func(t *testing.T, c Config) {
				assert.Equal(t, RopeScaling{Type: RopeLlama3, Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 8192}, c.RopeScaling)
				assert.Equal(t, 500000.0, c.RopeTheta)
				assert.True(t, c.Tied)
				assert.False(t, c.QKVBias)
				assert.Equal(t, 0, c.SlidingWindow)
			}},
		{"llama gelu is exact GELU, absent fields take LlamaConfig defaults", `{"architectures": ["LlamaForCausalLM"], "hidden_act": "gelu", "hidden_size": 64,
			"num_attention_heads": 4, "attention_bias": true, "rope_scaling": {"type": "linear", "factor": 2}}`,
			func(t *testing.T, c Config) {
				assert.Equal(t, ActGELU, c.Act)
				assert.Equal(t, 16, c.HeadDim)
				assert.Equal(t, 4, c.KVHeads)
				assert.Equal(t, []int{32000, 11008, 32, 2048}, []int{c.Vocab, c.Intermediate, c.Layers, c.MaxPositions})
				assert.Equal(t, 1e-6, c.RMSEps)
				assert.False(t, c.Tied)
				assert.True(t, c.QKVBias && c.OutBias)
				assert.Equal(t, RopeScaling{Type: RopeLinear, Factor: 2}, c.RopeScaling)
			}},
		{"transformers 5 rope_parameters", `{"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "num_attention_heads": 4,
			"rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}`,
			func(t *testing.T, c Config) {
				assert.Equal(t, 500000.0, c.RopeTheta)
				assert.Equal(t, RopeLlama3, c.RopeScaling.Type)
			}},
		{"dynamic NTK stops at the original context", `{"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "num_attention_heads": 4,
			"max_position_embeddings": 8192, "rope_scaling": {"rope_type": "dynamic", "factor": 2.0, "original_max_position_embeddings": 4096}}`,
			func(t *testing.T, c Config) { assert.Equal(t, 4096, c.MaxPositions) }},
		{"Gemma ignores hidden_act", `{"architectures": ["GemmaForCausalLM"], "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 1, "hidden_act": "gelu"}`,
			func(t *testing.T, c Config) { assert.Equal(t, ActGELUTanh, c.Act) }},
		{"Gemma hidden_activation gelu is exact GELU", `{"architectures": ["GemmaForCausalLM"], "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 1,
			"hidden_act": "gelu_pytorch_tanh", "hidden_activation": "gelu"}`,
			func(t *testing.T, c Config) { assert.Equal(t, ActGELU, c.Act) }},
		{"Gemma 2 nulls disable capping; query_pre_attn_scalar and sliding_window default", `{"architectures": ["Gemma2ForCausalLM"], "hidden_size": 64,
			"num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "num_hidden_layers": 3, "attn_logit_softcapping": null, "final_logit_softcapping": null,
			"hidden_act": "gelu"}`,
			func(t *testing.T, c Config) {
				assert.Equal(t, 0.0, c.AttnSoftcap)
				assert.Equal(t, 0.0, c.FinalSoftcap)
				assert.InDelta(t, 1/math.Sqrt(256), c.QueryScale, 1e-15)
				assert.Equal(t, 4096, c.SlidingWindow)
				assert.Equal(t, []bool{true, false, true}, c.SlidingLayers)
				assert.Equal(t, ActGELUTanh, c.Act, "Gemma 2 reads hidden_activation, not hidden_act")
			}},
		{"Gemma 2 absent softcaps are HF's 50 and 30, null window is none", `{"architectures": ["Gemma2ForCausalLM"], "hidden_size": 64,
			"num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2, "sliding_window": null, "query_pre_attn_scalar": 64}`,
			func(t *testing.T, c Config) {
				assert.Equal(t, 50.0, c.AttnSoftcap)
				assert.Equal(t, 30.0, c.FinalSoftcap)
				assert.Equal(t, 256, c.HeadDim)
				assert.Equal(t, 0.125, c.QueryScale)
				assert.Equal(t, 0, c.SlidingWindow)
			}},
		{"Qwen2.5-0.5B", `{"architectures": ["Qwen2ForCausalLM"], "hidden_act": "silu", "hidden_size": 896, "intermediate_size": 4864,
			"max_position_embeddings": 32768, "max_window_layers": 24, "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2,
			"rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": true, "use_sliding_window": false, "vocab_size": 151936}`,
			func(t *testing.T, c Config) {
				assert.True(t, c.QKVBias)
				assert.False(t, c.OutBias)
				assert.Equal(t, 64, c.HeadDim)
				assert.Equal(t, 0, c.SlidingWindow, "use_sliding_window is false")
			}},
		{"Qwen2 window from max_window_layers on", `{"architectures": ["Qwen2ForCausalLM"], "hidden_size": 64, "num_attention_heads": 4,
			"num_key_value_heads": 4, "num_hidden_layers": 3, "use_sliding_window": true, "sliding_window": 16, "max_window_layers": 1}`,
			func(t *testing.T, c Config) {
				assert.Equal(t, 16, c.SlidingWindow)
				assert.Equal(t, []bool{false, true, true}, c.SlidingLayers)
			}},
		{"Qwen3-0.6B", `{"architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "head_dim": 128, "hidden_act": "silu", "hidden_size": 1024,
			"intermediate_size": 3072, "max_position_embeddings": 40960, "max_window_layers": 28, "num_attention_heads": 16, "num_hidden_layers": 28,
			"num_key_value_heads": 8, "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null,
			"tie_word_embeddings": true, "use_sliding_window": false, "vocab_size": 151936}`,
			func(t *testing.T, c Config) {
				assert.True(t, c.QKNorm)
				assert.False(t, c.QKVBias)
				assert.Equal(t, 128, c.HeadDim)
				assert.Equal(t, RopeScaling{}, c.RopeScaling)
			}},
		{"Qwen3 with YaRN as its model card says", `{"architectures": ["Qwen3ForCausalLM"], "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
			"max_position_embeddings": 40960, "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}}`,
			func(t *testing.T, c Config) {
				assert.Equal(t, RopeScaling{Type: RopeYarn, Factor: 4, OriginalMaxPositions: 32768, BetaFast: 32, BetaSlow: 1, Truncate: true,
					AttentionFactor: 0.1*math.Log(4) + 1}, c.RopeScaling)
			}},
		{"YaRN with mscale and defaults from max_position_embeddings", `{"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "num_attention_heads": 4,
			"max_position_embeddings": 4096, "rope_scaling": {"type": "yarn", "factor": 40, "mscale": 1.0, "mscale_all_dim": 0.707, "beta_fast": 16, "truncate": false}}`,
			func(t *testing.T, c Config) {
				assert.Equal(t, 4096, c.RopeScaling.OriginalMaxPositions)
				assert.Equal(t, [3]float64{16, 1, 0}, [3]float64{c.RopeScaling.BetaFast, c.RopeScaling.BetaSlow, map[bool]float64{true: 1}[c.RopeScaling.Truncate]})
				assert.InDelta(t, (0.1*math.Log(40)+1)/(0.1*0.707*math.Log(40)+1), c.RopeScaling.AttentionFactor, 1e-12)
			}},
		{"Qwen3 head_dim defaults to 128", `{"architectures": ["Qwen3ForCausalLM"], "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2}`,
			func(t *testing.T, c Config) { assert.Equal(t, 128, c.HeadDim) }},
		{"Mistral-7B-v0.1", `{"architectures": ["MistralForCausalLM"], "hidden_size": 4096, "intermediate_size": 14336, "num_attention_heads": 32,
			"num_hidden_layers": 2, "num_key_value_heads": 8, "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "sliding_window": 4096, "vocab_size": 32000}`,
			func(t *testing.T, c Config) {
				assert.Equal(t, 4096, c.SlidingWindow)
				assert.Equal(t, []bool{true, true}, c.SlidingLayers)
				assert.Equal(t, 128, c.HeadDim)
			}},
		{"Mistral null window", `{"architectures": ["MistralForCausalLM"], "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 4, "sliding_window": null}`,
			func(t *testing.T, c Config) { assert.Equal(t, 0, c.SlidingWindow) }},
		{"gemma-3-1b", `{"architectures": ["Gemma3ForCausalLM"], "attn_logit_softcapping": null, "final_logit_softcapping": null, "head_dim": 256,
			"hidden_activation": "gelu_pytorch_tanh", "hidden_size": 1152, "intermediate_size": 6912, "max_position_embeddings": 32768,
			"num_attention_heads": 4, "num_hidden_layers": 26, "num_key_value_heads": 1, "query_pre_attn_scalar": 256, "rms_norm_eps": 1e-06,
			"rope_local_base_freq": 10000, "rope_scaling": null, "rope_theta": 1000000, "sliding_window": 512, "sliding_window_pattern": 6, "vocab_size": 262144}`,
			func(t *testing.T, c Config) {
				assert.True(t, c.QKNorm && c.NormPlusOne && c.PostNorms && c.EmbedScale && c.Tied)
				assert.Equal(t, 512, c.SlidingWindow)
				assert.Equal(t, everyLocal(26, 6), c.SlidingLayers)
				assert.Equal(t, 10000.0, c.LocalRopeTheta)
				assert.Equal(t, 1e6, c.RopeTheta)
				assert.Equal(t, 0.0, c.AttnSoftcap+c.FinalSoftcap)
			}},
		{"gemma-3-4b-it (language model of the multimodal checkpoint)", `{"architectures": ["Gemma3ForConditionalGeneration"], "boi_token_index": 255999,
			"text_config": {"hidden_size": 2560, "intermediate_size": 10240, "model_type": "gemma3_text", "num_attention_heads": 8, "num_hidden_layers": 34,
			"num_key_value_heads": 4, "rope_scaling": {"factor": 8.0, "rope_type": "linear"}, "sliding_window": 1024},
			"vision_config": {"hidden_size": 1152, "model_type": "siglip_vision_model"}}`,
			func(t *testing.T, c Config) {
				assert.Equal(t, "Gemma3ForConditionalGeneration", c.Arch)
				assert.Equal(t, []int{262208, 256, 131072}, []int{c.Vocab, c.HeadDim, c.MaxPositions})
				assert.Equal(t, RopeScaling{Type: RopeLinear, Factor: 8}, c.RopeScaling)
				assert.Equal(t, 1e6, c.RopeTheta)
				assert.Equal(t, 1024, c.SlidingWindow)
				assert.Equal(t, everyLocal(34, 6), c.SlidingLayers)
				assert.Equal(t, 0.0625, c.QueryScale)
			}},
		{"Gemma 3 in transformers 5 (layer_types, rope_parameters per type)", `{"architectures": ["Gemma3ForCausalLM"], "hidden_size": 64,
			"num_attention_heads": 4, "num_hidden_layers": 3, "layer_types": ["full_attention", "sliding_attention", "full_attention"], "sliding_window": 8,
			"rope_parameters": {"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0}, "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}}`,
			func(t *testing.T, c Config) {
				assert.Equal(t, []bool{false, true, false}, c.SlidingLayers)
				assert.Equal(t, RopeScaling{Type: RopeLinear, Factor: 8}, c.RopeScaling)
				assert.Equal(t, 1e6, c.RopeTheta)
				assert.Equal(t, 10000.0, c.LocalRopeTheta)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig("config.json", []byte(tc.json))
			require.NoError(t, err)
			tc.check(t, c)
		})
	}
}

// TestParseConfigRefusesByName: what would change the math and is not
// built is refused, naming the field and value.
func TestParseConfigRefusesByName(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "num_attention_heads": 4, "rope_scaling": {"rope_type": "su", "factor": 4.0}}`, `rope_scaling: rope_scaling type "su" is not supported`},
		{`{"architectures": ["Qwen2ForCausalLM"], "hidden_size": 64, "num_attention_heads": 4, "rope_scaling": {"type": "longrope", "factor": 4.0}}`, `"longrope" is not supported`},
		{`{"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "num_attention_heads": 4, "rope_scaling": {"rope_type": "llama3", "factor": 8.0}}`, "original_max_position_embeddings"},
		{`{"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "num_attention_heads": 4, "rope_scaling": {"rope_type": "linear"}}`, "needs a factor"},
		{`{"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "num_attention_heads": 4, "mlp_bias": true}`, "mlp_bias"},
		{`{"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "num_attention_heads": 4, "hidden_act": "relu"}`, `activation "relu" is not supported`},
		{`{"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "num_attention_heads": 4, "partial_rotary_factor": 0.5}`, "partial_rotary_factor 0.5"},
		{`{"architectures": ["Gemma3ForCausalLM"], "hidden_size": 64, "num_attention_heads": 4, "use_bidirectional_attention": true}`, "use_bidirectional_attention"},
		{`{"architectures": ["Gemma2ForCausalLM"], "hidden_size": 64, "num_attention_heads": 4, "query_pre_attn_scalar": null}`, "query_pre_attn_scalar"},
		{`{"architectures": ["Gemma3ForCausalLM"], "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2, "layer_types": ["full_attention"]}`, "layer_types has 1 entries for num_hidden_layers 2"},
		{`{"architectures": ["Gemma3ForCausalLM"], "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 1, "layer_types": ["chunked_attention"]}`, `layer_types[0] "chunked_attention"`},
	} {
		_, err := ParseConfig("m/config.json", []byte(tc.json))
		require.Error(t, err, tc.json)
		assert.Contains(t, err.Error(), tc.want)
		assert.Contains(t, err.Error(), "m/config.json")
	}
}
