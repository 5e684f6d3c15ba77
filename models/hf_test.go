package models

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
)

// writeModelDir writes config.json + safetensors (sharded in two when
// shards is true) in exact HF naming.
func writeModelDir(t *testing.T, dir string, c Config, w MapWeights, shards bool) {
	t.Helper()
	cfg := map[string]any{"architectures": []string{c.Arch}, "vocab_size": c.Vocab, "hidden_size": c.Hidden,
		"intermediate_size": c.Intermediate, "num_hidden_layers": c.Layers, "num_attention_heads": c.Heads,
		"num_key_value_heads": c.KVHeads, "head_dim": c.HeadDim, "rms_norm_eps": c.RMSEps, "rope_theta": c.RopeTheta,
		"max_position_embeddings": c.MaxPositions, "tie_word_embeddings": c.Tied, "hidden_act": "silu", "torch_dtype": "bfloat16"}
	raw, _ := json.Marshal(cfg)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644))
	if !shards {
		var buf bytes.Buffer
		require.NoError(t, WriteSafetensors(&buf, w, map[string]string{"format": "pt"}))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "model.safetensors"), buf.Bytes(), 0o644))
		return
	}
	parts := []MapWeights{{}, {}}
	index := map[string]string{}
	for i, name := range w.Names() {
		parts[i%2][name] = w[name]
		index[name] = []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i%2]
	}
	for i, p := range parts {
		var buf bytes.Buffer
		require.NoError(t, WriteSafetensors(&buf, p, nil))
		require.NoError(t, os.WriteFile(filepath.Join(dir, []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i]), buf.Bytes(), 0o644))
	}
	raw, _ = json.Marshal(map[string]any{"weight_map": index})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), raw, 0o644))
}

// TestLoadModelDirMatchesInMemory: a bf16 checkpoint written in HF layout
// (single and sharded) loads file-backed and computes the same logits as
// the in-memory weights.
func TestLoadModelDirMatchesInMemory(t *testing.T) {
	c := tinyConfigs()["llama-gqa-untied"]
	w, _ := randomCheckpoint(c, 11, true)
	ids := [][]int64{{1, 2, 3, 4}}
	mask := [][]float64{{1, 1, 1, 1}}
	logits := func(weights Weights) [][][]float64 {
		g, err := graph.Build("m", func(g *graph.Graph) {
			g.Output("logits", BuildForward(g, c, weights, ForwardOptions{}).Logits)
		})
		require.NoError(t, err)
		return runForward(t, g, ids, mask)
	}
	want := logits(w)
	for _, sharded := range []bool{false, true} {
		dir := t.TempDir()
		writeModelDir(t, dir, c, w, sharded)
		cfg, loaded, err := LoadModelDir(dir)
		require.NoError(t, err)
		assert.Equal(t, c.Hidden, cfg.Hidden)
		d, err := loaded.Tensor("model.norm.weight")
		require.NoError(t, err)
		require.NotNil(t, d.File, "weights should be file-backed")
		assert.Equal(t, graph.BFloat16, d.DType)
		assert.Equal(t, want, logits(loaded))
	}
}

