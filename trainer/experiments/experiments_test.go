package experiments

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/internal/testfixture"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/trainer"
)

// Mean and sample sd (n-1) against numbers worked by hand.
func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		xs       []float64
		mean, sd float64
	}{
		// mean 9.3/3 = 3.1; squared deviations .04+.01+.09 = .14; sd = sqrt(.14/2) = sqrt(.07)
		{[]float64{2.9, 3.0, 3.4}, 3.1, 0.2645751311064591},
		// mean 2.5; 2.25+.25+.25+2.25 = 5; sd = sqrt(5/3)
		{[]float64{1, 2, 3, 4}, 2.5, 1.2909944487358056},
		// two seeds: sd = |a-b|/sqrt(2)
		{[]float64{3.0, 3.2}, 3.1, 0.14142135623730964},
		{[]float64{4.2}, 4.2, 0},
	} {
		s := Summarize(tc.xs)
		assert.Equal(t, len(tc.xs), s.N)
		assert.InDelta(t, tc.mean, s.Mean, 1e-12, "%v", tc.xs)
		assert.InDelta(t, tc.sd, s.SD, 1e-12, "%v", tc.xs)
	}
	assert.Equal(t, "3.1000 ± 0.2646", formatSummary(Summarize([]float64{2.9, 3.0, 3.4})))
	assert.Equal(t, "4.2000", formatSummary(Summarize([]float64{4.2})), "one seed: no ±")
}

func TestParseCorpus(t *testing.T) {
	c, err := ParseCorpus("--forget", "en-austen=/data/c:/x=y/austen.jsonl")
	require.NoError(t, err)
	assert.Equal(t, Corpus{Name: "en-austen", Path: "/data/c:/x=y/austen.jsonl", Flag: "--forget"}, c, "only the first '=' splits; colons stay in the path")
	for value, want := range map[string]string{
		"/data/austen.jsonl": `--forget "/data/austen.jsonl": want NAME=PATH`,
		"en=":                `--forget "en=": want NAME=PATH`,
		"en austen=/a.jsonl": `name "en austen" must start with a letter or digit`,
		"=/a.jsonl":          `name "" must start`,
		"../x=/a.jsonl":      `name "../x"`,
	} {
		_, err := ParseCorpus("--forget", value)
		require.Error(t, err, value)
		assert.Contains(t, err.Error(), want, value)
	}
}

func TestCorporaCheck(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"fr.jsonl", "fr_heldout.jsonl", "en.jsonl", "a.jsonl", "b.jsonl"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte(`{"text":"x"}`+"\n"), 0o644))
	}
	at := func(flag, name, file string) Corpus {
		return Corpus{Name: name, Path: filepath.Join(dir, file), Flag: flag}
	}
	good := Corpora{NewTrain: at("--new-train", "fr", "fr.jsonl"), NewHeldOut: []Corpus{at("--new-heldout", "fr", "fr_heldout.jsonl")},
		OrigTrain: at("--orig-train", "en", "en.jsonl"), Forget: []Corpus{at("--forget", "en-a", "a.jsonl"), at("--forget", "en-b", "b.jsonl")}}
	require.NoError(t, good.Check(), "a name may repeat across roles (fr trains and is held out), not among held-out sets")

	dup := good
	dup.Forget = []Corpus{at("--forget", "en", "a.jsonl"), at("--forget", "en", "b.jsonl")}
	err := dup.Check()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--forget en="+filepath.Join(dir, "a.jsonl")+" and --forget en="+filepath.Join(dir, "b.jsonl")+` share the name "en"`)

	clash := good
	clash.NewHeldOut = []Corpus{at("--new-heldout", "en-a", "fr_heldout.jsonl")}
	require.ErrorContains(t, clash.Check(), `--forget en-a=`+filepath.Join(dir, "a.jsonl")+` and --new-heldout en-a=`)

	missing := good
	missing.OrigTrain = at("--orig-train", "en", "nope.jsonl")
	require.ErrorContains(t, missing.Check(), "--orig-train en="+filepath.Join(dir, "nope.jsonl")+": ")

	none := good
	none.Forget = nil
	require.ErrorContains(t, none.Check(), "at least one --forget")
}

func TestParseSeeds(t *testing.T) {
	for in, want := range map[string][]uint64{"3": {1, 2, 3}, "1": {1}, "1,2,5": {1, 2, 5}, "4-6": {4, 5, 6}, "7-7": {7}, "2, 9-10": {2, 9, 10}} {
		got, err := ParseSeeds(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"0", "", "a", "1,1", "1-3,2", "5-4", "0-2", "1,,2"} {
		_, err := ParseSeeds(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), "--seeds", in)
	}
}

