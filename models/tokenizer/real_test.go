package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// realTokenizerDir finds NAME's tokenizer.json fetched by
// scripts/install-real-tokenizers.sh ($NRGRAPH_CACHE, else the repository's
// .cache); skips when absent, except in CI, where make test fetches them.
func realTokenizerDir(t *testing.T, name string) string {
	t.Helper()
	var caches []string
	if c := os.Getenv("NRGRAPH_CACHE"); c != "" {
		caches = append(caches, c)
	}
	wd, _ := os.Getwd()
	for d := wd; filepath.Dir(d) != d; d = filepath.Dir(d) {
		caches = append(caches, filepath.Join(d, ".cache"))
	}
	for _, c := range caches {
		dir := filepath.Join(c, "tokenizers", name)
		if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err == nil {
			return dir
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("real %s tokenizer missing in CI: make test runs scripts/install-real-tokenizers.sh", name)
	}
	t.Skipf("real %s tokenizer not installed (make real-tokenizers); skipping its goldens", name)
	return ""
}

// TestRealTokenizersMatchHF: the real Llama 3, Gemma 3 and Qwen3
// tokenizers encode and decode multilingual text, and code points new in
// Unicode 15.1/16.0, exactly as HF tokenizers does, and take BOS/EOS from
// tokenizer_config.json as transformers does. Without the config, BOS is
// what the post-processor adds and EOS a conventionally named token marked
// special: Gemma 3's non-special added "</s>" (id 212) and Qwen's ordinary
// "<s>", "</s>" are text.
func TestRealTokenizersMatchHF(t *testing.T) {
	withoutConfig := map[string][2]int{"llama3": {128000, 128001}, "gemma3": {2, 1}, "qwen3": {-1, 151643}}
	for _, name := range []string{"llama3", "gemma3", "qwen3"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(filepath.Join("testdata", "real", name+".golden.json"))
			require.NoError(t, err)
			var g struct {
				goldenFile
				BOS int `json:"bos"`
				EOS int `json:"eos"`
			}
			require.NoError(t, json.Unmarshal(raw, &g))
			dir := realTokenizerDir(t, name)
			tok, err := Load(filepath.Join(dir, "tokenizer.json"))
			require.NoError(t, err)
			checkGolden(t, tok, g.goldenFile)
			bos, _ := tok.BOS()
			eos, _ := tok.EOS()
			assert.Equal(t, withoutConfig[name], [2]int{bos, eos}, "BOS, EOS from tokenizer.json alone")
			conf, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
			require.NoError(t, err)
			require.NoError(t, tok.ApplyConfig(conf))
			bos, _ = tok.BOS()
			eos, _ = tok.EOS()
			assert.Equal(t, []int{g.BOS, g.EOS}, []int{bos, eos}, "BOS, EOS from tokenizer_config.json")
		})
	}
}

func TestApplyConfig(t *testing.T) {
	tok, err := LoadBytes([]byte(`{"model": {"type": "BPE", "vocab": {"a": 0, "<s>": 1, "</s>": 2}, "merges": []},
		"added_tokens": [{"id": 3, "content": "<|end|>", "special": true}]}`))
	require.NoError(t, err)
	bos, _ := tok.BOS()
	eos, _ := tok.EOS()
	assert.Equal(t, [2]int{-1, -1}, [2]int{bos, eos}, "ordinary <s> and </s> are not BOS/EOS")
	require.NoError(t, tok.ApplyConfig([]byte(`{"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "<|end|>"}`)))
	bos, _ = tok.BOS()
	eos, _ = tok.EOS()
	assert.Equal(t, [2]int{1, 3}, [2]int{bos, eos})
	require.NoError(t, tok.ApplyConfig([]byte(`{"bos_token": null}`)))
	bos, _ = tok.BOS()
	eos, _ = tok.EOS()
	assert.Equal(t, [2]int{-1, 3}, [2]int{bos, eos}, "null removes, absent keeps")
	assert.ErrorContains(t, tok.ApplyConfig([]byte(`{"eos_token": "<eot>"}`)), `eos_token "<eot>" is not in the tokenizer's vocabulary`)
	assert.ErrorContains(t, tok.ApplyConfig([]byte(`{"eos_token": 5}`)), "eos_token: want a token string")
}

// TestUnicode16Classes: code points Unicode 15.1/16.0 made letters and
// numbers are letters and numbers here, in the hand matcher and in rewritten
// split patterns (inside and outside bracket classes).
func TestUnicode16Classes(t *testing.T) {
	for _, r := range []rune{0x1C89, 0xA7CB, 0x105C0, 0x10D4A, 0x13460, 0x2EBF0} {
		assert.True(t, isLetter(r), "%U", r)
		assert.False(t, isNumber(r), "%U", r)
	}
	for _, r := range []rune{0x10D40, 0x11BF0, 0x16130, 0x16D70, 0x1CCF0, 0x1E5F1} {
		assert.True(t, isNumber(r), "%U", r)
	}
	assert.False(t, isLetter(0x10D40))
	assert.False(t, isLetter(0x2EE5E), "unassigned after CJK Extension I")
	assert.Equal(t, classLetter, classOf(0x10D4A))

	assert.Equal(t, `a[^\r\n\p{L}`+classRanges(newLetters)+`\p{N}`+classRanges(newNumbers)+`]?[\p{L}`+classRanges(newLetters)+`]+|\p{Lu}|[\]\p{N}`+classRanges(newNumbers)+`]|\\p{L}`,
		widenUnicodeClasses(`a[^\r\n\p{L}\p{N}]?\p{L}+|\p{Lu}|[\]\p{N}]|\\p{L}`))
	m, err := compileRegex(`\p{N}{1,3}|[^\s\p{L}\p{N}]+|\p{L}+`)
	require.NoError(t, err)
	text := "ab\U00010D4A\U00010D4B!\U00016D70\U00016D71\U00016D72\U00016D73"
	var parts []string
	for _, p := range m.findAll(text) {
		parts = append(parts, text[p[0]:p[1]])
	}
	assert.Equal(t, []string{"ab\U00010D4A\U00010D4B", "!", "\U00016D70\U00016D71\U00016D72", "\U00016D73"}, parts)
}
