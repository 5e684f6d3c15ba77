// Package testfixture is test support shared by the packages above models:
// a tiny Llama config, token shards that follow simple rules, and a built
// extension ready to train, score or export.
package testfixture

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/data"
	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/models/tokenizer"
)

// Vocab is the tiny model's vocabulary size.
const Vocab = 32

// TinyModel is a 2-layer grouped-query Llama small enough for every test.
func TinyModel() models.Config {
	return models.Config{Arch: "LlamaForCausalLM", Vocab: Vocab, Hidden: 16, Intermediate: 32, Layers: 2, Heads: 2, KVHeads: 1,
		HeadDim: 8, RMSEps: 1e-5, RopeTheta: 10000, MaxPositions: 64, Act: "silu", QueryScale: 1 / math.Sqrt(8)}
}

// WriteShard writes a shard whose documents follow a simple rule, so a
// model can learn it: "new" text counts up by step, "orig" text repeats.
func WriteShard(t testing.TB, stem string, tokens int, rule func(i int) int) {
	t.Helper()
	w, err := data.CreateShard(stem, "test-tokenizer", Vocab)
	require.NoError(t, err)
	doc := make([]int, 0, 64)
	for i := 0; i < tokens; i++ {
		doc = append(doc, rule(i))
		if len(doc) == 64 {
			require.NoError(t, w.AddDocument(doc, 3*len(doc)))
			doc = doc[:0]
		}
	}
	if len(doc) > 0 {
		require.NoError(t, w.AddDocument(doc, 3*len(doc)))
	}
	require.NoError(t, w.Close())
}

// Run is a build of TinyModel with training and held-out shards beside it.
type Run struct {
	Build, NewShard, OrigShard, EvalNew, EvalOrig string
}

// New writes the shards and builds the given method at seq 16.
func New(t testing.TB, method models.Method) Run {
	dir := t.TempDir()
	f := Run{Build: filepath.Join(dir, "build"), NewShard: filepath.Join(dir, "new"), OrigShard: filepath.Join(dir, "orig"),
		EvalNew: filepath.Join(dir, "eval_new"), EvalOrig: filepath.Join(dir, "eval_orig")}
	WriteShard(t, f.NewShard, 4000, func(i int) int { return (i * 3) % Vocab })
	WriteShard(t, f.OrigShard, 4000, func(i int) int { return (i % 5) + 10 })
	WriteShard(t, f.EvalNew, 600, func(i int) int { return (i*3 + 7) % Vocab })
	WriteShard(t, f.EvalOrig, 600, func(i int) int { return (i % 5) + 10 })
	c := TinyModel()
	ext, err := models.DefaultExtension(method)
	require.NoError(t, err)
	_, err = build.Build(build.BuildOptions{Config: &c, Weights: models.RandomWeights(c, 1, 0.1), Ext: ext, Opt: graph.DefaultAdamW(), Seq: 16, Out: f.Build})
	require.NoError(t, err)
	return f
}

// ByteTokenizer maps each byte to a token (mod Vocab).
type ByteTokenizer struct{}

// Encode implements tokenizer.Encoder.
func (ByteTokenizer) Encode(text string, _ bool) []int {
	ids := make([]int, len(text))
	for i := range ids {
		ids[i] = int(text[i]) % Vocab
	}
	return ids
}

// HFModelDir writes an HF model directory for command-level tests:
// config.json (a 2-layer Llama, vocabulary 320), random float32
// safetensors and a 300-token tokenizer trained on text.
func HFModelDir(t testing.TB, dir, text string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	txt := filepath.Join(t.TempDir(), "train.txt")
	require.NoError(t, os.WriteFile(txt, []byte(text), 0o644))
	tok, err := tokenizer.Train([]string{txt}, 300, []string{"<s>", "</s>", "<pad>"})
	require.NoError(t, err)
	require.NoError(t, tok.Save(filepath.Join(dir, "tokenizer.json")))
	cfg := map[string]any{"architectures": []string{"LlamaForCausalLM"}, "vocab_size": 320, "hidden_size": 32, "intermediate_size": 64,
		"num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1, "max_position_embeddings": 64, "tie_word_embeddings": true}
	raw, _ := json.Marshal(cfg)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644))
	c, err := models.LoadConfig(dir)
	require.NoError(t, err)
	var buf bytes.Buffer
	w := models.RandomWeights(c, 1, 0.05)
	tensors := map[string]*graph.Data{}
	for _, n := range w.Names() {
		tensors[n], _ = w.Tensor(n)
	}
	require.NoError(t, models.WriteSafetensors(&buf, tensors, nil))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model.safetensors"), buf.Bytes(), 0o644))
}
