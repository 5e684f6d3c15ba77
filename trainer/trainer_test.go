package trainer

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/data"
	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/internal/testfixture"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
)

// fixture is a testfixture.Run with the run configuration these tests train with.
type fixture struct{ testfixture.Run }

func newFixture(t testing.TB, method models.Method) fixture {
	return fixture{testfixture.New(t, method)}
}

func (f fixture) config(out string, steps int) RunConfig {
	return RunConfig{Build: f.Build, New: []string{f.NewShard}, Orig: []string{f.OrigShard}, P: 0.25, Steps: steps, Batch: 4,
		LR: 1e-2, Warmup: 2, Schedule: "cosine", Out: out, Seed: 7, Threads: 1, SaveEvery: 2, KeepLast: 2}
}

func train(t *testing.T, cfg RunConfig, resume bool) *Trainer {
	tr, err := New(cfg, resume, io.Discard)
	require.NoError(t, err)
	t.Cleanup(tr.Close)
	require.NoError(t, tr.Run(context.Background()))
	return tr
}

func TestLossDecreasesAndEvalRuns(t *testing.T) {
	f := newFixture(t, models.NeutralResidues)
	cfg := f.config(filepath.Join(t.TempDir(), "run"), 40)
	cfg.EvalEvery, cfg.EvalNew, cfg.EvalOrig, cfg.EvalBatches = 20, []string{f.EvalNew}, []string{f.EvalOrig}, 2
	var first, last *Metrics
	tr, err := New(cfg, false, io.Discard)
	require.NoError(t, err)
	defer tr.Close()
	tr.AfterStep = func(m *Metrics) {
		if first == nil {
			first = m
		}
		last = m
	}
	require.NoError(t, tr.Run(context.Background()))
	assert.Less(t, last.LMLoss, first.LMLoss-0.5, "LM loss did not decrease: %v -> %v", first.LMLoss, last.LMLoss)
	require.NotNil(t, last.Eval)
	assert.Positive(t, last.Eval["new"].BitsPerByte)
	assert.Positive(t, last.Eval["orig"].BitsPerByte)
	// Metrics were logged for every step.
	raw, err := os.ReadFile(filepath.Join(cfg.Out, "metrics.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, 40, countLines(raw))
}

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}

// TestResumeIsBitIdentical: 2N steps in one go equal N steps, a resume and
// N more, bit for bit (parameters, moments and data order), in either data
// order.
func TestResumeIsBitIdentical(t *testing.T) {
	for _, tc := range []struct {
		micro int
		order DataOrder
	}{{4, Shuffled}, {2, Shuffled}, {4, Sequential}, {2, Sequential}} { // fused step, and grad+apply accumulation
		micro := tc.micro
		f := newFixture(t, models.NeutralResidues)
		straightCfg := f.config(filepath.Join(t.TempDir(), "straight"), 6)
		straightCfg.MicroBatch, straightCfg.DataOrder = micro, tc.order
		straight := train(t, straightCfg, false)

		// Interrupt after 3 steps (as SIGINT does: checkpoint, then stop).
		splitCfg := f.config(filepath.Join(t.TempDir(), "split"), 6)
		splitCfg.MicroBatch, splitCfg.DataOrder = micro, tc.order
		splitCfg.SaveEvery = 0
		first, err := New(splitCfg, false, io.Discard)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		first.AfterStep = func(m *Metrics) {
			if m.Step == 3 {
				cancel()
			}
		}
		require.ErrorIs(t, first.Run(ctx), ErrInterrupted)
		assert.Equal(t, 3, first.Step())
		first.Close()
		resumed := train(t, splitCfg, true)
		assert.Equal(t, 6, resumed.Step())
		a, b := straight.Params(), resumed.Params()
		for name, va := range a {
			vb := b[name]
			require.Equal(t, len(va), len(vb))
			for i := range va {
				if math.Float32bits(va[i]) != math.Float32bits(vb[i]) {
					t.Fatalf("micro-batch %d, %s order: %s[%d] differs after resume: %v vs %v", micro, tc.order, name, i, va[i], vb[i])
				}
			}
		}
	}
}

func TestOnlyAdaptersChange(t *testing.T) {
	f := newFixture(t, models.NeutralResidues)
	tr := train(t, f.config(filepath.Join(t.TempDir(), "run"), 3), false)
	init, err := build.ReadTensors(filepath.Join(f.Build, build.InitFile))
	require.NoError(t, err)
	for name, v := range tr.Params() {
		assert.Contains(t, name, ".adapter.", "a backbone tensor is trainable")
		if strings.Contains(name, "w_out") {
			assert.NotEqual(t, init[name], v, "%s did not train", name)
		}
	}
}

func TestNaNStopsWithStepAndMetricAndKeepsCheckpoint(t *testing.T) {
	f := newFixture(t, models.NeutralResidues)
	cfg := f.config(filepath.Join(t.TempDir(), "run"), 4)
	train(t, cfg, false).Close()
	cfg.Steps = 8
	tr, err := New(cfg, true, io.Discard)
	require.NoError(t, err)
	defer tr.Close()
	tr.AfterStep = func(m *Metrics) {
		if m.Step == 6 {
			m.GradNorm = math.NaN()
		}
	}
	err = tr.Run(context.Background())
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrNonFinite))
	assert.Contains(t, err.Error(), "step 6")
	assert.Contains(t, err.Error(), "grad_norm")
	latest, err := build.LatestCheckpoint(filepath.Join(cfg.Out, build.CheckpointsDir))
	require.NoError(t, err)
	assert.Equal(t, "step-00000004", filepath.Base(latest))
	_, err = build.ReadTensors(filepath.Join(latest, build.StateFile))
	require.NoError(t, err)
}

