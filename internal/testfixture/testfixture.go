// Package testfixture is test support shared by the packages above models:
// a tiny Llama config, token shards that follow simple rules, and a built
// extension ready to train, score or export.
package testfixture

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/data"
	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
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