// TestLoadModelDirErrorsNameFileAndTensor: a corrupt or mis-shaped
// checkpoint is refused with the file and tensor named.
func TestLoadModelDirErrorsNameFileAndTensor(t *testing.T) {
	c := tinyConfigs()["llama-gqa-untied"]
	w, _ := randomCheckpoint(c, 2, false)
	dir := t.TempDir()
	writeModelDir(t, dir, c, w, false)
	path := filepath.Join(dir, "model.safetensors")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, raw[:len(raw)-10], 0o644)) // truncated data
	_, _, err = LoadModelDir(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "model.safetensors")

	w["model.norm.weight"] = graph.NewData([]int64{3}, []float32{1, 2, 3})
	writeModelDir(t, dir, c, w, false)
	_, _, err = LoadModelDir(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"model.norm.weight" has shape [3], config needs [16]`)

	_, _, err = LoadModelDir(t.TempDir())
	assert.ErrorContains(t, err, "config.json")
}

func TestInspect(t *testing.T) {
	c := tinyConfigs()["llama-gqa-untied"]
	w, _ := randomCheckpoint(c, 1, true)
	dir := t.TempDir()
	writeModelDir(t, dir, c, w, false)
	tok := `{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}, "pre_tokenizer": {"type": "ByteLevel"}, "added_tokens": [{"id": 3, "content": "<eos>"}]}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(tok), 0o644))
	info, err := Inspect(dir)
	require.NoError(t, err)
	assert.Equal(t, "byte-level BPE", info.TokenizerKind)
	assert.Equal(t, 4, info.TokenizerSize)
	assert.Equal(t, len(ExpectedTensors(c)), info.DTypes["bfloat16"])
	assert.Equal(t, c.NumParams(), info.Params)
	assert.Contains(t, info.String(), "LlamaForCausalLM")
	assert.Empty(t, info.Warnings)

	// A tokenizer with more ids than vocab_size (37) is warned about.
	big := `{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "added_tokens": [{"id": 40, "content": "<eos>", "special": true}]}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(big), 0o644))
	info, err = Inspect(dir)
	require.NoError(t, err)
	assert.Contains(t, info.String(), "warning: tokenizer.json has 41 ids but config.json's vocab_size is 37")
}

// TestGemma3MultimodalCheckpoint: the language model of a
// Gemma3ForConditionalGeneration directory (both tensor layouts HF has
// published) reads as the same config and computes the same logits as
// the text-only model; the vision tensors are left out of the language
// model and come back, unchanged, in HFCheckpoint.
func TestGemma3MultimodalCheckpoint(t *testing.T) {
	c := tinyConfigs()["gemma3"]
	w, _ := randomCheckpoint(c, 4, false)
	text := map[string]any{"model_type": "gemma3_text", "vocab_size": c.Vocab, "hidden_size": c.Hidden, "intermediate_size": c.Intermediate,
		"num_hidden_layers": c.Layers, "num_attention_heads": c.Heads, "num_key_value_heads": c.KVHeads, "head_dim": c.HeadDim,
		"max_position_embeddings": c.MaxPositions, "query_pre_attn_scalar": 10, "sliding_window": c.SlidingWindow, "sliding_window_pattern": 2,
		"rope_local_base_freq": c.LocalRopeTheta, "rope_scaling": map[string]any{"rope_type": "linear", "factor": 8}}
	cfg, _ := json.Marshal(map[string]any{"architectures": []string{"Gemma3ForConditionalGeneration"}, "text_config": text,
		"vision_config": map[string]any{"model_type": "siglip_vision_model"}})
	ids, mask := [][]int64{{1, 2, 3, 4, 5}}, [][]float64{{1, 1, 1, 1, 1}}
	logits := func(c Config, weights Weights) [][][]float64 {
		g, err := graph.Build("m", func(g *graph.Graph) {
			g.Output("logits", BuildForward(g, c, weights, ForwardOptions{}).Logits)
		})
		require.NoError(t, err)
		return runForward(t, g, ids, mask)
	}
	vision := graph.NewData([]int64{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	for _, layout := range []struct{ model, head string }{{"language_model.model.", "language_model.lm_head."}, {"model.language_model.", "lm_head."}} {
		t.Run(layout.model, func(t *testing.T) {
			dir := t.TempDir()
			stored := MapWeights{"vision_tower.vision_model.embeddings.patch_embedding.weight": vision, "multi_modal_projector.mm_input_projection_weight": vision}
			for name, d := range w {
				stored[layout.model+strings.TrimPrefix(name, "model.")] = d
			}
			var buf bytes.Buffer
			require.NoError(t, WriteSafetensors(&buf, stored, nil))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "model.safetensors"), buf.Bytes(), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644))

			loaded, lm, err := LoadModelDir(dir)
			require.NoError(t, err)
			assert.Equal(t, layout.model, loaded.TensorPrefix)
			want := c
			want.Arch, want.TensorPrefix = loaded.Arch, loaded.TensorPrefix
			assert.Equal(t, want, loaded, "config.json reads as the reference test's Gemma 3 config")
			assert.Equal(t, w.Names(), lm.Names())
			assert.Equal(t, layout.model+"layers.0.self_attn.q_norm.weight", CheckpointName(loaded, "model.layers.0.self_attn.q_norm.weight"))
			assert.Equal(t, layout.head+"weight", CheckpointName(loaded, "lm_head.weight"))
			assert.Equal(t, logits(c, w), logits(loaded, lm), "the language model computes what the text-only one does")

			all := map[string]*graph.Data{}
			for _, n := range lm.Names() {
				all[n], _ = lm.Tensor(n)
			}
			full, err := HFCheckpoint(loaded, dir, all)
			require.NoError(t, err)
			assert.Equal(t, stored.Names(), MapWeights(full).Names())
			got, err := full["multi_modal_projector.mm_input_projection_weight"].Float64s()
			require.NoError(t, err)
			assert.Equal(t, []float64{1, 2, 3, 4, 5, 6}, got)

			info, err := Inspect(dir)
			require.NoError(t, err)
			assert.Equal(t, c.NumParams(), info.Params)
			assert.Contains(t, info.String(), "RoPE θ=1e+06 (linear x8), local layers θ=10")
			assert.Contains(t, info.String(), "sliding window 3 on 1 of 2 layers, q/k norms, language model under \""+layout.model+"\"")
		})
	}
}
