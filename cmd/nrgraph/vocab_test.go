package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/models/build"
)

// TestVocabExtensionEndToEnd: build --extend-vocab learns new tokens on
// new-language text, the build records them and its extended tokenizer,
// shards of the model's own tokenizer are refused with the remedy, shards
// of the extended one train, and export ships the tokenizer with the new
// rows. Contradictory flags fail before anything is written.
func TestVocabExtensionEndToEnd(t *testing.T) {
	dir, model, corpus := tinySetup(t)
	write := func(name, text string) string {
		var jl strings.Builder
		for i := 0; i < 30; i++ {
			fmt.Fprintf(&jl, "{\"text\": %q}\n", text)
		}
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(jl.String()), 0o644))
		return path
	}
	fr := write("fr.jsonl", "le chat était assis sur le tapis et le chien a couru à l'école près du lac. ")
	en := write("en.jsonl", corpus[:400])
	run := func(name string, args ...string) error { return subcommands[name].run(args) }
	buildDir := filepath.Join(dir, "build")
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--extend-vocab", "20"}, "needs --extend-vocab-corpus"},
		{[]string{"--extend-vocab-corpus", fr}, "without --extend-vocab N"},
		{[]string{"--extend-vocab", "20", "--extend-tokenizer", filepath.Join(model, "tokenizer.json")}, "use one"},
		{[]string{"--extend-tokenizer", filepath.Join(model, "tokenizer.json")}, "nothing to add"},
	} {
		err := run("build", append([]string{"--model", model, "--out", buildDir, "--seq", "16"}, bad.args...)...)
		require.ErrorContains(t, err, bad.want, "%v", bad.args)
		assert.NoDirExists(t, buildDir)
	}
	require.NoError(t, run("build", "--model", model, "--out", buildDir, "--seq", "16", "--capacity", "0.5",
		"--extend-vocab", "20", "--extend-vocab-corpus", fr, "--extend-vocab-protect", en))
	man, err := build.ReadManifest(buildDir)
	require.NoError(t, err)
	assert.Greater(t, man.Extension.NewTokens, 0)
	assert.LessOrEqual(t, man.Extension.NewTokens, 20)
	assert.NotEqual(t, man.TokenizerHash, man.BaseTokenizerHash)

	require.NoError(t, run("tokenize", "--tokenizer", filepath.Join(model, "tokenizer.json"), "--out", filepath.Join(dir, "old"), fr))
	require.NoError(t, run("tokenize", "--tokenizer", filepath.Join(buildDir, "tokenizer.json"), "--out", filepath.Join(dir, "new"), fr))
	trainArgs := func(shards, out string) []string {
		return []string{"--build", buildDir, "--new", filepath.Join(dir, shards), "--p", "0", "--steps", "2", "--batch", "2", "--lr", "1e-3",
			"--warmup", "1", "--out", filepath.Join(dir, out), "--threads", "1"}
	}
	err = run("train", trainArgs("old", "run_old")...)
	require.ErrorContains(t, err, "re-run `nrgraph tokenize` with "+filepath.Join(buildDir, "tokenizer.json"))
	require.NoError(t, run("train", trainArgs("new", "run")...))
	require.NoError(t, run("export", "--build", buildDir, "--checkpoint", filepath.Join(dir, "run"), "--out", filepath.Join(dir, "export")))
	for _, f := range []string{"model.onnx", "adapter_model.safetensors", "tokenizer.json"} {
		assert.FileExists(t, filepath.Join(dir, "export", f))
	}
}