// A budget is spread over the whole set in equal steps of whole windows,
// not taken from its start; no budget scores every whole window.
func TestHeldOutWindows(t *testing.T) {
	const seq = 10
	all := heldOutWindows(10_001, seq, 0)
	require.Len(t, all, 1000)
	assert.Equal(t, int64(9990), all[999], "the last whole window: 9990..10000 (seq+1 tokens)")

	spread := heldOutWindows(10_001, seq, 1000)
	require.Len(t, spread, 100)
	for i, s := range spread {
		assert.Equal(t, int64(i)*100, s, "window %d every 100 tokens", i)
	}
	assert.Equal(t, []int64{0, 5000}, heldOutWindows(10_001, seq, 15), "15 tokens round up to two windows, half the set apart")
	assert.Equal(t, []int64{0, 3330, 6660}, heldOutWindows(10_001, seq, 30), "1000 windows / 3: floor(i*1000/3) windows in")
	assert.Len(t, heldOutWindows(10_001, seq, 1_000_000), 1000, "a budget over the set scores it whole")
	assert.Empty(t, heldOutWindows(10, seq, 0), "no window of seq+1 tokens")
}

// Every run of Table 2 and the ablations, at two step counts and three
// seeds, gets its own directory; the only shared name is the one pair with
// identical settings (Table 2's neutral residues at p=0.1 is the
// ablations' "relu + l1"), which is then reused, not re-trained.
func TestRunDirNamesAreUnique(t *testing.T) {
	names := map[string]string{}
	for _, steps := range []int{100, 300} {
		runs := append(ReproRuns(models.Methods, []float64{0, 0.1}, steps, 5), AblationRuns([]float64{0.1}, steps, 5)...)
		for _, r := range WithSeeds(runs, []uint64{1, 2, 3}) {
			ext := r.Ext
			ext.Seed = int64(r.Seed)
			name, err := runDirName(runSettings{Build: buildSettings{Model: "m", Extension: ext, Seq: r.Seq}, NewTrain: "fr", OrigTrain: "en",
				P: r.P, LR: r.LR, Steps: r.Steps, Batch: r.Batch, Seed: r.Seed})
			require.NoError(t, err)
			who := r.Label + " " + filepath.Base(name)
			if prev, ok := names[name]; ok {
				assert.Contains(t, []string{"neutral-residues", "relu + l1 (ours)"}, r.Label, "%s collides with %s", who, prev)
				assert.Contains(t, prev, "neutral-residues")
				assert.Equal(t, 0.1, r.P)
			}
			names[name] = who
		}
	}
	assert.Len(t, names, 2*3*(10+9-1))
	nr, _ := models.DefaultExtension(models.NeutralResidues)
	nr.Gate, nr.Seed = "none", 2
	name, err := runDirName(runSettings{Build: buildSettings{Extension: nr, Seq: 128}, P: 0.1, LR: 1e-3, Seed: 2})
	require.NoError(t, err)
	assert.Regexp(t, `^run_neutral-residues_gate-none_p0\.1_lr0\.001_seed2_[0-9a-f]{10}$`, name, "the ablation's knob and the seed are in the name")
}

// claimDir writes the settings into a new directory, accepts the same
// settings again, and refuses other settings or a foreign directory,
// naming the directory, what differs and --work.
func TestClaimDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run_x")
	a := runSettings{P: 0.1, LR: 1e-3, Steps: 300, Seed: 1}
	require.NoError(t, claimDir(dir, a))
	require.NoError(t, claimDir(dir, a), "same settings: reused")
	b := a
	b.Steps = 100
	err := claimDir(dir, b)
	require.Error(t, err)
	assert.Contains(t, err.Error(), dir+" holds a run with other settings (steps: 300 there, 100 here)")
	assert.Contains(t, err.Error(), "--work")
	raw, _ := os.ReadFile(filepath.Join(dir, settingsFile))
	assert.Contains(t, string(raw), `"steps": 300`, "the first run's settings are intact")

	foreign := filepath.Join(t.TempDir(), "old")
	require.NoError(t, os.MkdirAll(filepath.Join(foreign, "checkpoints"), 0o755))
	require.ErrorContains(t, claimDir(foreign, a), foreign+" exists without "+settingsFile)
}

// writeJSONL writes n documents made by doc(i) as a JSONL corpus.
func writeJSONL(t *testing.T, path string, n int, doc func(i int) string) {
	t.Helper()
	var b strings.Builder
	for i := 0; i < n; i++ {
		raw, _ := json.Marshal(map[string]string{"text": doc(i)})
		b.Write(append(raw, '\n'))
	}
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
}

