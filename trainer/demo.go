package trainer

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
)

// DemoOptions configure Demo.
type DemoOptions struct {
	Out   string
	Steps int
	Log   io.Writer
}

// Demo runs the whole method on a small backbone: build neutral residues,
// train on a new "domain" with p=0.1 of the original one mixed in, and
// report held-out loss on both domains before and after.
//
// Until the embedded pretrained backbone lands, the backbone is a tiny
// random Llama and the two domains are synthetic token streams with
// different statistics, so the numbers show the mechanics (learning the
// new domain while the gated adapters stay near zero on the original one),
// not language quality.
func Demo(ctx context.Context, o DemoOptions) error {
	log := o.Log
	start := time.Now()
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	c := models.Config{Arch: "LlamaForCausalLM", Vocab: 256, Hidden: 64, Intermediate: 172, Layers: 2, Heads: 4, KVHeads: 2,
		HeadDim: 16, RMSEps: 1e-5, RopeTheta: 10000, MaxPositions: 64, Act: "silu", QueryScale: 0.25}
	fmt.Fprintf(log, "nrgraph demo: tiny random %s backbone (%d layers, d=%d, %d parameters), synthetic domains\n", c.Arch, c.Layers, c.Hidden, c.NumParams())
	data := filepath.Join(o.Out, "data")
	// "Original" domain: a slow cycle over the low half of the vocabulary;
	// "new" domain: a different rule over the high half.
	shards := map[string]func(i int) int{
		"orig":      func(i int) int { return (i / 2) % 128 },
		"new":       func(i int) int { return 128 + (i*7+i/3)%128 },
		"eval_orig": func(i int) int { return (i/2 + 64) % 128 },
		"eval_new":  func(i int) int { return 128 + ((i+5)*7+(i+5)/3)%128 },
	}
	for name, rule := range shards {
		if err := writeSyntheticShard(filepath.Join(data, name), 20000, c.Vocab, rule); err != nil {
			return err
		}
	}
	ext, err := models.DefaultExtension(models.NeutralResidues)
	if err != nil {
		return err
	}
	buildDir := filepath.Join(o.Out, "build")
	fmt.Fprintf(log, "\n[1/3] nrgraph build --method %s --seq 32\n", ext.Method)
	man, err := Build(BuildOptions{Config: &c, Weights: models.RandomWeights(c, 1, 0.1), Ext: ext, Opt: graph.DefaultAdamW(), Seq: 32, Out: buildDir, Log: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "  added %d parameters (%.1f%% of the backbone), adapter hidden size %d\n", man.AddedParams, 100*float64(man.AddedParams)/float64(man.BackboneParams), man.AdapterHidden)

	runDir := filepath.Join(o.Out, "run")
	if err := os.RemoveAll(runDir); err != nil {
		return err
	}
	cfg := RunConfig{Build: buildDir, New: []string{filepath.Join(data, "new")}, Orig: []string{filepath.Join(data, "orig")}, P: 0.1,
		Steps: o.Steps, Batch: 8, LR: 3e-3, Warmup: o.Steps / 10, Schedule: "cosine", MinLRRatio: 0.1,
		EvalEvery: o.Steps, EvalNew: []string{filepath.Join(data, "eval_new")}, EvalOrig: []string{filepath.Join(data, "eval_orig")}, EvalBatches: 4,
		SaveEvery: o.Steps, Out: runDir, Seed: 1}
	fmt.Fprintf(log, "\n[2/3] nrgraph train --p 0.1 --steps %d --batch 8 --lr 3e-3\n", o.Steps)
	tr, err := New(cfg, false, log)
	if err != nil {
		return err
	}
	defer tr.Close()
	ev, err := newEvaluator(tr.Cfg, tr.Manifest, tr.state)
	if err != nil {
		return err
	}
	before, err := ev.run()
	ev.close()
	if err != nil {
		return err
	}
	var last *Metrics
	tr.AfterStep = func(m *Metrics) { last = m }
	if err := tr.Run(ctx); err != nil {
		return err
	}
	fmt.Fprintf(log, "\n[3/3] held-out loss (nats/token), before -> after\n")
	fmt.Fprintf(log, "  %-22s %8s %8s\n", "", "before", "after")
	for _, name := range []string{"orig", "new"} {
		label := map[string]string{"orig": "original (forgetting)", "new": "new (learning)"}[name]
		fmt.Fprintf(log, "  %-22s %8.4f %8.4f\n", label, before[name].NLL, last.Eval[name].NLL)
	}
	fmt.Fprintf(log, "  mean gate: original %.4f, new %.4f; mean |adapter output|: original %.2e, new %.2e\n",
		last.GateMeanOrig, last.GateMeanNew, last.AdapterL1Orig, last.AdapterL1New)
	fmt.Fprintf(log, "\nrun directory: %s (metrics.jsonl, checkpoints/)\ndone in %s\n", runDir, time.Since(start).Round(time.Millisecond))
	if math.IsNaN(last.Loss) {
		return fmt.Errorf("demo diverged")
	}
	return nil
}

func writeSyntheticShard(stem string, tokens, vocab int, rule func(i int) int) error {
	w, err := CreateShard(stem, "synthetic", vocab)
	if err != nil {
		return err
	}
	doc := make([]int, 0, 256)
	for i := 0; i < tokens; i++ {
		doc = append(doc, rule(i))
		if len(doc) == cap(doc) {
			if err := w.AddDocument(doc, len(doc)); err != nil {
				w.Abort()
				return err
			}
			doc = doc[:0]
		}
	}
	return w.Close()
}
