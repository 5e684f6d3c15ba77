package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/data"
	"github.com/nrgraph/nrgraph/internal/testfixture"
	"github.com/nrgraph/nrgraph/models/tokenizer"
)

// catCorpus is the tiny models' text: 300 sentences of a few words.
func catCorpus() string {
	var corpus strings.Builder
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&corpus, "the cat %d sat on the mat and the dog %d ran. ", i%7, i%5)
	}
	return corpus.String()
}

// tinySetup makes a temp directory holding a tiny model directory
// (dir/model) trained on catCorpus.
func tinySetup(t *testing.T) (dir, model, corpus string) {
	dir, corpus = t.TempDir(), catCorpus()
	model = filepath.Join(dir, "model")
	testfixture.HFModelDir(t, model, corpus)
	return dir, model, corpus
}

// TestCommandsEndToEnd drives the subcommands as a user would: tokenize,
// build, train (twice, resuming), eval, export, inspect, generate.
func TestCommandsEndToEnd(t *testing.T) {
	dir, model, corpus := tinySetup(t)
	text := filepath.Join(dir, "text.jsonl")
	var jl strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&jl, "{\"text\": %q}\n", corpus[i*50:i*50+400])
	}
	require.NoError(t, os.WriteFile(text, []byte(jl.String()), 0o644))

	run := func(name string, args ...string) {
		t.Helper()
		require.NoError(t, subcommands[name].run(args), "nrgraph %s %v", name, args)
	}
	run("tokenize", "--tokenizer", filepath.Join(model, "tokenizer.json"), "--out", filepath.Join(dir, "shards"), "--split", "0.1", text)
	run("build", "--model", model, "--out", filepath.Join(dir, "build"), "--seq", "16", "--method", "lora", "--capacity", "0.1")
	trainArgs := []string{"--build", filepath.Join(dir, "build"), "--new", filepath.Join(dir, "shards"), "--p", "0",
		"--steps", "4", "--batch", "4", "--micro-batch", "2", "--lr", "1e-3", "--warmup", "1", "--save-every", "2",
		"--eval-every", "2", "--eval-new", filepath.Join(dir, "shards.val"), "--eval-batches", "1", "--out", filepath.Join(dir, "run"), "--threads", "1"}
	run("train", trainArgs...)
	// A second invocation without --resume refuses to clobber the run.
	err := subcommands["train"].run(trainArgs)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--resume")
	run("train", append(append([]string{}, trainArgs...), "--resume", "--steps", "6")...)
	evalOut := filepath.Join(dir, "eval.json")
	samples := filepath.Join(dir, "samples.jsonl")
	run("eval", "--build", filepath.Join(dir, "build"), "--checkpoint", filepath.Join(dir, "run"), "--text-target", text, "--text-en", text, "--out", evalOut, "--threads", "1",
		"--task", "group=en,format=mmlu,path=../../evaltasks/testdata/mmlu/data", "--shots", "1", "--metric", "mmlu=acc_norm", "--log-samples", samples)
	logged, err := os.ReadFile(samples)
	require.NoError(t, err)
	assert.Equal(t, 3, strings.Count(string(logged), "\n"), "one line per MMLU question")
	saved, err := os.ReadFile(evalOut)
	require.NoError(t, err)
	for _, want := range []string{`"provenance"`, `"parameters_sha256"`, `"onnxruntime_version"`, `"metric": "acc_norm"`, `"fewshot_source": "../../evaltasks/testdata/mmlu/data/dev/abstract_algebra_dev.csv"`} {
		assert.Contains(t, string(saved), want)
	}
	run("report", "--markdown", filepath.Join(dir, "table.md"), "--plot", filepath.Join(dir, "plot.png"), "--x", "bpb", evalOut)
	run("export", "--build", filepath.Join(dir, "build"), "--checkpoint", filepath.Join(dir, "run"), "--out", filepath.Join(dir, "export"), "--hf", filepath.Join(dir, "hf"))
	for _, f := range []string{"export/model.onnx", "export/adapter_model.safetensors", "export/adapter_config.json", "hf/model.safetensors", "hf/config.json", "table.md"} {
		_, err := os.Stat(filepath.Join(dir, f))
		assert.NoError(t, err, f)
	}
	run("inspect", filepath.Join(dir, "hf"))
	run("generate", filepath.Join(dir, "hf"), "--prompt", "the cat", "--max-new", "3")
	run("generate", "--build", filepath.Join(dir, "build"), "--checkpoint", filepath.Join(dir, "run"), "--prompt", "the dog", "--max-new", "3")
	metrics, err := os.ReadFile(filepath.Join(dir, "run", "metrics.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, 6, strings.Count(string(metrics), "\n"))
}

// TestTokenizeWrapsDocumentsAsHF: documents are wrapped in the BOS and EOS
// that tokenizer_config.json names when it is beside tokenizer.json (as in
// transformers; null: none), and --no-bos / --no-eos drop them.
func TestTokenizeWrapsDocumentsAsHF(t *testing.T) {
	dir := t.TempDir()
	txt := filepath.Join(dir, "doc.txt")
	require.NoError(t, os.WriteFile(txt, []byte("the cat sat on the mat"), 0o644))
	tok, err := tokenizer.Train([]string{txt}, 300, []string{"<s>", "</s>", "<pad>", "<|end|>"})
	require.NoError(t, err)
	tokPath := filepath.Join(dir, "tokenizer.json")
	require.NoError(t, tok.Save(tokPath))
	body := tok.Encode("the cat sat on the mat", false)
	tokens := func(args ...string) []int {
		t.Helper()
		out := filepath.Join(dir, "shard")
		require.NoError(t, subcommands["tokenize"].run(append([]string{"--tokenizer", tokPath, "--out", out}, append(args, txt)...)))
		s, err := data.OpenShard(out + ".bin")
		require.NoError(t, err)
		defer s.Close()
		var ids []int
		for i := int64(0); i < s.Len(); i++ {
			ids = append(ids, int(s.Token(i)))
		}
		return ids
	}
	assert.Equal(t, append(append([]int{0}, body...), 1), tokens(), "special <s> and </s> by name")
	assert.Equal(t, append([]int{0}, body...), tokens("--no-eos"))
	assert.Equal(t, body, tokens("--no-eos", "--no-bos"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"bos_token": null, "eos_token": "<|end|>"}`), 0o644))
	assert.Equal(t, append(append([]int{}, body...), 3), tokens(), "tokenizer_config.json: no BOS, EOS <|end|>")
}
