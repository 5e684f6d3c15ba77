package data

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteEvenSample(t *testing.T) {
	dir := t.TempDir()
	jsonl := filepath.Join(dir, "docs.jsonl")
	var lines []string
	for i := range 100 {
		lines = append(lines, fmt.Sprintf(`{"text": "doc%06d"}`, i)) // 9 bytes of text each
	}
	require.NoError(t, os.WriteFile(jsonl, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	single := filepath.Join(dir, "single.jsonl")
	require.NoError(t, os.WriteFile(single, []byte(`{"text": "a single long line"}`), 0o644))
	txt := filepath.Join(dir, "lines.txt")
	require.NoError(t, os.WriteFile(txt, []byte("one\ntwo\nthree\nfour\n"), 0o644))

	tests := []struct {
		name, path string
		budget     int64
		want       string
	}{
		// 225 of 900 bytes: r = 1/4, so every 4th document from the first.
		{"quarter", jsonl, 225, evenDocs(0, 4, 25)},
		{"whole when the budget exceeds the file", jsonl, 1 << 20, evenDocs(0, 1, 100)},
		// 10 of 19 bytes: r = 10/19 keeps lines 1 and 3.
		{"lines of a text file", txt, 10, "one\nthree\n"},
		{"one unit is taken whole", single, 5, "a single long line\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(dir, "out.txt")
			require.NoError(t, writeEvenSample(tc.path, "text", tc.budget, dst))
			got, err := os.ReadFile(dst)
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))
		})
	}

	empty := filepath.Join(dir, "empty.jsonl")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	assert.ErrorContains(t, writeEvenSample(empty, "text", 10, filepath.Join(dir, "x.txt")), "empty.jsonl: no text to sample")
}

// evenDocs is the sample writeEvenSample should write: n documents from
// first, step apart, each followed by a blank line.
func evenDocs(first, step, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "doc%06d\n\n", first+i*step)
	}
	return b.String()
}

// A small language next to a large one: trained on everything, the
// merges go to the large file's words and the small language's word stays
// in pieces; balanced, it gets most of them.
func TestTrainTokenizerBalancedGivesSmallLanguagesPieces(t *testing.T) {
	dir := t.TempDir()
	write := func(name, words string, docs int) string {
		var b strings.Builder
		for range docs {
			fmt.Fprintf(&b, `{"text": %q}`+"\n", words)
		}
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
		return path
	}
	english := write("en.jsonl", "understanding is a mind at work", 2000)
	french := write("fr.jsonl", "compréhension", 300)
	const vocab = 256 + 2 + 13 // the French word is 14 bytes
	specials := []string{"<s>", "</s>"}

	all, err := TrainTokenizer([]string{english, french}, "text", vocab, specials)
	require.NoError(t, err)
	balanced, err := TrainTokenizerBalanced([]string{english, french}, "text", vocab, specials, 4200)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		tok  interface{ Encode(string, bool) []int }
		want int
	}{{"all text", all, 14}, {"balanced", balanced, 2}} {
		assert.Len(t, tc.tok.Encode("compréhension", false), tc.want, tc.name)
	}
	assert.Equal(t, "compréhension", balanced.DecodeSkipSpecial(balanced.Encode("compréhension", false)))

	_, err = TrainTokenizerBalanced([]string{english}, "text", vocab, specials, 0)
	assert.ErrorContains(t, err, "bytes per file must be positive")
	_, err = TrainTokenizerBalanced([]string{filepath.Join(dir, "missing.jsonl")}, "text", vocab, specials, 100)
	assert.ErrorContains(t, err, "missing.jsonl")
}
