package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goldenFile is written by scripts/gen_goldens.js from HF tokenizers.
type goldenFile struct {
	Tokenizer string `json:"tokenizer"`
	Cases     []struct {
		Text                  string `json:"text"`
		IDs                   []int  `json:"ids"`
		IDsSpecial            []int  `json:"ids_special"`
		Decoded               string `json:"decoded"`
		DecodedSpecialSkipped string `json:"decoded_special_skipped"`
	} `json:"cases"`
}

func loadGolden(t *testing.T, path string) goldenFile {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var g goldenFile
	require.NoError(t, json.Unmarshal(data, &g))
	require.NotEmpty(t, g.Cases, path)
	return g
}

// TestMatchesHuggingFace checks every committed tokenizer against the ids and
// decodings HF's Node binding produced for testdata/texts.json.
func TestMatchesHuggingFace(t *testing.T) {
	goldens, err := filepath.Glob("testdata/*.golden.json")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(goldens), 5, "regenerate with scripts/regen_goldens.sh")
	for _, path := range goldens {
		g := loadGolden(t, path)
		t.Run(strings.TrimSuffix(g.Tokenizer, ".tokenizer.json"), func(t *testing.T) {
			tok, err := Load(filepath.Join("testdata", g.Tokenizer))
			require.NoError(t, err)
			checkGolden(t, tok, g)
		})
	}
}

// checkGolden compares encodings (with and without special tokens) and
// decodings with HF's.
func checkGolden(t *testing.T, tok *Tokenizer, g goldenFile) {
	t.Helper()
	for i, c := range g.Cases {
		assert.Equal(t, c.IDs, nonNil(tok.Encode(c.Text, false)), "case %d %q", i, c.Text)
		assert.Equal(t, c.IDsSpecial, nonNil(tok.Encode(c.Text, true)), "case %d %q with specials", i, c.Text)
		assert.Equal(t, c.Decoded, tok.Decode(c.IDs), "case %d %q decode", i, c.Text)
		assert.Equal(t, c.DecodedSpecialSkipped, tok.DecodeSkipSpecial(c.IDsSpecial), "case %d %q decode skipping specials", i, c.Text)
	}
}

func nonNil(ids []int) []int {
	if ids == nil {
		return []int{}
	}
	return ids
}
