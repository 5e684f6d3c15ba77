package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// realExtensions are the real tokenizers' extensions the goldens hold: 60
// French tokens each (learned on testdata/french.txt), from the model's vocab_size on (Qwen3 pads its
// embedding to 151,936 rows, past the tokenizer's 151,669 ids).
var realExtensions = map[string]int{"llama3": 128256, "qwen3": 151936}

// TestExtendRealTokenizers: the real Llama 3 and Qwen3 tokenizers extend
// (Llama 3's ignore_merges and string-form merges, Qwen's array-form
// merges and padded ids), and HF encodes and decodes the extended files as
// we do (testdata/real/*-extended.golden.json, made by HF's Node binding
// from the files -update writes into the real tokenizers' cache
// directory); Gemma 3's SentencePiece-style BPE is refused.
func TestExtendRealTokenizers(t *testing.T) {
	for name, firstID := range realExtensions {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := realTokenizerDir(t, name)
			old, err := Load(filepath.Join(dir, "tokenizer.json"))
			require.NoError(t, err)
			// The text twice: every pair occurs twice, so that the real
			// vocabularies, which hold most of its words, still get 60 new
			// tokens, some of which texts.json's French uses.
			ext, err := Extend(old, []string{frenchText, frenchText}, ExtendOptions{NewTokens: 60, FirstID: firstID, Scope: ExtendAll})
			require.NoError(t, err)
			if *update {
				out := filepath.Join(filepath.Dir(dir), name+"-extended")
				require.NoError(t, os.MkdirAll(out, 0o755))
				require.NoError(t, ext.Save(filepath.Join(out, "tokenizer.json")))
			}
			x, err := CheckExtension(old, ext, firstID)
			require.NoError(t, err)
			assert.Len(t, x.Pieces, 60)
			raw, err := os.ReadFile(filepath.Join("testdata", "real", name+"-extended.golden.json"))
			require.NoError(t, err, "run scripts/regen_goldens.sh")
			var g goldenFile
			require.NoError(t, json.Unmarshal(raw, &g))
			checkGolden(t, ext, g)
			used := 0
			for _, c := range g.Cases {
				for _, id := range c.IDs {
					if id >= firstID {
						used++
					}
				}
			}
			assert.Greater(t, used, 0, "the goldens use new tokens")
		})
	}
	dir := realTokenizerDir(t, "gemma3")
	gemma, err := Load(filepath.Join(dir, "tokenizer.json"))
	require.NoError(t, err)
	_, err = Extend(gemma, []string{frenchText}, ExtendOptions{NewTokens: 10, FirstID: gemma.VocabSize(), Scope: ExtendAll})
	require.ErrorContains(t, err, "only byte-level BPE tokenizers (GPT-2, Llama 3, Qwen) can be extended, this one is sentencepiece-bpe")
}
