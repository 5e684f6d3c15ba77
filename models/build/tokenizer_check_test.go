package build

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/tokenizer"
)

// tinyModelDir writes an HF model directory for tinyModel's shape with the
// given vocab_size and tokenizer.json (none when tokenizer is nil).
func tinyModelDir(t *testing.T, vocab int, tokenizer []byte) string {
	t.Helper()
	dir := t.TempDir()
	cfg := map[string]any{"architectures": []string{"LlamaForCausalLM"}, "vocab_size": vocab, "hidden_size": 16, "intermediate_size": 32,
		"num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "max_position_embeddings": 64, "tie_word_embeddings": true}
	raw, err := json.Marshal(cfg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, ConfigFile), raw, 0o644))
	c, err := models.LoadConfig(dir)
	require.NoError(t, err)
	tensors := map[string]*graph.Data{}
	for name, d := range models.RandomWeights(c, 1, 0.05) {
		tensors[name] = d
	}
	var buf bytes.Buffer
	require.NoError(t, models.WriteSafetensors(&buf, tensors, nil))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model.safetensors"), buf.Bytes(), 0o644))
	if tokenizer != nil {
		require.NoError(t, os.WriteFile(filepath.Join(dir, TokenizerFile), tokenizer, 0o644))
	}
	return dir
}

// bpeTokenizer is a minimal tokenizer.json with n ids.
func bpeTokenizer(n int) []byte {
	vocab := map[string]int{}
	for i := 0; i < n; i++ {
		vocab[fmt.Sprintf("t%d", i)] = i
	}
	raw, _ := json.Marshal(map[string]any{"model": map[string]any{"type": "BPE", "vocab": vocab, "merges": []string{}}})
	return raw
}

// build parses and checks tokenizer.json: garbage, truncated, wrong-schema
// or missing files, and tokenizers of another model, are refused before
// the build directory is created; --no-tokenizer builds without one.
func TestBuildChecksTheTokenizer(t *testing.T) {
	good := bpeTokenizer(300)
	for _, tc := range []struct {
		name        string
		vocab       int
		tokenizer   []byte
		noTokenizer bool
		want        string // "" builds
	}{
		{"garbage", 320, []byte("\x00\x01garbage"), false, "tokenizer.json: parse tokenizer.json: invalid character"},
		{"truncated", 320, good[:len(good)/2], false, "parse tokenizer.json: unexpected end of JSON input"},
		{"wrong schema", 320, []byte(`{"model":{"type":"WordPiece","vocab":{"a":0}}}`), false, "not a Hugging Face tokenizer.json?"},
		{"no tokens", 320, []byte(`{"model":{"type":"BPE","vocab":{},"merges":[]}}`), false, "the tokenizer has no tokens"},
		{"missing", 320, nil, false, "tokenizer.json is missing: a build records the tokenizer so that shards from another one are refused; pass --no-tokenizer"},
		{"1000 tokens for 8192", 8192, bpeTokenizer(1000), false, "the tokenizer has 1000 ids but the model's vocab_size is 8192"},
		{"more ids than the embedding", 256, good, false, "the tokenizer has 300 ids, more than the model's vocab_size 256"},
		{"padded vocab_size", 320, good, false, ""},
		{"missing, with --no-tokenizer", 320, nil, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tinyModelDir(t, tc.vocab, tc.tokenizer)
			out := filepath.Join(t.TempDir(), "build")
			ext, err := models.DefaultExtension(models.NeutralResidues)
			require.NoError(t, err)
			man, err := Build(BuildOptions{ModelDir: dir, Ext: ext, Opt: graph.DefaultAdamW(), Seq: 8, Out: out, NoTokenizer: tc.noTokenizer})
			if tc.want == "" {
				require.NoError(t, err)
				assert.Equal(t, tc.tokenizer == nil, man.TokenizerHash == "", "the hash is recorded iff there is a tokenizer")
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), filepath.Join(dir, TokenizerFile))
			_, statErr := os.Stat(out)
			assert.True(t, os.IsNotExist(statErr), "no partial build")
		})
	}
}

// FuzzCheckTokenizer: the build-time tokenizer check accepts or refuses
// any tokenizer.json and vocab_size without panicking, and what it
// accepts has between 7/8 of vocab_size and vocab_size ids.
func FuzzCheckTokenizer(f *testing.F) {
	f.Add(bpeTokenizer(300), 320)
	f.Add(bpeTokenizer(10), 8192)
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":[["a","b"]]},"added_tokens":[{"id":5,"content":"<s>","special":true}]}`), 6)
	f.Add([]byte(`{"model":`), 1)
	files, err := filepath.Glob("../tokenizer/testdata/*.tokenizer.json")
	require.NoError(f, err)
	for _, path := range files {
		raw, err := os.ReadFile(path)
		require.NoError(f, err)
		f.Add(raw, 260)
	}
	f.Fuzz(func(t *testing.T, raw []byte, vocab int) {
		cfg := models.Config{Vocab: vocab}
		if CheckTokenizer("tokenizer.json", raw, cfg) != nil {
			return
		}
		tok, err := tokenizer.LoadBytes(raw)
		require.NoError(t, err)
		n := tok.VocabSize()
		assert.True(t, n > 0 && n <= vocab && int64(n)*8 >= int64(vocab)*7, "accepted %d ids for vocab_size %d", n, vocab)
	})
}
