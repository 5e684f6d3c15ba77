package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunCommandLines drives the converters through their command lines,
// as build.sh does, with urls relative to the package directory's parent.
func TestRunCommandLines(t *testing.T) {
	pkgDir := filepath.Join(t.TempDir(), "r-cran-test")
	dataDir := filepath.Join(pkgDir, "data")
	require.NoError(t, os.MkdirAll(dataDir, 0o755))
	rdx := writeLazyLoadDB(t, dataDir, []string{"book"}, [][]string{{"Chapter 1", "", "It is a truth universally acknowledged."}})
	out := filepath.Join(t.TempDir(), "out.jsonl")
	require.NoError(t, run([]string{"rdata", "--out", out, "--root", pkgDir, rdx}))
	docs, err := readJSONL(out)
	require.NoError(t, err)
	assert.Equal(t, []document{{Text: "It is a truth universally acknowledged.", URL: "r-cran-test/data/Rdata.rdb#book/1"}}, docs)

	for _, args := range [][]string{
		{},
		{"nonsense"},
		{"rdata", "--out", out},
		{"dictd", rdx},
		{"split", "--train", out, out},
		{"manifest", "--out", out},
	} {
		assert.Error(t, run(args), "%q", args)
	}
}
