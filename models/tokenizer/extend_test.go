package tokenizer

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	oursExtended = "testdata/ours-bytelevel-extended.tokenizer.json"
	frenchText   = "testdata/french.txt"
	// oursExtendedFirstID leaves ids 600-603 unused, like the padding rows
	// of a model whose vocab_size is rounded up.
	oursExtendedFirstID = 604
	oursExtendedTokens  = 80
)

func extendOurs(t *testing.T, scope ExtendScope, protect ...string) (*Tokenizer, *Tokenizer) {
	t.Helper()
	old, err := Load(oursTokenizer)
	require.NoError(t, err)
	ext, err := Extend(old, []string{frenchText}, ExtendOptions{NewTokens: oursExtendedTokens, FirstID: oursExtendedFirstID, Scope: scope, Protect: protect})
	require.NoError(t, err)
	return old, ext
}

// TestExtendMatchesCommitted re-extends the committed tokenizer and needs
// the committed extension byte for byte: that file is the one HF loaded to
// make ours-bytelevel-extended.golden.json (TestMatchesHuggingFace checks
// that HF encodes and decodes it as we do).
func TestExtendMatchesCommitted(t *testing.T) {
	old, ext := extendOurs(t, ExtendAll)
	if *update {
		require.NoError(t, ext.Save(oursExtended))
	}
	want, err := os.ReadFile(oursExtended)
	require.NoError(t, err, "run scripts/regen_goldens.sh")
	assert.Equal(t, string(want), string(ext.JSON()))
	assert.Equal(t, oursExtendedFirstID+oursExtendedTokens, ext.VocabSize())

	x, err := CheckExtension(old, ext, oursExtendedFirstID)
	require.NoError(t, err)
	require.Len(t, x.Pieces, oursExtendedTokens)
	for k, pieces := range x.Pieces {
		tok, _ := ext.Token(oursExtendedFirstID + k)
		assert.GreaterOrEqual(t, len(pieces), 2, "new token %q replaces at least two old ones", tok)
		assert.Equal(t, old.Decode(pieces), ext.Decode([]int{oursExtendedFirstID + k}), "pieces spell the token")
	}
	french := "Les élèves préparaient la réunion de la semaine prochaine."
	assert.Less(t, len(ext.Encode(french, false)), len(old.Encode(french, false)), "French needs fewer tokens")
	assert.Equal(t, french, ext.Decode(ext.Encode(french, false)))
}

// TestExtendKeepsOldIDs: with scope non-ascii every ASCII text keeps its
// ids; with the old corpus protected, all of its lines do, whatever the
// scope; text with new-language pieces changes.
func TestExtendKeepsOldIDs(t *testing.T) {
	raw, err := os.ReadFile("testdata/texts.json")
	require.NoError(t, err)
	var texts []string
	require.NoError(t, json.Unmarshal(raw, &texts))
	old, nonASCII := extendOurs(t, ExtendNonASCII)
	ascii := 0
	for _, text := range texts {
		if isASCII([]byte(text)) {
			ascii++
			assert.Equal(t, old.Encode(text, true), nonASCII.Encode(text, true), "ASCII text %q", text)
		}
	}
	assert.Greater(t, ascii, 10)
	for id := oursExtendedFirstID; id < nonASCII.VocabSize(); id++ {
		tok, _ := nonASCII.Token(id)
		assert.False(t, isASCII(tokenBytes(tok)), "scope non-ascii learned %q", tok)
	}

	_, protected := extendOurs(t, ExtendAll, "testdata/corpus.txt")
	corpus, err := os.ReadFile("testdata/corpus.txt")
	require.NoError(t, err)
	for _, line := range strings.Split(string(corpus), "\n") {
		assert.Equal(t, old.Encode(line, false), protected.Encode(line, false), "protected line %q", line)
	}
	_, all := extendOurs(t, ExtendAll)
	changed := 0
	for _, line := range strings.Split(string(corpus), "\n") {
		if !assert.ObjectsAreEqual(old.Encode(line, false), all.Encode(line, false)) {
			changed++
		}
	}
	assert.Greater(t, changed, 0, "unprotected, some corpus lines use new merges (else the protected check proves nothing)")
}

func TestCheckExtensionRefuses(t *testing.T) {
	old, ext := extendOurs(t, ExtendAll)
	var file map[string]any
	require.NoError(t, json.Unmarshal(ext.JSON(), &file))
	model := file["model"].(map[string]any)
	merges := model["merges"].([]any)
	mutate := func(change func()) *Tokenizer {
		t.Helper()
		require.NoError(t, json.Unmarshal(ext.JSON(), &file))
		model = file["model"].(map[string]any)
		merges = model["merges"].([]any)
		change()
		raw, err := json.Marshal(file)
		require.NoError(t, err)
		tok, err := LoadBytes(raw)
		require.NoError(t, err)
		return tok
	}
	tests := []struct {
		name, want string
		tok        *Tokenizer
		firstID    int
	}{
		{"new merge first", "new merges must come after all old ones", mutate(func() {
			last := merges[len(merges)-1]
			copy(merges[1:], merges[:len(merges)-1])
			merges[0] = last
		}), oursExtendedFirstID},
		{"old token moved", "old ids must keep their meaning", mutate(func() {
			vocab := model["vocab"].(map[string]any)
			vocab["Ġthe"] = float64(oursExtendedFirstID + oursExtendedTokens)
		}), oursExtendedFirstID},
		{"gap in new ids", "new ids must start at", ext, oursExtendedFirstID + 2},
		{"nothing new", "nothing to add", old, 600},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CheckExtension(old, tc.tok, tc.firstID)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	sp, err := Load("testdata/llama-sp.tokenizer.json")
	require.NoError(t, err)
	_, err = Extend(sp, []string{frenchText}, ExtendOptions{NewTokens: 10, FirstID: sp.VocabSize(), Scope: ExtendAll})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "only byte-level BPE")
}
