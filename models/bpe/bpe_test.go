package bpe

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "retrain testdata/tokenizer.json (then rerun testdata/gen_golden.js)")

func texts(t testing.TB) []string {
	raw, err := os.ReadFile("testdata/texts.json")
	require.NoError(t, err)
	var out []string
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}

// trainingText is the deterministic corpus the committed tokenizer is
// trained on: the test texts, repeated with variations so merges form.
func trainingText(t testing.TB) string {
	var b strings.Builder
	for i := 0; i < 20; i++ {
		for _, s := range texts(t) {
			b.WriteString(s)
			b.WriteString("\n")
		}
		b.WriteString(strings.Repeat("the quick brown fox jumps over the lazy dog 1999 ", 3))
	}
	return b.String()
}

// TestGolden: ids from Hugging Face tokenizers (golden.json) equal ours,
// and decoding round-trips.
func TestGolden(t *testing.T) {
	if *update {
		dir := t.TempDir()
		path := filepath.Join(dir, "train.txt")
		require.NoError(t, os.WriteFile(path, []byte(trainingText(t)), 0o644))
		tok, err := Train([]string{path}, 700, 2)
		require.NoError(t, err)
		raw, err := tok.JSON()
		require.NoError(t, err)
		require.NoError(t, os.WriteFile("testdata/tokenizer.json", raw, 0o644))
		t.Skip("retrained testdata/tokenizer.json: now run testdata/gen_golden.js")
	}
	tok, err := Load("testdata/tokenizer.json")
	require.NoError(t, err)
	raw, err := os.ReadFile("testdata/golden.json")
	require.NoError(t, err)
	var golden []struct {
		Text    string `json:"text"`
		IDs     []int  `json:"ids"`
		Decoded string `json:"decoded"`
	}
	require.NoError(t, json.Unmarshal(raw, &golden))
	require.Len(t, golden, len(texts(t)))
	for _, g := range golden {
		ids := tok.Encode(g.Text, false)
		if len(ids) == 0 {
			ids = []int{}
		}
		if len(g.IDs) == 0 {
			g.IDs = []int{}
		}
		assert.Equal(t, g.IDs, ids, "text %q", g.Text)
		assert.Equal(t, g.Text, tok.Decode(ids))
		assert.Equal(t, g.Decoded, tok.Decode(ids))
	}
}

// TestRetrainIsDeterministic: training twice on the same text gives the
// same tokenizer, which round-trips through tokenizer.json.
func TestRetrainIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "train.txt")
	require.NoError(t, os.WriteFile(path, []byte(trainingText(t)), 0o644))
	a, err := Train([]string{path}, 500, 2)
	require.NoError(t, err)
	b, err := Train([]string{path}, 500, 2)
	require.NoError(t, err)
	assert.Equal(t, a.Hash(), b.Hash())
	assert.Equal(t, 500, a.VocabSize())
	raw, err := a.JSON()
	require.NoError(t, err)
	back, err := Parse(raw)
	require.NoError(t, err)
	for _, s := range texts(t) {
		assert.Equal(t, a.Encode(s, true), back.Encode(s, true))
	}
	assert.Equal(t, a.BOS, a.Encode("x", true)[0])
	// Text containing a special token encodes it as one id.
	ids := a.Encode("a</s>b", false)
	assert.Contains(t, ids, a.EOS)
}

func TestParseRejectsOtherKinds(t *testing.T) {
	_, err := Parse([]byte(`{"model": {"type": "Unigram"}, "pre_tokenizer": {"type": "Metaspace"}}`))
	assert.ErrorContains(t, err, "byte-level BPE")
	_, err = Parse([]byte(`{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a a"]}, "pre_tokenizer": {"type": "ByteLevel"}}`))
	assert.ErrorContains(t, err, "not in the vocabulary")
}

// FuzzEncode: any valid UTF-8 round-trips; arbitrary tokenizer.json bytes
// never panic.
func FuzzEncode(f *testing.F) {
	tok, err := Load("testdata/tokenizer.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"hello", "  a\tb\n", "😀👍🏽", "1999", "'s 're"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		if got := tok.Decode(tok.Encode(s, false)); got != s && !strings.Contains(s, "</s>") && !strings.Contains(s, "<s>") && !strings.Contains(s, "<pad>") {
			t.Fatalf("round trip of %q gave %q", s, got)
		}
	})
}

func FuzzParse(f *testing.F) {
	raw, _ := os.ReadFile("testdata/tokenizer.json")
	f.Add(raw)
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{},"merges":[]},"pre_tokenizer":{"type":"ByteLevel"}}`))
	f.Fuzz(func(t *testing.T, data []byte) { _, _ = Parse(data) })
}
