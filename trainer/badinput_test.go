package trainer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/data"
	"github.com/nrgraph/nrgraph/internal/testfixture"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
)

// A .bin holding ids its index's vocabulary does not have is an error
// naming the shard and position when the batch is drawn, before ONNX
// Runtime sees it (it was a raw Gather error at step 1).
func TestTokenOutsideVocabularyNamedBeforeTheGraph(t *testing.T) {
	f := newFixture(t, models.NeutralResidues)
	bad := filepath.Join(t.TempDir(), "bad")
	testfixture.WriteShard(t, bad, 200, func(i int) int { return i % testfixture.Vocab })
	raw, err := os.ReadFile(bad + ".bin")
	require.NoError(t, err)
	raw[2*150] = 40 // uint16 little-endian: token 150 becomes 40 >= vocab 32
	require.NoError(t, os.WriteFile(bad+".bin", raw, 0o644))
	cfg := f.config(filepath.Join(t.TempDir(), "run"), 20)
	cfg.New, cfg.P = []string{bad}, 0
	tr, err := New(cfg, false, io.Discard)
	require.NoError(t, err)
	defer tr.Close()
	err = tr.Run(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--new: "+bad+".bin: token 40 at position 150 is outside the vocabulary of 32")
}

// Training, original-domain and held-out shards are all checked against
// the build and each other before any compute.
func TestCorporaCheckedAgainstTheBuild(t *testing.T) {
	f := newFixture(t, models.NeutralResidues)
	dir := t.TempDir()
	shard := func(name, tokHash string, vocab, tokens int) string {
		stem := filepath.Join(dir, name)
		w, err := data.CreateShard(stem, tokHash, vocab)
		require.NoError(t, err)
		ids := make([]int, tokens)
		for i := range ids {
			ids[i] = i % testfixture.Vocab
		}
		require.NoError(t, w.AddDocument(ids, tokens))
		require.NoError(t, w.Close())
		return stem
	}
	// 100 empty documents, each only BOS and EOS (as tokenize wrote them).
	emptyDocs := filepath.Join(dir, "empty-docs")
	w, err := data.CreateShard(emptyDocs, "test-tokenizer", testfixture.Vocab)
	require.NoError(t, err)
	for i := 0; i < 100; i++ {
		require.NoError(t, w.AddDocument([]int{1, 2}, 0))
	}
	require.NoError(t, w.Close())
	other := shard("other", "another-tokenizer", testfixture.Vocab, 400)
	tiny := shard("tiny", "test-tokenizer", testfixture.Vocab, 3)
	wide := shard("wide", "test-tokenizer", 64, 400)
	modelTok := shard("model-tok", "model-tokenizer", testfixture.Vocab, 400)
	// A build that records its tokenizer (as `nrgraph build` now always does
	// unless --no-tokenizer).
	withTok := filepath.Join(dir, "build-with-tokenizer")
	require.NoError(t, os.CopyFS(withTok, os.DirFS(f.Build)))
	man, err := build.ReadManifest(withTok)
	require.NoError(t, err)
	man.TokenizerHash = "model-tokenizer"
	require.NoError(t, man.Write(withTok))

	for _, tc := range []struct {
		name string
		edit func(c *RunConfig)
		want string
	}{
		{"--new of another tokenizer than the build's", func(c *RunConfig) { c.Build = withTok }, "--new: " + f.NewShard + ".bin was tokenized with tokenizer test-tokeniz, but the build's model uses model-tokeni"},
		{"--eval-new of another tokenizer", func(c *RunConfig) { c.EvalNew = []string{other} }, "--eval-new: " + other + ".bin was tokenized with tokenizer another-toke, but --new with test-tokeniz"},
		{"--eval-orig of another tokenizer than the build's", func(c *RunConfig) {
			c.Build, c.New, c.P, c.EvalOrig = withTok, []string{modelTok}, 0, []string{f.EvalOrig}
		}, "--eval-orig: " + f.EvalOrig + ".bin was tokenized with tokenizer test-tokeniz, but the build's model uses model-tokeni"},
		{"--eval-orig too short", func(c *RunConfig) { c.EvalOrig = []string{tiny} }, "--eval-orig: 3 tokens, fewer than one sequence of 17 (the build's --seq 16"},
		{"--new of 3 tokens", func(c *RunConfig) { c.New = []string{tiny} }, "--new: 3 tokens, fewer than one sequence of 17"},
		{"--new of only empty documents", func(c *RunConfig) { c.New = []string{emptyDocs} }, "--new: 200 tokens but no text (bytes 0 in every index): only empty documents"},
		{"--eval-new of only empty documents", func(c *RunConfig) { c.EvalNew = []string{emptyDocs} }, "--eval-new: 200 tokens but no text"},
		{"--orig of 3 tokens", func(c *RunConfig) { c.Orig = []string{tiny} }, "--orig: 3 tokens"},
		{"--orig of another tokenizer", func(c *RunConfig) { c.Orig = []string{other} }, "tokenized differently"},
		{"a vocabulary wider than the model's", func(c *RunConfig) { c.New = []string{wide} }, "--new: " + wide + ".bin was tokenized with a vocabulary of 64, larger than the model's vocab_size 32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := f.config(filepath.Join(t.TempDir(), "run"), 2)
			tc.edit(&cfg)
			_, err := New(cfg, false, io.Discard)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			_, statErr := os.Stat(cfg.Out)
			assert.True(t, os.IsNotExist(statErr), "nothing is written to --out")
		})
	}
}