func TestBadInputsFailBeforeTraining(t *testing.T) {
	f := newFixture(t, models.NeutralResidues)
	dir := t.TempDir()
	// A shard from another tokenizer.
	other := filepath.Join(dir, "other")
	w, err := data.CreateShard(other, "another-tokenizer", testfixture.Vocab)
	require.NoError(t, err)
	require.NoError(t, w.AddDocument(make([]int, 100), 100))
	require.NoError(t, w.Close())
	cfg := f.config(filepath.Join(dir, "run"), 2)
	cfg.Orig = []string{other}
	_, err = New(cfg, false, io.Discard)
	assert.ErrorContains(t, err, "tokenized differently")

	// An empty corpus.
	empty := filepath.Join(dir, "empty")
	w, err = data.CreateShard(empty, "test-tokenizer", testfixture.Vocab)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	cfg = f.config(filepath.Join(dir, "run2"), 2)
	cfg.New = []string{empty}
	_, err = New(cfg, false, io.Discard)
	assert.ErrorIs(t, err, data.ErrEmptyCorpus)

	// A truncated shard.
	require.NoError(t, os.Truncate(f.NewShard+".bin", 10))
	cfg = f.config(filepath.Join(dir, "run3"), 2)
	_, err = New(cfg, false, io.Discard)
	assert.ErrorContains(t, err, "truncated")

	// A missing build.
	cfg.Build = filepath.Join(dir, "nope")
	_, err = New(cfg, false, io.Discard)
	assert.ErrorContains(t, err, "nrgraph build")
}

func TestResumeRefusesAnotherConfig(t *testing.T) {
	f := newFixture(t, models.NeutralResidues)
	cfg := f.config(filepath.Join(t.TempDir(), "run"), 2)
	train(t, cfg, false).Close()
	_, err := New(cfg, false, io.Discard)
	assert.ErrorContains(t, err, "--resume")
	cfg.LR *= 2
	_, err = New(cfg, true, io.Discard)
	assert.ErrorContains(t, err, "different configuration")
}

func TestMixingRatioAndDeterminism(t *testing.T) {
	dir := t.TempDir()
	testfixture.WriteShard(t, filepath.Join(dir, "a"), 5000, func(i int) int { return i % testfixture.Vocab })
	testfixture.WriteShard(t, filepath.Join(dir, "b"), 5000, func(i int) int { return (i + 1) % testfixture.Vocab })
	a, err := data.OpenCorpus([]string{filepath.Join(dir, "a")})
	require.NoError(t, err)
	defer a.Close()
	b, err := data.OpenCorpus([]string{filepath.Join(dir, "b.bin")})
	require.NoError(t, err)
	defer b.Close()
	draw := func(seed uint64) ([]float32, []int64) {
		m, err := NewMixer(a, b, MixerOptions{P: 0.1, Seed: seed, Order: Shuffled, Seq: 8})
		require.NoError(t, err)
		batch := build.NewBatch(100, 8)
		var dom []float32
		var ids []int64
		for i := 0; i < 100; i++ {
			m.Fill(batch)
			dom = append(dom, batch.Domain...)
			ids = append(ids, batch.IDs...)
		}
		return dom, ids
	}
	dom, ids := draw(1)
	orig := 0
	for _, d := range dom {
		orig += int(d)
	}
	frac := float64(orig) / float64(len(dom))
	sigma := math.Sqrt(0.1 * 0.9 / float64(len(dom)))
	assert.InDelta(t, 0.1, frac, 4*sigma, "original-domain fraction %v", frac)
	dom2, ids2 := draw(1)
	assert.Equal(t, dom, dom2)
	assert.Equal(t, ids, ids2)
	dom3, _ := draw(2)
	assert.NotEqual(t, dom, dom3)

	m, err := NewMixer(a, nil, MixerOptions{Seed: 1, Order: Shuffled, Seq: 8})
	require.NoError(t, err)
	batch := build.NewBatch(50, 8)
	m.Fill(batch)
	assert.Equal(t, 0, batch.OrigRows())
	_, err = NewMixer(a, nil, MixerOptions{P: 0.1, Seed: 1, Order: Shuffled, Seq: 8})
	assert.ErrorContains(t, err, "--orig")
}

