package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/trainer/experiments"
)

// Bad repro flags are refused by name before ONNX Runtime loads or any
// run starts.
func TestReproFlagsFailByName(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"fr_train", "fr_heldout_same", "en_orig", "en_heldout", "other"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f+".jsonl"), []byte(`{"text":"x"}`+"\n"), 0o644))
	}
	base := []string{"--corpora", dir, "--ort-lib", "/nonexistent/libonnxruntime.so"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--forget", filepath.Join(dir, "other.jsonl")}, `invalid argument "` + filepath.Join(dir, "other.jsonl") + `" for "--forget" flag: --forget`},
		{[]string{"--forget", "en=" + filepath.Join(dir, "missing:x.jsonl")}, "--forget en=" + filepath.Join(dir, "missing:x.jsonl") + ": "},
		{[]string{"--forget", "a=" + filepath.Join(dir, "other.jsonl"), "--forget", "a=" + filepath.Join(dir, "en_heldout.jsonl")}, `share the name "a"`},
		{[]string{"--new-heldout", "en=" + filepath.Join(dir, "other.jsonl")}, `--forget en=` + filepath.Join(dir, "en_heldout.jsonl") + ` and --new-heldout en=`},
		{[]string{"--new-train", "fr=a", "--new-train", "fr=b"}, `"--new-train" flag: given twice`},
		{[]string{"--methods", "finetune,nerual-residues"}, `"--methods" flag: "nerual-residues": want one of finetune, lora`},
		{[]string{"--methods", "lora,lora"}, `"lora" given twice`},
		{[]string{"--seeds", "0"}, "--seeds \"0\": N must be 1..1000"},
		{[]string{"--seeds", "1,1"}, "seed 1 given twice"},
		{[]string{"--p", "0,1.5"}, `--p "1.5": want rates in [0, 1]`},
		{[]string{"--p", "0;0.1"}, `--p "0;0.1"`},
		{[]string{"--ablations", "--methods", "lora"}, "--methods selects Table 2's rows"},
		{[]string{"--steps", "0"}, "--steps 0 must be positive"},
		{[]string{"--extend-vocab", "-1"}, "--extend-vocab -1 must not be negative"},
		{[]string{"--extend-vocab", "8", "--extend-vocab-scope", "latin"}, `"--extend-vocab-scope" flag`},
	} {
		err := subcommands["repro"].run(append(append([]string{}, base...), tc.args...))
		assert.ErrorContains(t, err, tc.want, "%v", tc.args)
	}
}

// The data flags: defaults from --corpora, a repeatable flag's first use
// replaces its default list and later uses add to it.
func TestReproCorpusFlags(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	cs := experiments.DemoCorpora("")
	corpusFlags(fs, &cs)
	require.NoError(t, fs.Parse([]string{"--forget", "en-austen=/d/a.jsonl", "--forget", "en-news=/d/b:c.jsonl", "--new-train", "de=/d/de.jsonl"}))
	got := defaultCorpora(fs, cs, "/corpora")
	assert.Equal(t, []experiments.Corpus{{Name: "en-austen", Path: "/d/a.jsonl", Flag: "--forget"}, {Name: "en-news", Path: "/d/b:c.jsonl", Flag: "--forget"}}, got.Forget)
	assert.Equal(t, experiments.Corpus{Name: "de", Path: "/d/de.jsonl", Flag: "--new-train"}, got.NewTrain)
	assert.Equal(t, experiments.DemoCorpora("/corpora").NewHeldOut, got.NewHeldOut, "flags not given keep the demo's sets")
	assert.Equal(t, "/corpora/en_orig.jsonl", got.OrigTrain.Path)

	var methods []models.Method
	fs2 := pflag.NewFlagSet("t", pflag.ContinueOnError)
	enumListVar(fs2, &methods, "methods", models.Methods, "")
	require.NoError(t, fs2.Parse([]string{"--methods", "neutral-residues, finetune"}))
	assert.Equal(t, []models.Method{models.NeutralResidues, models.Finetune}, methods)
}
