package trained

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/export"
	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/internal/gradcheck"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
)

// The committed byte-level tokenizer (600 ids) and its extension by 80
// French tokens at ids 604-683 (models/tokenizer's TestExtendMatchesCommitted).
const (
	baseTokenizer     = "../../models/tokenizer/testdata/ours-bytelevel.tokenizer.json"
	extendedTokenizer = "../../models/tokenizer/testdata/ours-bytelevel-extended.tokenizer.json"
	extVocab          = 604
	extNew            = 80
)

// vocabModelDir writes a tiny Llama directory (vocab_size 604, untied or
// tied) with the base tokenizer.
func vocabModelDir(t *testing.T, tied bool) string {
	dir := filepath.Join(t.TempDir(), "model")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	cfg := `{"architectures": ["LlamaForCausalLM"], "vocab_size": 604, "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 2, ` +
		`"num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 8, "max_position_embeddings": 64, "tie_word_embeddings": ` + map[bool]string{true: "true", false: "false"}[tied] + `}`
	c, err := models.ParseConfig("config.json", []byte(cfg))
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, models.WriteSafetensors(&buf, models.RandomWeights(c, 2, 0.3), nil))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model.safetensors"), buf.Bytes(), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, build.ConfigFile), []byte(cfg), 0o644))
	tok, err := os.ReadFile(baseTokenizer)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, build.TokenizerFile), tok, 0o644))
	return dir
}

// vocabIDs mix old ids and new ones (604-683) as inputs.
var vocabIDs = gradcheck.Feed{Shape: []int64{2, 5}, Data: []float64{1, 604, 90, 683, 300, 650, 4, 599, 610, 0}}

func logitsWithIDs(t *testing.T, g *graph.Graph, params map[string][]float32) []float64 {
	t.Helper()
	return logitsFor(t, g, vocabIDs, params)
}

// TestExportVocabExtension: a build that extends the vocabulary exports,
// for every method, an ONNX whose logits over the 684 ids are the trained
// model's on text with new ids; the PEFT-style files hold the new rows
// beside the extended tokenizer.json; and for finetune and LoRA the --hf
// directory (vocab_size 684) loads back as a plain model computing the
// same logits.
func TestExportVocabExtension(t *testing.T) {
	extTok, err := os.ReadFile(extendedTokenizer)
	require.NoError(t, err)
	for _, tied := range []bool{false, true} {
		modelDir := vocabModelDir(t, tied)
		c, w, err := models.LoadModelDir(modelDir)
		require.NoError(t, err)
		for _, method := range models.Methods {
			t.Run(map[bool]string{true: "tied/", false: "untied/"}[tied]+string(method), func(t *testing.T) {
				dir := t.TempDir()
				ext, _ := models.DefaultExtension(method)
				ext.Capacity = 1
				buildDir := filepath.Join(dir, "build")
				man, err := build.Build(build.BuildOptions{ModelDir: modelDir, Ext: ext, Opt: graph.DefaultAdamW(), Seq: 16, Out: buildDir, ExtendedTokenizer: extTok})
				require.NoError(t, err)
				require.Equal(t, extNew, man.Extension.NewTokens)
				trained, ckpt := fakeTrainedCheckpoint(t, buildDir, man)
				ext.NewTokens = extNew
				g, err := graph.Build("ref", func(g *graph.Graph) {
					g.Output("logits", models.BuildExtended(g, models.Model{Config: c, Weights: w, Ext: ext}).Logits)
				})
				require.NoError(t, err)
				want := logitsWithIDs(t, g, trained)
				require.Len(t, want, 10*(extVocab+extNew))

				out, hf := filepath.Join(dir, "export"), filepath.Join(dir, "hf")
				opts := ExportOptions{Build: buildDir, Checkpoint: ckpt, Out: out}
				if method == models.Finetune || method == models.LoRA {
					opts.HF = hf
				}
				require.NoError(t, Export(opts))
				got := loadLogits(t, filepath.Join(out, ExportONNX))
				requireClose(t, want, got, 2e-5)
				peft, err := build.ReadTensors(filepath.Join(out, ExportAdapterTensor))
				require.NoError(t, err)
				assert.Equal(t, trained[models.NewEmbedRows], peft[PEFTPrefix+models.NewEmbedRows])
				_, untiedRows := peft[PEFTPrefix+models.NewHeadRows]
				assert.Equal(t, !tied, untiedRows)
				copied, err := os.ReadFile(filepath.Join(out, build.TokenizerFile))
				require.NoError(t, err)
				assert.Equal(t, extTok, copied)
				if opts.HF == "" {
					return
				}
				hc, hw, err := models.LoadModelDir(hf)
				require.NoError(t, err)
				assert.Equal(t, extVocab+extNew, hc.Vocab)
				var conf map[string]any
				raw, _ := os.ReadFile(filepath.Join(hf, build.ConfigFile))
				require.NoError(t, json.Unmarshal(raw, &conf))
				assert.Equal(t, float64(extVocab+extNew), conf["vocab_size"])
				hg, err := models.BuildBackboneLogitsGraph(hc, hw)
				require.NoError(t, err)
				requireClose(t, want, logitsWithIDs(t, hg, nil), 2e-5)
			})
		}
	}
}

func loadLogits(t *testing.T, path string) []float64 {
	g, err := export.Load(path)
	require.NoError(t, err)
	return logitsWithIDs(t, g, nil)
}

func requireClose(t *testing.T, want, got []float64, tol float64) {
	t.Helper()
	require.Equal(t, len(want), len(got))
	for i := range want {
		require.InDelta(t, want[i], got[i], tol, "logit %d", i)
	}
}
