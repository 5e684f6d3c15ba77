package data_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/data"
	"github.com/nrgraph/nrgraph/internal/testfixture"
)

// writeRawShard writes NAME.json and NAME.bin as given (a hostile or
// damaged shard).
func writeRawShard(t testing.TB, stem, index string, bin []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(stem+".json", []byte(index), 0o644))
	require.NoError(t, os.WriteFile(stem+".bin", bin, 0o644))
}

func shardIndexJSON(tokens int64, dtype string, vocab int, docStarts string) string {
	return fmt.Sprintf(`{"format":"nrgraph-tokens-v1","tokenizer_hash":"test-tokenizer","vocab_size":%d,"dtype":%q,"tokens":%d,"bytes":%d,"doc_starts":%s}`,
		vocab, dtype, tokens, 3*max(tokens, 0), docStarts)
}

// Every damaged or hostile shard index is refused when the shard opens,
// naming the file and field: no panic (2^62 tokens overflowed the size
// check), no hang (-2^63 tokens looped forever in Corpus.Read).
func TestShardIndexRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		index string
		bin   []byte
		want  string
	}{
		{"tokens 2^62 with an empty .bin", shardIndexJSON(1<<62, "uint16", 32, "[0]"), nil, "tokens 4611686018427387904 of uint16 is more than any file holds"},
		{"tokens -2^63", shardIndexJSON(math.MinInt64, "uint16", 32, "[]"), nil, "tokens -9223372036854775808 is negative"},
		{"tokens -1 with 2 bytes", shardIndexJSON(-1, "uint16", 32, "[]"), []byte{1, 0}, "tokens -1 is negative"},
		{"size mismatch", shardIndexJSON(10, "uint16", 32, "[0]"), make([]byte, 10), "truncated or mismatched"},
		{"odd size", shardIndexJSON(2, "uint32", 32, "[0]"), make([]byte, 9), "truncated or mismatched"},
		{"unknown dtype", shardIndexJSON(2, "int8", 32, "[0]"), make([]byte, 2), `dtype "int8", want uint16 or uint32`},
		{"vocab_size 0", shardIndexJSON(2, "uint16", 0, "[0]"), make([]byte, 4), "vocab_size 0 must be positive"},
		{"vocab_size beyond uint16", shardIndexJSON(2, "uint16", 70000, "[0]"), make([]byte, 4), "vocab_size 70000 does not fit dtype uint16"},
		{"doc_starts out of order", shardIndexJSON(4, "uint16", 32, "[0,3,1]"), make([]byte, 8), "doc_starts[2] = 1 is out of order"},
		{"doc_starts past the end", shardIndexJSON(4, "uint16", 32, "[0,9]"), make([]byte, 8), "doc_starts[1] = 9 is out of order or past tokens 4"},
		{"negative bytes", strings.Replace(shardIndexJSON(2, "uint16", 32, "[0]"), `"bytes":6`, `"bytes":-6`, 1), make([]byte, 4), "bytes -6 is negative"},
		{"wrong format", strings.Replace(shardIndexJSON(2, "uint16", 32, "[0]"), "v1", "v9", 1), make([]byte, 4), `format "nrgraph-tokens-v9"`},
		{"not JSON", `{"format":`, nil, "unexpected end of JSON input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stem := filepath.Join(t.TempDir(), "shard")
			writeRawShard(t, stem, tc.index, tc.bin)
			_, err := data.OpenCorpus([]string{stem})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), stem, "the message names the file")
		})
	}
}

// tokenize leaves nothing behind when it fails (it left an empty output
// directory), and documents without text are skipped, not tokenized to
// BOS/EOS only.
func TestTokenizeFailureLeavesNoOutput(t *testing.T) {
	enc := testfixture.ByteTokenizer{}
	for _, tc := range []struct {
		name, input, want string
	}{
		{"bad JSONL line", "{\"text\":\"a\"}\nnot json\n", "docs.jsonl:2: invalid character"},
		{"missing field", "{\"body\":\"a\"}\n", `docs.jsonl:1: field "text" is missing or not a string`},
		{"only empty documents", "{\"text\":\"\"}\n{\"text\":\"  \\n\"}\n", "no documents with text in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "docs.jsonl")
			require.NoError(t, os.WriteFile(in, []byte(tc.input), 0o644))
			out := filepath.Join(dir, "shards", "fr", "train")
			_, err := data.Tokenize(context.Background(), data.TokenizeOptions{Inputs: []string{in}, Out: out, Tokenizer: enc,
				TokenizerHash: "h", VocabSize: testfixture.Vocab, BOS: 1, EOS: 2, Split: 0.5, Workers: 2})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			_, statErr := os.Stat(filepath.Join(dir, "shards"))
			assert.True(t, os.IsNotExist(statErr), "no output directory left behind")
		})
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "docs.jsonl")
	require.NoError(t, os.WriteFile(in, []byte("{\"text\":\"\"}\n{\"text\":\"abc\"}\n{\"text\":\" \"}\n"), 0o644))
	st, err := data.Tokenize(context.Background(), data.TokenizeOptions{Inputs: []string{in}, Out: filepath.Join(dir, "s"), Tokenizer: enc,
		TokenizerHash: "h", VocabSize: testfixture.Vocab, BOS: 1, EOS: 2, Workers: 1})
	require.NoError(t, err)
	assert.Equal(t, int64(1), st.Documents)
	assert.Equal(t, int64(2), st.EmptyDocuments)
	assert.Equal(t, int64(5), st.Tokens) // BOS, "abc", EOS
}

// FuzzShardIndex: any index + .bin pair is refused or read without a
// panic or a hang, and every token read is inside the index's vocabulary.
func FuzzShardIndex(f *testing.F) {
	f.Add([]byte(shardIndexJSON(4, "uint16", 32, "[0,2]")), []byte{1, 0, 2, 0, 31, 0, 7, 0})
	f.Add([]byte(shardIndexJSON(2, "uint32", 300, "[0]")), []byte{1, 1, 0, 0, 44, 0, 0, 0})
	f.Add([]byte(shardIndexJSON(1<<62, "uint16", 32, "[0]")), []byte{})
	f.Add([]byte(shardIndexJSON(-1<<63, "uint16", 32, "[]")), []byte{1, 0})
	f.Add([]byte(shardIndexJSON(3, "uint16", 4, "[0,1,1]")), []byte{1, 0, 9, 0, 3, 0})
	f.Fuzz(func(t *testing.T, index, bin []byte) {
		stem := filepath.Join(t.TempDir(), "shard")
		require.NoError(t, os.WriteFile(stem+".json", index, 0o644))
		require.NoError(t, os.WriteFile(stem+".bin", bin, 0o644))
		c, err := data.OpenCorpus([]string{stem})
		if err != nil {
			return
		}
		defer c.Close()
		require.Positive(t, c.Len())
		vocab := int64(c.Shards[0].Index.VocabSize)
		dst := make([]int64, 5)
		for _, pos := range []int64{0, c.Len() - 1, c.Len(), c.Len() * 3 / 2} {
			if c.Read(pos, dst) != nil {
				continue
			}
			for _, id := range dst {
				assert.True(t, id >= 0 && id < vocab, "token %d outside vocabulary %d", id, vocab)
			}
		}
	})
}
