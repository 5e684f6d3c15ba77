package tokenizer

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func tokenStrings(t *testing.T, tok *Tokenizer, ids []int) []string {
	t.Helper()
	out := make([]string, len(ids))
	for i, id := range ids {
		s, ok := tok.Token(id)
		require.True(t, ok, "id %d", id)
		out[i] = s
	}
	return out
}

// TestSugarmeGapsClosed pins, token by token, the cases where sugarme v0.3.0
// was measured to differ from HF. Expected tokens are HF's (the same texts
// are in the goldens where they apply).
func TestSugarmeGapsClosed(t *testing.T) {
	tests := []struct {
		name, file, text string
		want             []string
	}{
		{"byte_fallback for CJK, emoji and tab (sugarme: <unk>)", "llama-sp", "日本😀\t",
			[]string{"▁", "<0xE6>", "<0x97>", "<0xA5>", "<0xE6>", "<0x9C>", "<0xAC>", "<0xF0>", "<0x9F>", "<0x98>", "<0x80>", "\t"}},
		{"merge priority on repeated digits (sugarme: 1,9,99)", "ours-bytelevel", "1999",
			[]string{"1", "99", "9"}},
		{"merge priority on dash and dot runs", "bytelevel-hf", "1999 ---- ....",
			[]string{"Ġ1999", "Ġ--", "--", "Ġ..", ".."}},
		{"indentation whitespace run", "bytelevel-hf", "\n        x = 1",
			[]string{"Ġ", "Ċ", "ĠĠĠĠĠĠĠ", "Ġ", "x", "Ġ=", "Ġ1"}},
		{"Metaspace split:false merges across words", "metaspace-sp", "▁▁a",
			[]string{"▁▁", "a"}},
		{"Replace {Regex} normalizer collapses spaces", "metaspace-sp", "the   river",
			[]string{"▁the", "▁river"}},
		{"Replace(\" \",\"▁\") without Prepend keeps space runs", "gemma-sp", "a  b    c",
			[]string{"a", "▁▁", "b", "▁▁▁▁", "c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Load("testdata/" + tc.file + ".tokenizer.json")
			require.NoError(t, err)
			assert.Equal(t, tc.want, tokenStrings(t, tok, tok.Encode(tc.text, false)))
		})
	}
}

// tinyMetaspace is a tokenizer.json with a Metaspace decoder of the given
// prepend_scheme over a three-token vocab.
func tinyMetaspace(scheme string) string {
	return fmt.Sprintf(`{"added_tokens":[],"normalizer":null,
	"pre_tokenizer":{"type":"Metaspace","replacement":"▁","prepend_scheme":%q,"split":true},
	"decoder":{"type":"Metaspace","replacement":"▁","prepend_scheme":%q,"split":true},
	"model":{"type":"BPE","vocab":{"▁":0,"a":1,"b":2,"▁a":3,"▁b":4},"merges":[["▁","a"],["▁","b"]]}}`, scheme, scheme)
}

func TestMetaspacePrependScheme(t *testing.T) {
	tests := []struct {
		scheme     string
		text       string
		wantTokens []string
		wantDecode string
	}{
		// The decoder drops the replacement in the first token unless the
		// scheme is "never" (sugarme ignored prepend_scheme here).
		{"always", "a b", []string{"▁a", "▁b"}, "a b"},
		{"first", "a b", []string{"▁a", "▁b"}, "a b"},
		{"never", "a b", []string{"a", "▁b"}, "a b"},
		{"never", " a", []string{"▁a"}, " a"},
		{"first", " a", []string{"▁a"}, "a"},
	}
	for _, tc := range tests {
		t.Run(tc.scheme+"/"+tc.text, func(t *testing.T) {
			tok, err := LoadBytes([]byte(tinyMetaspace(tc.scheme)))
			require.NoError(t, err)
			ids := tok.Encode(tc.text, false)
			assert.Equal(t, tc.wantTokens, tokenStrings(t, tok, ids))
			assert.Equal(t, tc.wantDecode, tok.Decode(ids))
		})
	}
}

func TestMetaspaceFirstOnlyAtInputStart(t *testing.T) {
	// "first" prepends only to text at offset 0 of the input, not to text
	// after a special token.
	tok, err := LoadBytes([]byte(`{"added_tokens":[{"id":5,"content":"<s>","special":true}],
	"pre_tokenizer":{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false},
	"model":{"type":"BPE","vocab":{"▁":0,"a":1,"b":2,"▁a":3,"▁b":4},"merges":[["▁","a"],["▁","b"]]}}`))
	require.NoError(t, err)
	assert.Equal(t, []int{3, 5, 1}, tok.Encode("a<s>a", false))
}