// Bad run settings are refused by name before anything opens; the config
// hash no longer swallows a marshal error (NaN hashed as sha256("")).
func TestRunConfigRefused(t *testing.T) {
	base := RunConfig{Build: "b", New: []string{"n"}, Orig: []string{"o"}, P: 0.1, Steps: 10, Batch: 4, LR: 1e-3, Out: "o"}
	for _, tc := range []struct {
		edit func(c *RunConfig)
		want string
	}{
		{func(c *RunConfig) { c.P = math.NaN() }, "--p NaN outside [0, 1]"},
		{func(c *RunConfig) { c.P = 1.5 }, "--p 1.5 outside [0, 1]"},
		{func(c *RunConfig) { c.KeepLast = -1 }, "--keep-last -1 must not be negative"},
		{func(c *RunConfig) { c.SaveEvery = -5 }, "--save-every -5 must not be negative"},
		{func(c *RunConfig) { c.EvalEvery = -1 }, "--eval-every -1 must not be negative"},
		{func(c *RunConfig) { c.EvalBatches = -2 }, "--eval-batches -2 must not be negative"},
		{func(c *RunConfig) { c.Threads = -1 }, "--threads -1 must not be negative"},
		{func(c *RunConfig) { c.LR = math.Inf(1) }, "--lr +Inf must be finite"},
		{func(c *RunConfig) { c.LR = math.NaN() }, "learning rate NaN must be positive"},
		{func(c *RunConfig) { c.MinLRRatio = math.NaN() }, "--min-lr-ratio NaN outside [0, 1]"},
		{func(c *RunConfig) { c.MinLRRatio = 2 }, "--min-lr-ratio 2 outside [0, 1]"},
		{func(c *RunConfig) { c.DataOrder = "random" }, `--data-order "random": want shuffled or sequential`},
	} {
		c := base
		tc.edit(&c)
		c.Defaults()
		err := c.Validate()
		require.Error(t, err, tc.want)
		assert.Equal(t, tc.want, err.Error())
	}
	c := base
	c.P = math.NaN()
	_, err := c.Hash()
	assert.ErrorContains(t, err, "run configuration: json: unsupported value: NaN")
}

// An update that overflows (lr 1e39) leaves the loss and gradient norm of
// its own step finite; the parameters are checked before a checkpoint is
// written, so no non-finite checkpoint replaces the last good one.
func TestNonFiniteParametersAreNotCheckpointed(t *testing.T) {
	f := newFixture(t, models.NeutralResidues)
	for _, tc := range []struct {
		name     string
		prior    int // steps trained (and saved) at a sane lr first
		want     string
		wantKept string
	}{
		{"first checkpoint", 0, "no checkpoint was written", ""},
		{"after a good checkpoint", 2, "the last checkpoint (step 2) is intact", "step-00000002"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run")
			if tc.prior > 0 {
				train(t, f.config(out, tc.prior), false).Close()
			}
			cfg := f.config(out, tc.prior+1)
			cfg.LR, cfg.Warmup, cfg.Schedule = 1e39, 0, "constant"
			if tc.prior > 0 {
				// lr is in the config hash: a resume at another lr is refused,
				// so this run goes on from a copy under the new settings.
				cfg.Out = filepath.Join(t.TempDir(), "run-hot")
				require.NoError(t, os.CopyFS(cfg.Out, os.DirFS(out)))
				rewriteCheckpointConfig(t, cfg)
			}
			tr, err := New(cfg, tc.prior > 0, io.Discard)
			require.NoError(t, err)
			defer tr.Close()
			err = tr.Run(context.Background())
			require.ErrorIs(t, err, ErrNonFinite)
			assert.Contains(t, err.Error(), fmt.Sprintf("step %d: ", tc.prior+1))
			assert.Contains(t, err.Error(), "non-finite values")
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "lower --lr and start a new --out (lr is part of the run's configuration")
			latest, err := build.LatestCheckpoint(filepath.Join(cfg.Out, build.CheckpointsDir))
			require.NoError(t, err)
			if tc.wantKept == "" {
				assert.Empty(t, latest)
			} else {
				assert.Equal(t, tc.wantKept, filepath.Base(latest))
			}
		})
	}
}

