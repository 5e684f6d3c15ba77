package experiments

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/trainer"
)

// run trains r in its own directory (or reuses / resumes it) and scores it.
func (e experiment) run(ctx context.Context, r Run) (Outcome, error) {
	if r.Seed == 0 {
		return Outcome{Run: r}, fmt.Errorf("seed 0: seeds start at 1")
	}
	ext := r.Ext
	ext.Seed = int64(r.Seed)
	if ext.Method == models.Finetune {
		ext.Seed = 1 // finetuning initialises nothing: one build serves every seed (and scores the backbone)
	}
	o := Outcome{Run: r}
	var err error
	if o.BuildDir, err = e.ensureBuild(ext, r.Seq); err != nil {
		return o, err
	}
	cfg := e.runConfig(r, o.BuildDir)
	s := runSettings{Build: e.buildSettings(ext, r.Seq), NewTrain: e.shards[e.Corpora.NewTrain].Hash,
		P: r.P, LR: r.LR, Steps: r.Steps, Batch: r.Batch, Warmup: cfg.Warmup, Schedule: string(cfg.Schedule), MinLRRatio: cfg.MinLRRatio, DataOrder: string(cfg.DataOrder), Seed: r.Seed}
	if r.P > 0 {
		s.OrigTrain = e.shards[e.Corpora.OrigTrain].Hash
	}
	name, err := runDirName(s)
	if err != nil {
		return o, err
	}
	o.RunDir = filepath.Join(e.Work, name)
	cfg.Out = o.RunDir
	if err := claimDir(o.RunDir, s); err != nil {
		return o, err
	}
	if err := e.train(ctx, r, cfg); err != nil {
		return o, err
	}
	if err := readRunMetrics(&o); err != nil {
		return o, err
	}
	o.Scores, err = e.scoreModel(ctx, o.BuildDir, o.RunDir, o.RunDir, r.Seq, e.heldOut())
	return o, err
}

// runConfig is the trainer's configuration for r: no periodic held-out
// evaluation (repro scores the whole sets once, after training) and one
// checkpoint, at the end, which the scoring reads.
func (e experiment) runConfig(r Run, buildDir string) trainer.RunConfig {
	cfg := trainer.RunConfig{Build: buildDir, New: []string{e.shards[e.Corpora.NewTrain].Stem}, P: r.P,
		Steps: r.Steps, Batch: r.Batch, LR: r.LR, Warmup: max(1, r.Steps/10), Schedule: trainer.Cosine, MinLRRatio: 0.1,
		SaveEvery: r.Steps, KeepLast: 1, Seed: r.Seed, DataOrder: trainer.Shuffled, Threads: e.Threads}
	if r.P > 0 {
		cfg.Orig = []string{e.shards[e.Corpora.OrigTrain].Stem}
	}
	return cfg
}

// train runs cfg unless its run directory already holds the final
// checkpoint; an interrupted run resumes from its last one.
func (e experiment) train(ctx context.Context, r Run, cfg trainer.RunConfig) error {
	final := filepath.Join(cfg.Out, build.CheckpointsDir, fmt.Sprintf("step-%08d", r.Steps))
	if latest, err := build.LatestCheckpoint(filepath.Join(cfg.Out, build.CheckpointsDir)); err != nil {
		return err
	} else if latest == final {
		fmt.Fprintf(e.Log, "\nreusing %s (finished, same settings)\n", cfg.Out)
		return nil
	}
	fmt.Fprintf(e.Log, "\nnrgraph train --method %s --p %g --lr %g --steps %d --batch %d --seq %d --data-order %s --seed %d --out %s\n",
		r.Ext.Method, r.P, r.LR, r.Steps, r.Batch, r.Seq, cfg.DataOrder, r.Seed, cfg.Out)
	tr, err := trainer.New(cfg, true, e.Log)
	if err != nil {
		return err
	}
	defer tr.Close()
	return tr.Run(ctx)
}

// readRunMetrics takes the gate statistics from the run's last step with
// rows of each domain (at p = 0.1 and batch 8, four steps in ten draw no
// original-language row, and their orig statistics read 0) and sums its
// step times, from metrics.jsonl: a reused or resumed run has them too.
func readRunMetrics(o *Outcome) error {
	path := filepath.Join(o.RunDir, "metrics.jsonl")
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var m trainer.Metrics
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		o.TrainSeconds += m.StepSeconds
		if m.OrigRows > 0 {
			o.GateOrig, o.AdapterL1Orig = m.GateMeanOrig, m.AdapterL1Orig
		}
		if m.OrigRows < o.Run.Batch {
			o.GateNew, o.AdapterL1New = m.GateMeanNew, m.AdapterL1New
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
