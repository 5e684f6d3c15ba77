package models

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func llamaConfigJSON(t testing.TB, edit map[string]any) []byte {
	cfg := map[string]any{"architectures": []string{"LlamaForCausalLM"}, "vocab_size": 8192, "hidden_size": 256, "intermediate_size": 688,
		"num_hidden_layers": 6, "num_attention_heads": 4, "num_key_value_heads": 4, "max_position_embeddings": 512, "rms_norm_eps": 1e-5}
	for k, v := range edit {
		cfg[k] = v
	}
	raw, err := json.Marshal(cfg)
	require.NoError(t, err)
	return raw
}

// A config.json that would size absurd tensors, or give RMSNorm/RoPE a
// non-positive constant, is refused by key before anything is allocated
// (num_hidden_layers 1e9 died in a 128-line out-of-memory trace).
func TestConfigRefused(t *testing.T) {
	for _, tc := range []struct {
		edit map[string]any
		want string
	}{
		{map[string]any{"rms_norm_eps": -1}, "rms_norm_eps must be positive and finite, got -1"},
		{map[string]any{"rope_theta": -10000}, "rope_theta must be positive and finite, got -10000"},
		{map[string]any{"max_position_embeddings": -1}, "max_position_embeddings must be positive, got -1"},
		{map[string]any{"num_hidden_layers": 1000000000}, "num_hidden_layers 1000000000 is above nrgraph's limit of 10000 (a typo?)"},
		{map[string]any{"num_hidden_layers": 1000000000}, "make 7.92e+14 parameters, above nrgraph's limit of 1e+12"},
		{map[string]any{"hidden_size": 1 << 30, "num_attention_heads": 1 << 10}, "make 1.39e+19 parameters"},
		{map[string]any{"vocab_size": 1 << 30}, "vocab_size 1073741824 is above nrgraph's limit of 16777216"},
		{map[string]any{"num_attention_heads": 1 << 20}, "num_attention_heads 1048576 is above nrgraph's limit of 10000"},
	} {
		_, err := ParseConfig("model/config.json", llamaConfigJSON(t, tc.edit))
		require.Error(t, err, tc.want)
		assert.Contains(t, err.Error(), "model/config.json")
		assert.Contains(t, err.Error(), tc.want)
	}
	// The embedded backbone's shape still parses (6,843,648 parameters, README).
	c, err := ParseConfig("model/config.json", llamaConfigJSON(t, map[string]any{"tie_word_embeddings": true}))
	require.NoError(t, err)
	assert.Equal(t, int64(6843648), c.NumParams())
}

// FuzzParseConfig: any config.json is refused or parsed into a config
// whose tensors can be listed without exhausting memory.
func FuzzParseConfig(f *testing.F) {
	f.Add(llamaConfigJSON(f, nil))
	f.Add(llamaConfigJSON(f, map[string]any{"architectures": []string{"GemmaForCausalLM"}, "head_dim": 64}))
	f.Add(llamaConfigJSON(f, map[string]any{"architectures": []string{"Gemma2ForCausalLM"}, "sliding_window": 64, "attn_logit_softcapping": 50.0}))
	f.Add(llamaConfigJSON(f, map[string]any{"num_hidden_layers": 1000000000}))
	f.Add([]byte(`{"architectures":["LlamaForCausalLM"],"vocab_size":1e9}`))
	f.Add(llamaConfigJSON(f, map[string]any{"architectures": []string{"Gemma2ForCausalLM"}, "num_hidden_layers": 1000000000}))
	f.Add(llamaConfigJSON(f, map[string]any{"rope_scaling": map[string]any{"rope_type": "llama3", "factor": 8, "low_freq_factor": 1, "high_freq_factor": 4, "original_max_position_embeddings": 64}}))
	f.Add(llamaConfigJSON(f, map[string]any{"architectures": []string{"Qwen2ForCausalLM"}, "use_sliding_window": true, "sliding_window": 4, "max_window_layers": 1}))
	f.Add(llamaConfigJSON(f, map[string]any{"architectures": []string{"Qwen3ForCausalLM"}, "rope_scaling": map[string]any{"rope_type": "yarn", "factor": 4}}))
	f.Add([]byte(`{"architectures":["Gemma3ForConditionalGeneration"],"text_config":{"num_hidden_layers":2,"layer_types":["sliding_attention","full_attention"],"rope_parameters":{"full_attention":{"rope_type":"linear","factor":8}}}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseConfig("config.json", raw)
		if err != nil {
			return
		}
		assert.LessOrEqual(t, float64(c.NumParams()), float64(MaxParams))
		specs := ExpectedTensors(c)
		assert.NotEmpty(t, specs)
	})
}
