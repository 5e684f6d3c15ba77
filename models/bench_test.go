package models

import (
	"runtime"
	"syscall"
	"testing"

	"github.com/nrgraph/nrgraph/graph"
)

// gemma2BConfig has Gemma-2B's shapes (18 layers, d=2048, FFN 16384, vocab
// 256000, 8 heads of 256, multi-query attention).
func gemma2BConfig() Config {
	return Config{Arch: "GemmaForCausalLM", Vocab: 256000, Hidden: 2048, Intermediate: 16384, Layers: 18, Heads: 8, KVHeads: 1,
		HeadDim: 256, RMSEps: 1e-6, RopeTheta: 10000, MaxPositions: 8192, Tied: true, Act: "gelu_tanh", NormPlusOne: true,
		EmbedScale: true, QueryScale: 1.0 / 16}
}

// BenchmarkBuildGemma2B builds the forward graph and the neutral-residues
// training step for Gemma-2B shapes with lazily generated weights (never
// materialised: external data in a real build). Target: < 10 s, < 2 GiB RSS.
func BenchmarkBuildGemma2B(b *testing.B) {
	c := gemma2BConfig()
	w := RandomWeights(c, 1, 0.02)
	ext, _ := DefaultExtension(NeutralResidues)
	for i := 0; i < b.N; i++ {
		g, err := graph.Build("gemma", func(g *graph.Graph) {
			f := BuildForward(g, c, w, ForwardOptions{})
			g.Output("logits", f.Logits)
		})
		if err != nil {
			b.Fatal(err)
		}
		step, _, err := BuildTrainGraph(Model{Config: c, Weights: w, Ext: ext}, graph.DefaultAdamW(), FusedStep)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(g.Nodes())), "forward_nodes")
		b.ReportMetric(float64(len(step.Nodes())), "step_nodes")
	}
	runtime.GC()
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b.ReportMetric(float64(ru.Maxrss)/1024, "peak_RSS_MB")
}
