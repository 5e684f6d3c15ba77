package tokenizer

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/ours-bytelevel.tokenizer.json from the trainer")

const (
	oursTokenizer = "testdata/ours-bytelevel.tokenizer.json"
	oursVocabSize = 600
)

var oursSpecials = []string{"<|endoftext|>", "<|pad|>"}

// TestTrainMatchesCommitted retrains on the committed corpus and requires the
// committed file byte for byte: training is deterministic, and that file is
// the one HF loaded to make ours-bytelevel.golden.json (TestMatchesHuggingFace).
func TestTrainMatchesCommitted(t *testing.T) {
	tok, err := Train([]string{"testdata/corpus.txt"}, oursVocabSize, oursSpecials)
	require.NoError(t, err)
	if *update {
		require.NoError(t, tok.Save(oursTokenizer))
	}
	want, err := os.ReadFile(oursTokenizer)
	require.NoError(t, err, "run scripts/regen_goldens.sh")
	assert.Equal(t, string(want), string(tok.JSON()))

	assert.Equal(t, oursVocabSize, tok.VocabSize())
	assert.Equal(t, KindByteLevelBPE, tok.Kind())
	eos, ok := tok.EOS()
	assert.True(t, ok)
	assert.Equal(t, 0, eos)
	pad, ok := tok.PAD()
	assert.True(t, ok)
	assert.Equal(t, 1, pad)
	id, ok := tok.TokenID("Ġthe")
	assert.True(t, ok, "a frequent corpus word is one token")
	assert.Greater(t, id, 257)
}

func TestTrainRoundTripsUnseenBytes(t *testing.T) {
	// sugarme's trainer panics on bytes missing from its alphabet; ours seeds
	// all 256, so text from outside the corpus still round-trips.
	dir := t.TempDir()
	corpus := filepath.Join(dir, "tiny.txt")
	require.NoError(t, os.WriteFile(corpus, []byte("aaa bbb aaa bbb aaa ab ab ab\n"), 0o644))
	tok, err := Train([]string{corpus}, 300, nil)
	require.NoError(t, err)
	for _, text := range []string{"aaa", "日本語 😀\t\x00", "ab ab"} {
		ids := tok.Encode(text, false)
		assert.Equal(t, text, tok.Decode(ids))
	}
	assert.Len(t, tok.Encode(" aaa", false), 1, "\" aaa\" is a learned token")
}

func TestTrainErrors(t *testing.T) {
	tests := []struct {
		name      string
		files     []string
		vocabSize int
		specials  []string
	}{
		{"no files", nil, 1000, nil},
		{"vocab below byte alphabet", []string{"testdata/corpus.txt"}, 100, nil},
		{"missing file", []string{"testdata/does-not-exist.txt"}, 1000, nil},
		{"duplicate special", []string{"testdata/corpus.txt"}, 1000, []string{"<s>", "<s>"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Train(tc.files, tc.vocabSize, tc.specials)
			assert.Error(t, err)
		})
	}
}

func TestSaveIsAtomicAndReloadable(t *testing.T) {
	tok, err := Load("testdata/llama-sp.tokenizer.json")
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	require.NoError(t, tok.Save(path))
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temp file left behind")
	again, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, tok.Hash(), again.Hash())
	text := "Größe 日本 😀"
	assert.Equal(t, tok.Encode(text, true), again.Encode(text, true))
	assert.True(t, utf8.ValidString(again.Decode(again.Encode(text, false))))
}