func TestLossyUTF8MatchesRust(t *testing.T) {
	// Expected values follow Rust's String::from_utf8_lossy (one U+FFFD per
	// maximal ill-formed subpart).
	tests := []struct {
		in, want string
	}{
		{"ok", "ok"},
		{"\xE2\x82a", "\uFFFDa"},
		{"\xF0\x9F\x98", "\uFFFD"},
		{"\xC0\x80", "\uFFFD\uFFFD"},
		{"\xED\xA0\x80", "\uFFFD\uFFFD\uFFFD"},
		{"\xF4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"a\xFFb\x80", "a\uFFFDb\uFFFD"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, LossyUTF8([]byte(tc.in)), "%q", tc.in)
	}
}

func TestByteFallbackDecoderParsing(t *testing.T) {
	tests := []struct {
		tokens []string
		want   string
	}{
		{[]string{"<0xE6>", "<0x97>", "<0xA5>"}, "日"},
		{[]string{"<0xE6>", "x"}, "\uFFFDx"},
		{[]string{"<0xZZ>"}, "<0xZZ>"}, // sugarme panicked here
		{[]string{"<0x+A>"}, "\n"},     // Rust's from_str_radix accepts '+'
		{[]string{"<0x0a>"}, "\n"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, decFuse{}.decode(decByteFallback{}.decode(tc.tokens))[0], "%q", tc.tokens)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, json string }{
		{"not json", `{`},
		{"no model", `{"added_tokens":[]}`},
		{"unigram", `{"model":{"type":"Unigram","vocab":[]}}`},
		{"vocab not object", `{"model":{"type":"BPE","vocab":[],"merges":[]}}`},
		{"negative id", `{"model":{"type":"BPE","vocab":{"a":-1},"merges":[]}}`},
		{"sparse ids", `{"model":{"type":"BPE","vocab":{"a":9999999},"merges":[]}}`},
		{"merge out of vocab", `{"model":{"type":"BPE","vocab":{"a":0,"b":1},"merges":["a b"]}}`},
		{"unknown normalizer", `{"normalizer":{"type":"Nope"},"model":{"type":"BPE","vocab":{},"merges":[]}}`},
		{"bad regex", `{"normalizer":{"type":"Replace","pattern":{"Regex":"("},"content":""},"model":{"type":"BPE","vocab":{},"merges":[]}}`},
		{"suffix model", `{"model":{"type":"BPE","end_of_word_suffix":"</w>","vocab":{},"merges":[]}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadBytes([]byte(tc.json))
			assert.Error(t, err)
		})
	}
}

func TestAccessors(t *testing.T) {
	tests := []struct {
		file          string
		kind          string
		vocab         int
		bos, eos, pad string // "": undefined
	}{
		{"llama-sp", KindSentencePieceBPE, -1, "<s>", "</s>", ""},
		{"gemma-sp", KindSentencePieceBPE, -1, "<bos>", "<eos>", "<pad>"},
		{"metaspace-sp", KindSentencePieceBPE, -1, "<s>", "</s>", ""},
		{"bytelevel-hf", KindByteLevelBPE, -1, "", "<|endoftext|>", ""},
		{"ours-bytelevel", KindByteLevelBPE, oursVocabSize, "", "<|endoftext|>", "<|pad|>"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			tok, err := Load("testdata/" + tc.file + ".tokenizer.json")
			require.NoError(t, err)
			assert.Equal(t, tc.kind, tok.Kind())
			if tc.vocab > 0 {
				assert.Equal(t, tc.vocab, tok.VocabSize())
			}
			for _, c := range []struct {
				get  func() (int, bool)
				want string
			}{{tok.BOS, tc.bos}, {tok.EOS, tc.eos}, {tok.PAD, tc.pad}} {
				id, ok := c.get()
				require.Equal(t, c.want != "", ok, "want %q", c.want)
				if ok {
					assert.Equal(t, c.want, tokenStrings(t, tok, []int{id})[0])
					assert.True(t, tok.IsSpecial(id))
				}
			}
			assert.Len(t, tok.Hash(), 64)
		})
	}
}

// TestPiecewiseMergeIsExact checks the long-word shortcut (merging between
// cuts no vocab token spans, plus the word cache) against one plain BPE run
// over the whole normalized corpus, which is what HF does for Llama/Gemma.
func TestPiecewiseMergeIsExact(t *testing.T) {
	corpus, err := os.ReadFile("testdata/corpus.txt")
	require.NoError(t, err)
	for _, name := range []string{"gemma-sp", "llama-sp"} {
		tok, err := Load("testdata/" + name + ".tokenizer.json")
		require.NoError(t, err)
		whole := tok.model.encodeChunk(tok.normalizer.normalize(string(corpus)), false, nil)
		assert.Equal(t, whole, tok.Encode(string(corpus), false), name)
		assert.Greater(t, len(whole), 1000)
	}
}

func TestConcurrentEncode(t *testing.T) {
	tok, err := Load("testdata/bytelevel-hf.tokenizer.json")
	require.NoError(t, err)
	text := "Concurrent encoders share the word cache: 1999 ---- 日本 😀"
	want := tok.Encode(text, false)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				assert.Equal(t, want, tok.Encode(text, false))
			}
		})
	}
	wg.Wait()
}