// rewriteCheckpointConfig stamps cfg's hash into every checkpoint of
// cfg.Out (the test's stand-in for "a run whose lr was raised").
func rewriteCheckpointConfig(t *testing.T, cfg RunConfig) {
	all, err := build.ListCheckpoints(filepath.Join(cfg.Out, build.CheckpointsDir))
	require.NoError(t, err)
	cfg.Defaults()
	for _, dir := range all {
		path := filepath.Join(dir, build.TrainerFile)
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		var st trainerState
		require.NoError(t, json.Unmarshal(raw, &st))
		st.ConfigHash, err = cfg.Hash()
		require.NoError(t, err)
		hashed := cfg.hashed()
		st.Config = &hashed
		raw, err = json.Marshal(st)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, raw, 0o644))
	}
}

// A refused resume names what changed (it blamed "data, batch, lr,
// schedule or seed" for a moved build directory).
func TestResumeNamesWhatChanged(t *testing.T) {
	f := newFixture(t, models.NeutralResidues)
	cfg := f.config(filepath.Join(t.TempDir(), "run"), 2)
	train(t, cfg, false).Close()
	moved := filepath.Join(t.TempDir(), "moved-build")
	require.NoError(t, os.CopyFS(moved, os.DirFS(f.Build)))
	for _, tc := range []struct {
		edit func(c *RunConfig)
		want string
	}{
		{func(c *RunConfig) { c.LR = 0.02 }, "(lr 0.01, now 0.02)"},
		{func(c *RunConfig) { c.Build = moved }, fmt.Sprintf("(build %q, now %q)", f.Build, moved)},
		{func(c *RunConfig) { c.Seed, c.Batch = 8, 8 }, "(batch 4, now 8; micro_batch 4, now 8; seed 7, now 8)"},
	} {
		c := cfg
		tc.edit(&c)
		_, err := New(c, true, io.Discard)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
		assert.Contains(t, err.Error(), "restore them, or start a new --out")
	}
}

// A kill during a checkpoint write leaves .tmp-step-* behind and
// metrics.jsonl ahead of the last checkpoint; a resume removes the first
// and cuts the second back to the restored step, so every step is logged
// once.
func TestResumeCleansUpAfterAKill(t *testing.T) {
	f := newFixture(t, models.NeutralResidues)
	cfg := f.config(filepath.Join(t.TempDir(), "run"), 4)
	train(t, cfg, false).Close()
	stale := filepath.Join(cfg.Out, build.CheckpointsDir, tmpCheckpointPrefix+"123456")
	require.NoError(t, os.MkdirAll(stale, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(stale, build.StateFile+".tmp"), make([]byte, 1000), 0o644))
	metrics := filepath.Join(cfg.Out, metricsFile)
	mf, err := os.OpenFile(metrics, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = mf.WriteString(`{"step":5,"loss":1}` + "\n" + `{"step":6,"lo`)
	require.NoError(t, err)
	require.NoError(t, mf.Close())

	cfg.Steps = 6
	train(t, cfg, true).Close()
	_, err = os.Stat(stale)
	assert.True(t, os.IsNotExist(err), "stale temp checkpoint removed")
	raw, err := os.ReadFile(metrics)
	require.NoError(t, err)
	var steps []int
	for _, line := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
		var m Metrics
		require.NoError(t, json.Unmarshal(line, &m), "%s", line)
		steps = append(steps, m.Step)
	}
	assert.Equal(t, []int{1, 2, 3, 4, 5, 6}, steps)
}

// A checkpoint is refused by eval and export (build.CheckpointStateFile)
// on another build: a ReLU-gate run and a sigmoid-gate build have the same
// tensor names and shapes, so it scored without a word.
func TestCheckpointOfAnotherBuildRefused(t *testing.T) {
	relu := newFixture(t, models.NeutralResidues)
	run := filepath.Join(t.TempDir(), "run")
	train(t, relu.config(run, 2), false).Close()
	sigmoid := newFixture(t, models.SigmoidGate)
	for _, b := range []struct {
		dir, want string
	}{
		{sigmoid.Build, fmt.Sprintf("was trained on build %s, not %s", relu.Build, sigmoid.Build)},
		{relu.Build, ""},
	} {
		man, err := build.ReadManifest(b.dir)
		require.NoError(t, err)
		for _, ckpt := range []string{run, filepath.Join(run, build.CheckpointsDir, "step-00000002"), filepath.Join(run, build.CheckpointsDir, "step-00000002", build.StateFile)} {
			_, err = build.CheckpointStateFile(ckpt, man, b.dir)
			if b.want == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, b.want)
			}
		}
	}
}