// TestKilledMidSaveKeepsLastCheckpoint runs training in a child process,
// SIGKILLs it at random moments (often mid-save: saving every step), and
// checks the latest complete checkpoint always loads.
func TestKilledMidSaveKeepsLastCheckpoint(t *testing.T) {
	if os.Getenv("NRGRAPH_TRAIN_CHILD") != "" {
		return
	}
	f := newFixture(t, models.NeutralResidues)
	out := filepath.Join(t.TempDir(), "run")
	r := rand.New(rand.NewSource(1))
	checked := 0
	for attempt := 0; attempt < 3; attempt++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTrainChild$")
		cmd.Env = append(os.Environ(), "NRGRAPH_TRAIN_CHILD=1", "CHILD_BUILD="+f.Build, "CHILD_NEW="+f.NewShard, "CHILD_ORIG="+f.OrigShard, "CHILD_OUT="+out)
		before, err := build.LatestCheckpoint(filepath.Join(out, build.CheckpointsDir))
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		// Kill at a random moment after the child has saved once more (it
		// saves every step), however slow a loaded CI machine makes its start.
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			if latest, _ := build.LatestCheckpoint(filepath.Join(out, build.CheckpointsDir)); latest != before {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Duration(r.Intn(300)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		latest, err := build.LatestCheckpoint(filepath.Join(out, build.CheckpointsDir))
		require.NoError(t, err)
		if latest == "" {
			continue
		}
		_, err = build.ReadTensors(filepath.Join(latest, build.StateFile))
		require.NoError(t, err, "checkpoint %s is corrupt after SIGKILL", latest)
		cfg := f.config(out, 10000)
		cfg.SaveEvery = 1
		tr, err := New(cfg, true, io.Discard)
		require.NoError(t, err, "resume after SIGKILL")
		tr.Close()
		checked++
	}
	assert.Positive(t, checked, "the child never reached a checkpoint before being killed")
}

// TestTrainChild is the child process of the SIGKILL test.
func TestTrainChild(t *testing.T) {
	if os.Getenv("NRGRAPH_TRAIN_CHILD") == "" {
		t.Skip("child process of TestKilledMidSaveKeepsLastCheckpoint")
	}
	f := fixture{testfixture.Run{Build: os.Getenv("CHILD_BUILD"), NewShard: os.Getenv("CHILD_NEW"), OrigShard: os.Getenv("CHILD_ORIG")}}
	cfg := f.config(os.Getenv("CHILD_OUT"), 10000)
	cfg.SaveEvery = 1
	tr, err := New(cfg, true, io.Discard)
	require.NoError(t, err)
	_ = tr.Run(context.Background())
}

func TestScheduleShapes(t *testing.T) {
	s := Schedule{Kind: "cosine", Peak: 1, Warmup: 10, Steps: 110, MinRatio: 0.1}
	assert.InDelta(t, 0.1, s.LR(1), 1e-12)
	assert.InDelta(t, 1, s.LR(10), 1e-12)
	assert.InDelta(t, 0.55, s.LR(60), 1e-12)
	assert.InDelta(t, 0.1, s.LR(110), 1e-12)
	lin := Schedule{Kind: "linear", Peak: 2, Warmup: 0, Steps: 100}
	assert.InDelta(t, 1, lin.LR(50), 1e-12)
	assert.Equal(t, 3.0, Schedule{Kind: "constant", Peak: 3, Steps: 5}.LR(4))
	assert.Error(t, Schedule{Kind: "step", Peak: 1, Steps: 1}.Validate())
}

// TestTrainsWithBF16FrozenBackbone: a bfloat16 backbone (frozen, cast at
// use) with float32 adapters trains.
func TestTrainsWithBF16FrozenBackbone(t *testing.T) {
	f := newFixture(t, models.NeutralResidues)
	c := testfixture.TinyModel()
	bf := models.MapWeights{}
	for name, d := range models.RandomWeights(c, 1, 0.1) {
		conv, err := models.ConvertWeight(d, graph.BFloat16)
		require.NoError(t, err)
		bf[name] = conv
	}
	buildDir := filepath.Join(t.TempDir(), "bf16")
	ext, _ := models.DefaultExtension(models.NeutralResidues)
	_, err := build.Build(build.BuildOptions{Config: &c, Weights: bf, Ext: ext, Opt: graph.DefaultAdamW(), Seq: 16, Out: buildDir})
	require.NoError(t, err)
	cfg := f.config(filepath.Join(t.TempDir(), "run"), 3)
	cfg.Build = buildDir
	var losses []float64
	tr, err := New(cfg, false, io.Discard)
	require.NoError(t, err)
	defer tr.Close()
	tr.AfterStep = func(m *Metrics) { losses = append(losses, m.Loss) }
	require.NoError(t, tr.Run(context.Background()))
	require.Len(t, losses, 3)
	for _, l := range losses {
		assert.False(t, math.IsNaN(l))
		assert.Greater(t, l, 1.0)
	}
}

// A checkpoint written before --data-order (no order in its mixer state,
// no data_order in its configuration) is refused by the default shuffled
// order with the flag to add, and resumes in sequential order.
func TestCheckpointBeforeDataOrderResumesSequential(t *testing.T) {
	f := newFixture(t, models.NeutralResidues)
	cfg := f.config(filepath.Join(t.TempDir(), "run"), 2)
	cfg.DataOrder = Sequential
	train(t, cfg, false).Close()
	ckpt, err := build.LatestCheckpoint(filepath.Join(cfg.Out, build.CheckpointsDir))
	require.NoError(t, err)
	path := filepath.Join(ckpt, build.TrainerFile)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(raw), `"order": "sequential"`)
	require.NotContains(t, string(raw), `data_order`)
	raw = []byte(strings.Replace(string(raw), `"order": "sequential"`, `"order": ""`, 1))
	require.NoError(t, os.WriteFile(path, raw, 0o644))

	cfg.Steps, cfg.DataOrder = 4, Shuffled
	_, err = New(cfg, true, io.Discard)
	assert.ErrorContains(t, err, `data_order unset, now "shuffled"`)
	assert.ErrorContains(t, err, "it read its data in sequential order, as every checkpoint before --data-order did: add --data-order sequential to resume it")
	cfg.DataOrder = Sequential
	assert.Equal(t, 4, train(t, cfg, true).Step())
}

