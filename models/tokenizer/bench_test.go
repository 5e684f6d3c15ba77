package tokenizer

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// benchText is ~1 MB of the multilingual corpus (prose in 11 scripts, code,
// numbers, emoji). Throughput is reported as MB/s of UTF-8 input.
func benchText(b *testing.B) string {
	corpus, err := os.ReadFile("testdata/corpus.txt")
	require.NoError(b, err)
	return strings.Repeat(string(corpus), (1<<20)/len(corpus)+1)
}

func BenchmarkEncode(b *testing.B) {
	text := benchText(b)
	for _, name := range []string{"bytelevel-hf", "ours-bytelevel", "llama-sp", "gemma-sp", "metaspace-sp"} {
		tok, err := Load("testdata/" + name + ".tokenizer.json")
		require.NoError(b, err)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				tok.Encode(text, false)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	text := benchText(b)
	for _, name := range []string{"bytelevel-hf", "llama-sp"} {
		tok, err := Load("testdata/" + name + ".tokenizer.json")
		require.NoError(b, err)
		ids := tok.Encode(text, false)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				tok.Decode(ids)
			}
		})
	}
}
