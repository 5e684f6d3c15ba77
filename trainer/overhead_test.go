package trainer

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/data"
	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
)

// BenchmarkTrainerOverhead runs `nrgraph train` on the reference shape
// (d=256, L=4, FFN 688, vocab 4096, seq 128, batch 16, neutral residues)
// and reports steady-state tokens/s and the trainer's share of step time
// (data, binding, bookkeeping, logging): wall time minus the time inside
// ONNX Runtime, over the wall time. Target: under 5%.
func BenchmarkTrainerOverhead(b *testing.B) {
	dir := b.TempDir()
	c := models.Config{Arch: "LlamaForCausalLM", Vocab: 4096, Hidden: 256, Intermediate: 688, Layers: 4, Heads: 4, KVHeads: 4,
		HeadDim: 64, RMSEps: 1e-5, RopeTheta: 10000, MaxPositions: 128, Act: "silu", QueryScale: 0.125}
	w, err := data.CreateShard(filepath.Join(dir, "new"), "bench", c.Vocab)
	require.NoError(b, err)
	doc := make([]int, 4096)
	for i := 0; i < 64; i++ {
		for k := range doc {
			doc[k] = (k*31 + i*7) % c.Vocab
		}
		require.NoError(b, w.AddDocument(doc, 4*len(doc)))
	}
	require.NoError(b, w.Close())
	ext, _ := models.DefaultExtension(models.NeutralResidues)
	_, err = build.Build(build.BuildOptions{Config: &c, Weights: models.RandomWeights(c, 1, 0.02), Ext: ext, Opt: graph.DefaultAdamW(), Seq: 128, Out: filepath.Join(dir, "build")})
	require.NoError(b, err)
	warm := 3
	cfg := RunConfig{Build: filepath.Join(dir, "build"), New: []string{filepath.Join(dir, "new")}, Orig: []string{filepath.Join(dir, "new")}, P: 0.1,
		Steps: warm + b.N, Batch: 16, LR: 2e-4, Warmup: 1, Schedule: "cosine", Out: filepath.Join(dir, "run"), Threads: 2, SaveEvery: 1 << 30}
	tr, err := New(cfg, false, io.Discard)
	require.NoError(b, err)
	defer tr.Close()
	var start, last time.Time
	var stepTime float64
	tr.AfterStep = func(m *Metrics) {
		if m.Step == warm {
			start = time.Now()
			b.ResetTimer()
		} else if m.Step > warm {
			stepTime += m.ComputeSeconds
			last = time.Now() // before the final checkpoint, which is not per-step work
		}
	}
	require.NoError(b, tr.Run(context.Background()))
	wall := last.Sub(start).Seconds()
	b.ReportMetric(float64(b.N*16*128)/wall, "tokens/s")
	b.ReportMetric(100*(wall-stepTime)/wall, "overhead_%")
}