// Runs in sequential order keep the configuration hash of the versions
// before --data-order (this one computed at commit 588c6fb), so their
// checkpoints resume.
func TestSequentialKeepsTheOldConfigHash(t *testing.T) {
	c := RunConfig{Build: "b", New: []string{"n"}, Orig: []string{"o"}, P: 0.1, Steps: 10, Batch: 4, LR: 1e-3, Out: "o", Seed: 3, Schedule: "cosine"}
	c.DataOrder = Sequential
	hash, err := c.Hash()
	require.NoError(t, err)
	assert.Equal(t, "6a365a586bf8c4865661eb742876b53465036c75326792a73a062ddc1d15e92b", hash)
	c.DataOrder = Shuffled
	hash, err = c.Hash()
	require.NoError(t, err)
	assert.NotEqual(t, "6a365a586bf8c4865661eb742876b53465036c75326792a73a062ddc1d15e92b", hash)
}

// TestSecondTrainerOnOneRunDirIsRefused: while a run holds its directory,
// another trainer on it is refused with the holder's pid (before the lock,
// the second deleted the first's half-written checkpoint as a stale temp);
// once the first closes, the directory is free again.
func TestSecondTrainerOnOneRunDirIsRefused(t *testing.T) {
	f := newFixture(t, models.NeutralResidues)
	cfg := f.config(filepath.Join(t.TempDir(), "run"), 2)
	first, err := New(cfg, true, io.Discard)
	require.NoError(t, err)
	_, err = New(cfg, true, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "in use by another nrgraph train (pid "+strconv.Itoa(os.Getpid())+")")
	assert.Contains(t, err.Error(), cfg.Out)
	first.Close()
	second, err := New(cfg, true, io.Discard)
	require.NoError(t, err)
	second.Close()
}
