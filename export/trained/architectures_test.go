package trained

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
)

// TestExportEveryArchitecture: for each architecture family, a tiny HF
// model directory builds, trains (LoRA, perturbed values) and exports: the
// ONNX gives the trained model's logits, the PEFT file names tensors as
// the checkpoint does, and the --hf directory loads back as the same
// architecture with LoRA merged (for the multimodal Gemma 3, with its
// vision tensors kept).
func TestExportEveryArchitecture(t *testing.T) {
	dims := `"vocab_size": 32, "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "max_position_embeddings": 64`
	for name, cfg := range map[string]string{
		"llama3":  `{"architectures": ["LlamaForCausalLM"], ` + dims + `, "rope_scaling": {"rope_type": "llama3", "factor": 8, "low_freq_factor": 1, "high_freq_factor": 4, "original_max_position_embeddings": 64}}`,
		"qwen2":   `{"architectures": ["Qwen2ForCausalLM"], ` + dims + `, "use_sliding_window": true, "sliding_window": 3, "max_window_layers": 1}`,
		"qwen3":   `{"architectures": ["Qwen3ForCausalLM"], ` + dims + `, "tie_word_embeddings": true, "rope_scaling": {"rope_type": "yarn", "factor": 4, "original_max_position_embeddings": 16}}`,
		"mistral": `{"architectures": ["MistralForCausalLM"], ` + dims + `, "sliding_window": 3}`,
		"gemma":   `{"architectures": ["GemmaForCausalLM"], ` + dims + `}`,
		"gemma2":  `{"architectures": ["Gemma2ForCausalLM"], ` + dims + `, "sliding_window": 3}`,
		"gemma3-multimodal": `{"architectures": ["Gemma3ForConditionalGeneration"], "text_config": {` + dims +
			`, "sliding_window": 3, "sliding_window_pattern": 2, "rope_scaling": {"rope_type": "linear", "factor": 8}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			modelDir := filepath.Join(dir, "model")
			require.NoError(t, os.MkdirAll(modelDir, 0o755))
			c, err := models.ParseConfig("config.json", []byte(cfg))
			require.NoError(t, err)
			prefix := map[bool]string{true: "language_model.model.", false: "model."}[strings.HasPrefix(name, "gemma3")]
			stored := models.MapWeights{}
			for n, d := range models.RandomWeights(c, 2, 0.3) {
				if rest, ok := strings.CutPrefix(n, "model."); ok {
					n = prefix + rest
				}
				stored[n] = d
			}
			if prefix != "model." {
				stored["vision_tower.vision_model.post_layernorm.weight"] = graph.NewData([]int64{3}, []float32{1, 2, 3})
			}
			var buf bytes.Buffer
			require.NoError(t, models.WriteSafetensors(&buf, stored, nil))
			require.NoError(t, os.WriteFile(filepath.Join(modelDir, "model.safetensors"), buf.Bytes(), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(modelDir, build.ConfigFile), []byte(cfg), 0o644))
			vocab := map[string]int{}
			for i := range 32 {
				vocab[fmt.Sprintf("t%d", i)] = i
			}
			tok, _ := json.Marshal(map[string]any{"model": map[string]any{"type": "BPE", "vocab": vocab, "merges": []string{}}})
			require.NoError(t, os.WriteFile(filepath.Join(modelDir, build.TokenizerFile), tok, 0o644))
			c, w, err := models.LoadModelDir(modelDir)
			require.NoError(t, err)

			ext, _ := models.DefaultExtension(models.LoRA)
			buildDir := filepath.Join(dir, "build")
			man, err := build.Build(build.BuildOptions{ModelDir: modelDir, Ext: ext, Opt: graph.DefaultAdamW(), Seq: 16, Out: buildDir})
			require.NoError(t, err)
			trained, ckpt := fakeTrainedCheckpoint(t, buildDir, man)
			g, err := graph.Build("ref", func(g *graph.Graph) {
				g.Output("logits", models.BuildExtended(g, models.Model{Config: c, Weights: w, Ext: ext}).Logits)
			})
			require.NoError(t, err)
			want := runLogits(t, g, trained)

			out, hf := filepath.Join(dir, "export"), filepath.Join(dir, "hf")
			require.NoError(t, Export(ExportOptions{Build: buildDir, Checkpoint: ckpt, Out: out, HF: hf, HFDType: "float32"}))
			got := loadLogitsFile(t, filepath.Join(out, ExportONNX))
			assertClose(t, want, got, 2e-5)

			peft, err := build.ReadTensors(filepath.Join(out, ExportAdapterTensor))
			require.NoError(t, err)
			assert.Contains(t, peft, PEFTPrefix+prefix+"layers.0.mlp.up_proj.lora_A.weight")

			hc, hw, err := models.LoadModelDir(hf)
			require.NoError(t, err)
			c.DType = "float32" // --hf-dtype
			assert.Equal(t, c, hc)
			plain, _ := models.DefaultExtension(models.Adapters)
			plain.GatesOff = true
			g, err = graph.Build("hf", func(g *graph.Graph) {
				g.Output("logits", models.BuildExtended(g, models.Model{Config: hc, Weights: hw, Ext: plain}).Logits)
			})
			require.NoError(t, err)
			assertClose(t, want, runLogits(t, g, nil), 2e-5)
			if prefix != "model." {
				all, err := models.OpenSafetensors(hf)
				require.NoError(t, err)
				assert.Contains(t, all.Names(), "vision_tower.vision_model.post_layernorm.weight")
			}
		})
	}
}

func assertClose(t *testing.T, want, got []float32, tol float64) {
	t.Helper()
	require.Equal(t, len(want), len(got))
	for i := range want {
		require.InDelta(t, want[i], got[i], tol, "logit %d", i)
	}
}
