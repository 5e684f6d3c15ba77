package graph_test

import (
	"math/rand"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/export"
	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/runtime"
)

// benchConfig is the reference shape: d=256, L=4, 4 heads, FFN
// 688, vocab 4096 (seq 128, batch 16 at run time).
func benchConfig() models.Config {
	return models.Config{Arch: "LlamaForCausalLM", Vocab: 4096, Hidden: 256, Intermediate: 688, Layers: 4, Heads: 4, KVHeads: 4,
		HeadDim: 64, RMSEps: 1e-5, RopeTheta: 10000, MaxPositions: 128, Act: "silu", QueryScale: 0.125}
}

// BenchmarkTrainStep measures one fused training step (forward, backward,
// AdamW) of neutral residues (20% extra weights, backbone frozen) on the
// reference shape, reporting tokens/s, graph size and peak RSS.
func BenchmarkTrainStep(b *testing.B) {
	const batch, seq = 16, 128
	c := benchConfig()
	ext, err := models.DefaultExtension(models.NeutralResidues)
	require.NoError(b, err)
	start := time.Now()
	g, e, err := models.BuildTrainGraph(models.Model{Config: c, Weights: models.RandomWeights(c, 1, 0.02), Ext: ext}, graph.DefaultAdamW(), models.FusedStep)
	require.NoError(b, err)
	buildTime := time.Since(start)
	path := filepath.Join(b.TempDir(), "train_step.onnx")
	require.NoError(b, export.Save(g, path, export.Options{}))
	st, _ := os.Stat(path)

	var inNames, outNames []string
	var ins []*runtime.Tensor
	r := rand.New(rand.NewSource(1))
	for _, v := range g.Inputs() {
		inNames = append(inNames, v.Name())
		dims, err := v.Shape.Bind(map[string]int64{models.Batch: batch, models.Seq: seq})
		require.NoError(b, err)
		n := int(graph.NumElements(dims))
		var t *runtime.Tensor
		switch {
		case v.DType == graph.Int64:
			ids := make([]int64, n)
			for i := range ids {
				ids[i] = int64(r.Intn(c.Vocab))
			}
			t, err = runtime.NewTensor(dims, ids)
		case e.Init[v.Name()] != nil:
			vals, _ := e.Init[v.Name()].Float64s()
			f := make([]float32, n)
			for i := range f {
				f[i] = float32(vals[i])
			}
			t, err = runtime.NewTensor(dims, f)
		default:
			f := make([]float32, n)
			for i := range f {
				f[i] = 1 // masks, lr, step; moments start at 1 too (values don't matter for speed)
			}
			if v.Name() == graph.LRInput {
				f[0] = 1e-4
			}
			t, err = runtime.NewTensor(dims, f)
		}
		require.NoError(b, err)
		ins = append(ins, t)
	}
	for _, v := range g.Outputs() {
		outNames = append(outNames, v.Name())
	}
	sess, err := runtime.Open(path, inNames, outNames, runtime.Options{Threads: 2, ProfilePrefix: os.Getenv("NRGRAPH_BENCH_PROFILE")})
	require.NoError(b, err)
	defer sess.Close()
	outs, err := runtime.OutputsFor(g.Outputs())
	require.NoError(b, err)
	// Warm up (first run allocates), then pre-allocated outputs are reused.
	res, err := sess.Run(ins, outs)
	require.NoError(b, err)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := sess.Run(ins, res); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	perStep := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(batch*seq)/perStep, "tokens/s")
	b.ReportMetric(float64(len(g.Nodes())), "nodes")
	b.ReportMetric(float64(st.Size())/1e6, "onnx_MB")
	b.ReportMetric(buildTime.Seconds()*1e3, "build_ms")
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b.ReportMetric(float64(ru.Maxrss)/1024, "peak_RSS_MB")
	debug.FreeOSMemory()
}
