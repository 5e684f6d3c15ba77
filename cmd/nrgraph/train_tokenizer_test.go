package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/models/tokenizer"
)

func TestTrainTokenizerBytesPerFile(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "cats.txt")
	require.NoError(t, os.WriteFile(text, []byte(catCorpus()), 0o644))
	out := filepath.Join(dir, "tokenizer.json")
	train := subcommands["train-tokenizer"].run

	assert.ErrorContains(t, train([]string{"--vocab", "300", "--bytes-per-file", "-1", "--out", out, text}), "--bytes-per-file -1")
	// One line, one unit: taken whole despite the budget, so the tokenizer
	// is the one trained on all of the file.
	require.NoError(t, train([]string{"--vocab", "300", "--bytes-per-file", "5000", "--out", out, text}))
	whole := filepath.Join(dir, "whole.json")
	require.NoError(t, train([]string{"--vocab", "300", "--out", whole, text}))
	tok, err := tokenizer.LoadFile(out)
	require.NoError(t, err)
	assert.Greater(t, tok.VocabSize(), 3+256, "no merges learned")
	got, _ := os.ReadFile(out)
	want, _ := os.ReadFile(whole)
	assert.Equal(t, string(want), string(got))
}