// tinyExperiment is a tiny HF model and five corpora (one new-language
// held-out set, two forgetting sets) under a temp directory.
func tinyExperiment(t *testing.T) (ExperimentData, *bytes.Buffer) {
	dir := t.TempDir()
	var text strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&text, "the cat %d sat on the mat. le chat %d dort sur le tapis. ", i%7, i%5)
	}
	model := filepath.Join(dir, "model")
	testfixture.HFModelDir(t, model, text.String())
	at := func(flag, name string, n int, doc func(i int) string) Corpus {
		path := filepath.Join(dir, "data:"+name+".jsonl") // a colon in the path, as users' paths may have
		writeJSONL(t, path, n, doc)
		return Corpus{Name: name, Path: path, Flag: flag}
	}
	fr := func(i int) string { return fmt.Sprintf("le chat %d dort sur le tapis et le chien %d court.", i%7, i%3) }
	en := func(i int) string { return fmt.Sprintf("the cat %d sat on the mat and the dog %d ran.", i%5, i%3) }
	log := &bytes.Buffer{}
	return ExperimentData{Model: model, Work: filepath.Join(dir, "work"), Threads: 1, Log: log, Corpora: Corpora{
		NewTrain: at("--new-train", "fr", 300, fr), NewHeldOut: []Corpus{at("--new-heldout", "fr-held", 40, fr)},
		OrigTrain: at("--orig-train", "en", 300, en), Forget: []Corpus{at("--forget", "en-a", 40, en), at("--forget", "en-b", 30, func(i int) string { return "the mat " + en(i+1) })},
	}}, log
}

func tinyRun(method models.Method, label string, steps int) Run {
	ext, _ := models.DefaultExtension(method)
	return Run{Label: label, Ext: ext, P: 0.1, LR: 1e-2, Steps: steps, Batch: 2, Seq: 16, Seed: 1}
}

// Two methods x two seeds on a tiny model: one directory per run, the
// table headed by the flags' names with mean ± sd, every seed in the
// JSON; a second call reuses every run; the ablation's "relu + l1" at
// another step count (the old shared-directory case) gets its own
// directory and leaves Table 2's run as it was.
func TestExperimentSeedsReuseAndOwnDirectories(t *testing.T) {
	d, log := tinyExperiment(t)
	runs := WithSeeds([]Run{tinyRun(models.Finetune, "finetune", 3), tinyRun(models.NeutralResidues, "neutral-residues", 3)}, []uint64{1, 2})
	res, err := Experiment(context.Background(), d, runs)
	require.NoError(t, err)
	require.Len(t, res.Outcomes, 4)
	dirs := map[string]bool{}
	for _, o := range res.Outcomes {
		dirs[o.RunDir] = true
		for _, set := range []string{"en-a", "en-b", "fr-held"} {
			assert.Equal(t, res.Backbone[set].Tokens, o.Scores[set].Tokens, "%s: the whole set is scored for every run", set)
			assert.Positive(t, o.Scores[set].BitsPerByte)
		}
	}
	assert.Len(t, dirs, 4, "one directory per run and seed")
	nr := res.Rows()[1]
	assert.NotEqual(t, nr.Outcomes[0].Scores["fr-held"], nr.Outcomes[1].Scores["fr-held"], "seeds change the data order and the adapters' init")
	assert.Positive(t, nr.BitsPerByte["fr-held"].SD)

	table := Table(res)
	assert.Contains(t, table, "| method | p | lr | seeds | en-a bits/byte (forgetting) | en-b bits/byte (forgetting) | fr-held bits/byte (learning) |")
	assert.Regexp(t, `\| neutral-residues \| 0\.1 \| 0\.01 \| 2 \| \d\.\d{4} ± \d\.\d{4} \|`, table)
	assert.Contains(t, table, "over seeds 1,2")
	assert.Contains(t, table, "every whole window")
	assert.NotContains(t, table, "EN")

	jsonPath := filepath.Join(d.Work, "t.json")
	require.NoError(t, WriteJSON(jsonPath, res))
	var saved resultsJSON
	raw, err := os.ReadFile(jsonPath)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &saved))
	require.Len(t, saved.Runs, 4)
	assert.Equal(t, res.Outcomes[3].Scores["en-b"], saved.Runs[3].Scores["en-b"])
	assert.Equal(t, []uint64{1, 2}, saved.Rows[0].Seeds)
	require.NoError(t, Plot(filepath.Join(d.Work, "t.png"), res))

	log.Reset()
	again, err := Experiment(context.Background(), d, runs)
	require.NoError(t, err)
	assert.Equal(t, 4, strings.Count(log.String(), "reusing "), log.String())
	assert.NotContains(t, log.String(), "nrgraph train")
	assert.NotContains(t, log.String(), " windows of ", "scores are cached")
	assert.Equal(t, res.Outcomes, again.Outcomes)

	ablation := WithSeeds([]Run{tinyRun(models.NeutralResidues, "relu + l1 (ours)", 2)}, []uint64{1})
	abl, err := Experiment(context.Background(), d, ablation)
	require.NoError(t, err)
	assert.NotEqual(t, res.Outcomes[1].RunDir, abl.Outcomes[0].RunDir)
	latest, err := build.LatestCheckpoint(filepath.Join(res.Outcomes[1].RunDir, build.CheckpointsDir))
	require.NoError(t, err)
	assert.Equal(t, "step-00000003", filepath.Base(latest), "Table 2's run keeps its 3 steps")
}

