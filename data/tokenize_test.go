package data_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/data"
	"github.com/nrgraph/nrgraph/internal/testfixture"
)

func TestTokenizeIsDeterministicAndSplits(t *testing.T) {
	dir := t.TempDir()
	var lines []byte
	for i := 0; i < 200; i++ {
		lines = append(lines, []byte(fmt.Sprintf(`{"text": "document number %d with some words"}`+"\n", i))...)
	}
	in := filepath.Join(dir, "in.jsonl")
	require.NoError(t, os.WriteFile(in, lines, 0o644))
	run := func(out string, workers int) data.TokenizeStats {
		st, err := data.Tokenize(context.Background(), data.TokenizeOptions{Inputs: []string{in}, Out: out, Tokenizer: testfixture.ByteTokenizer{}, TokenizerHash: "bytes", VocabSize: testfixture.Vocab, BOS: 1, EOS: 2, Split: 0.1, Workers: workers})
		require.NoError(t, err)
		return st
	}
	a := run(filepath.Join(dir, "a"), 1)
	b := run(filepath.Join(dir, "b"), 4)
	b.Seconds = a.Seconds
	assert.Equal(t, a, b)
	assert.Equal(t, int64(200), a.Documents+a.ValDocuments)
	assert.InDelta(t, 20, a.ValDocuments, 12)
	ra, _ := os.ReadFile(filepath.Join(dir, "a.bin"))
	rb, _ := os.ReadFile(filepath.Join(dir, "b.bin"))
	assert.Equal(t, ra, rb, "output depends on the worker count")
	c, err := data.OpenCorpus([]string{filepath.Join(dir, "a")})
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, a.Tokens, c.Len())
	first := make([]int64, 3)
	c.Read(0, first)
	assert.Equal(t, []int64{1, int64('d') % testfixture.Vocab, int64('o') % testfixture.Vocab}, first)

	bad := filepath.Join(dir, "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte("{\"text\": \"ok\"}\n{\"body\": \"no text\"}\n"), 0o644))
	_, err = data.Tokenize(context.Background(), data.TokenizeOptions{Inputs: []string{bad}, Out: filepath.Join(dir, "c"), Tokenizer: testfixture.ByteTokenizer{}, VocabSize: testfixture.Vocab, BOS: -1, EOS: -1})
	assert.ErrorContains(t, err, "bad.jsonl:2")
}

func TestTrainTokenizerFromJSONL(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "docs.jsonl")
	var lines []byte
	for i := 0; i < 50; i++ {
		lines = append(lines, []byte(fmt.Sprintf(`{"text": "le chat %d dort sur le tapis"}`+"\n", i))...)
	}
	require.NoError(t, os.WriteFile(path, lines, 0o644))
	tok, err := data.TrainTokenizer([]string{path}, "text", 300, []string{"<s>", "</s>"})
	require.NoError(t, err)
	ids := tok.Encode("le chat dort", false)
	assert.Less(t, len(ids), len("le chat dort"), "no merges learned from the JSONL text")
	assert.Equal(t, "le chat dort", tok.DecodeSkipSpecial(ids))
	_, err = data.TrainTokenizer([]string{filepath.Join(dir, "missing.jsonl")}, "text", 300, nil)
	assert.Error(t, err)
}