// Scoring the whole set by windows gives what the trainer's own held-out
// evaluation gives when asked for every row (same windows, same graph).
func TestBackboneScoresMatchTrainerEvaluation(t *testing.T) {
	d, _ := tinyExperiment(t)
	d.Corpora.Forget = d.Corpora.Forget[:1]
	one := []Run{tinyRun(models.Finetune, "finetune", 1)}
	res, err := Experiment(context.Background(), d, one)
	require.NoError(t, err)
	stem := func(name string) string {
		m, err := filepath.Glob(filepath.Join(d.Work, "shards", name+"-[0-9a-f]*.bin"))
		require.NoError(t, err)
		require.Len(t, m, 1)
		return strings.TrimSuffix(m[0], ".bin")
	}
	builds, err := filepath.Glob(filepath.Join(d.Work, "build_finetune_*"))
	require.NoError(t, err)
	require.Len(t, builds, 1)
	tr, err := trainer.New(trainer.RunConfig{Build: builds[0], New: []string{stem("fr")}, EvalNew: []string{stem("fr-held")}, EvalOrig: []string{stem("en-a")},
		EvalBatches: 1000, Steps: 1, Batch: 4, LR: 1e-3, Out: filepath.Join(t.TempDir(), "run"), Threads: 1}, false, io.Discard)
	require.NoError(t, err)
	defer tr.Close()
	want, err := tr.EvaluateHeldOut()
	require.NoError(t, err)
	for set, name := range map[string]string{"new": "fr-held", "orig": "en-a"} {
		assert.Equal(t, want[set].Tokens, res.Backbone[name].Tokens, name)
		assert.InDelta(t, want[set].NLL, res.Backbone[name].NLL, 1e-6, name)
		assert.InDelta(t, want[set].BitsPerByte, res.Backbone[name].BitsPerByte, 1e-6, name)
	}

	d.HeldOutTokens = 40
	budget, err := Experiment(context.Background(), d, one)
	require.NoError(t, err)
	assert.Equal(t, int64(48), budget.Backbone["fr-held"].Tokens, "40 tokens: 3 windows of 16")
	assert.Contains(t, Caption(budget), "a budget of 40 tokens per held-out set, as evenly spaced windows")
}

// Gate statistics come from the last step that had rows of each domain:
// a last step without original-language rows reports 0 for them.
func TestReadRunMetricsSkipsStepsWithoutADomain(t *testing.T) {
	dir := t.TempDir()
	lines := `{"step":1,"orig_rows":1,"gate_mean_orig":0.1,"gate_mean_new":0.5,"adapter_l1_orig":0.01,"adapter_l1_new":0.2,"step_s":1.5}
{"step":2,"orig_rows":2,"gate_mean_orig":0.2,"gate_mean_new":0.6,"adapter_l1_orig":0.02,"adapter_l1_new":0.3,"step_s":2}
{"step":3,"orig_rows":0,"gate_mean_orig":0,"gate_mean_new":0.7,"adapter_l1_orig":0,"adapter_l1_new":0.4,"step_s":0.25}
{"step":4,"orig_rows":2,"gate_mean_orig":0.3,"gate_mean_new":0,"adapter_l1_orig":0.03,"adapter_l1_new":0,"step_s":0.25}
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(lines), 0o644))
	o := Outcome{Run: Run{Batch: 2}, RunDir: dir}
	require.NoError(t, readRunMetrics(&o))
	assert.Equal(t, 0.3, o.GateOrig, "step 4")
	assert.Equal(t, 0.03, o.AdapterL1Orig)
	assert.Equal(t, 0.7, o.GateNew, "step 3: step 4 had only original-language rows")
	assert.Equal(t, 0.4, o.AdapterL1New)
	assert.Equal(t, 4.0, o.TrainSeconds)
}

// Ctrl-C (a cancelled context) stops whole-set scoring before the next
// batch, as an interruption (exit code 3), not after minutes.
func TestScoringStopsOnInterrupt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := scoreWindows(ctx, nil, nil, 16, []int64{0, 16})
	assert.ErrorIs(t, err, trainer.ErrInterrupted)
}
