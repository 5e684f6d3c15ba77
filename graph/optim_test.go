package graph_test

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/internal/gradcheck"
)

// stepper runs a training-step graph repeatedly, feeding every ".next"
// output back as the input of the same name (what the trainer does).
type stepper struct {
	t      *testing.T
	g      *graph.Graph
	runner *gradcheck.Runner
	state  map[string][]float64 // float32 state by input name
	dims   map[string][]int64
	step   int
}

func newStepper(t *testing.T, g *graph.Graph, init map[string][]float64) *stepper {
	run, err := gradcheck.NewRunner(g)
	require.NoError(t, err)
	t.Cleanup(run.Close)
	s := &stepper{t: t, g: g, runner: run, state: map[string][]float64{}, dims: map[string][]int64{}}
	for _, v := range g.Inputs() {
		dims, ok := v.Shape.Static()
		if !ok {
			continue
		}
		s.dims[v.Name()] = dims
		n := int(graph.NumElements(dims))
		if data, ok := init[v.Name()]; ok {
			s.state[v.Name()] = data
		} else {
			s.state[v.Name()] = make([]float64, n) // moments start at zero
		}
	}
	return s
}

// run does one step with lr and the given per-step feeds; returns outputs.
func (s *stepper) run(lr float64, feeds map[string]feed) map[string][]float64 {
	s.step++
	in := map[string]feed{}
	for _, v := range s.g.Inputs() {
		switch {
		case v.Name() == graph.StepInput:
			in[v.Name()] = feed{Shape: []int64{}, Data: []float64{float64(s.step)}}
		case v.Name() == graph.LRInput:
			in[v.Name()] = feed{Shape: []int64{}, Data: []float64{lr}}
		case feeds[v.Name()].Data != nil:
			in[v.Name()] = feeds[v.Name()]
		default:
			in[v.Name()] = feed{Shape: s.dims[v.Name()], Data: s.state[v.Name()]}
		}
	}
	outs, err := s.runner.Run(in)
	require.NoError(s.t, err)
	res := map[string][]float64{}
	for name, o := range outs {
		res[name] = o.Data
		if base, ok := cutNext(name); ok {
			s.state[base] = o.Data
		}
	}
	return res
}

func cutNext(name string) (string, bool) {
	const suffix = ".next"
	if len(name) > len(suffix) && name[len(name)-len(suffix):] == suffix {
		return name[:len(name)-len(suffix)], true
	}
	return "", false
}

// TestAdamWMatchesReference: three steps of the emitted update equal a
// plain Go AdamW (PyTorch semantics, with clipping and decoupled decay).
func TestAdamWMatchesReference(t *testing.T) {
	opt := graph.AdamW{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1, ClipNorm: 0.5}
	r := rand.New(rand.NewSource(1))
	w0 := make([]float64, 6)
	for i := range w0 {
		w0[i] = r.NormFloat64()
	}
	target := []float64{0.5, -1, 2, 0, 1, -0.5}
	// loss = sum((w - target)^2 * c) with c = 1..6, so grads differ per element.
	g, err := graph.Build("adamw", func(g *graph.Graph) {
		w := g.Input("w", graph.Float32, graph.S(6))
		tgt := graph.Const(g, graph.NewData([]int64{6}, []float32{0.5, -1, 2, 0, 1, -0.5}))
		c := graph.Const(g, graph.NewData([]int64{6}, []float32{1, 2, 3, 4, 5, 6}))
		d := graph.Sub(w, tgt)
		graph.AddTrainStep(g, graph.TrainSpec{Loss: graph.ReduceSum(graph.Mul(graph.Mul(d, d), c), nil, false), Params: []*graph.Value{w}, Opt: opt})
	})
	require.NoError(t, err)
	s := newStepper(t, g, map[string][]float64{"w": roundF32(w0)})

	// Reference in float64 (the graph runs float32: tolerance 1e-6 relative).
	w, m, v := roundF32(w0), make([]float64, 6), make([]float64, 6)
	lrs := []float64{1e-2, 5e-3, 2e-3}
	for step, lr := range lrs {
		grad := make([]float64, 6)
		norm := 0.0
		for i := range w {
			grad[i] = 2 * (w[i] - target[i]) * float64(i+1)
			norm += grad[i] * grad[i]
		}
		norm = math.Sqrt(norm)
		scale := math.Min(1, opt.ClipNorm/(norm+1e-6))
		tt := float64(step + 1)
		for i := range w {
			gi := grad[i] * scale
			m[i] = opt.Beta1*m[i] + (1-opt.Beta1)*gi
			v[i] = opt.Beta2*v[i] + (1-opt.Beta2)*gi*gi
			mhat := m[i] / (1 - math.Pow(opt.Beta1, tt))
			vhat := v[i] / (1 - math.Pow(opt.Beta2, tt))
			w[i] = w[i] - lr*opt.WeightDecay*w[i] - lr*mhat/(math.Sqrt(vhat)+opt.Eps)
		}
		out := s.run(lr, nil)
		assert.InDelta(t, norm, out[graph.GradNorm][0], 1e-6*norm, "grad norm at step %d", step+1)
		for i := range w {
			assert.InDelta(t, w[i], out[graph.NextName("w")][i], 1e-6, "w[%d] after step %d", i, step+1)
			assert.InDelta(t, m[i], out[graph.NextName(graph.MomentName("w", "m"))][i], 1e-6)
			assert.InDelta(t, v[i], out[graph.NextName(graph.MomentName("w", "v"))][i], 1e-6)
		}
	}
}

func roundF32(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(float32(x))
	}
	return out
}

// TestGradientAndApplyEqualStep: the gradient-only graph plus the apply
// graph give the same update as the fused step graph.
func TestGradientAndApplyEqualStep(t *testing.T) {
	opt := graph.DefaultAdamW()
	forward := func(g *graph.Graph) (*graph.Value, *graph.Value) {
		w := g.Input("w", graph.Float32, graph.S(2, 3))
		x := graph.Const(g, graph.NewData([]int64{4, 2}, []float32{1, 2, 3, 4, -1, 0.5, 2, -2}))
		y := graph.Tanh(graph.MatMul(x, w))
		return w, graph.ReduceMean(graph.Mul(y, y), nil, false)
	}
	stepG, err := graph.Build("step", func(g *graph.Graph) {
		w, loss := forward(g)
		graph.AddTrainStep(g, graph.TrainSpec{Loss: loss, Params: []*graph.Value{w}, Opt: opt})
	})
	require.NoError(t, err)
	gradG, err := graph.Build("grad", func(g *graph.Graph) {
		w, loss := forward(g)
		graph.AddGradientStep(g, graph.TrainSpec{Loss: loss, Params: []*graph.Value{w}, Opt: opt})
	})
	require.NoError(t, err)
	applyG, err := graph.BuildApply([]graph.ParamInfo{{Name: "w", DType: graph.Float32, Shape: graph.S(2, 3)}}, graph.TrainSpec{Opt: opt})
	require.NoError(t, err)

	w0 := []float64{0.1, -0.2, 0.3, 0.4, -0.5, 0.6}
	fused := newStepper(t, stepG, map[string][]float64{"w": w0}).run(1e-2, nil)
	grads := newStepper(t, gradG, map[string][]float64{"w": w0}).run(0, nil)
	applied := newStepper(t, applyG, map[string][]float64{"w": w0}).run(1e-2, map[string]feed{
		graph.GradName("w"): {Shape: []int64{2, 3}, Data: grads[graph.GradName("w")]},
	})
	assert.InDeltaSlice(t, fused[graph.NextName("w")], applied[graph.NextName("w")], 1e-7)
	assert.InDelta(t, fused[graph.GradNorm][0], applied[graph.GradNorm][0], 1e-7)
	assert.InDelta(t, fused[graph.LossOutput][0], grads[graph.LossOutput][0], 1e-7)
}

// TestTrainingConverges: repeatedly running the emitted step graph fits a
// linear regression and a tiny next-token model.
func TestTrainingConverges(t *testing.T) {
	t.Run("regression", func(t *testing.T) {
		r := rand.New(rand.NewSource(2))
		const n, d = 32, 3
		xs, ys := make([]float32, n*d), make([]float32, n)
		trueW := []float64{1.5, -2, 0.5}
		for i := 0; i < n; i++ {
			y := 0.3
			for j := 0; j < d; j++ {
				x := r.NormFloat64()
				xs[i*d+j] = float32(x)
				y += trueW[j] * x
			}
			ys[i] = float32(y)
		}
		g, err := graph.Build("regression", func(g *graph.Graph) {
			w := g.Input("w", graph.Float32, graph.S(d, 1))
			b := g.Input("b", graph.Float32, graph.S(1))
			x := graph.Const(g, graph.NewData([]int64{n, d}, xs))
			y := graph.Const(g, graph.NewData([]int64{n, 1}, ys))
			diff := graph.Sub(graph.Add(graph.MatMul(x, w), b), y)
			opt := graph.DefaultAdamW()
			opt.WeightDecay = 0
			graph.AddTrainStep(g, graph.TrainSpec{Loss: graph.ReduceMean(graph.Mul(diff, diff), nil, false), Params: []*graph.Value{w, b}, Opt: opt})
		})
		require.NoError(t, err)
		s := newStepper(t, g, nil)
		var loss float64
		for i := 0; i < 400; i++ {
			loss = s.run(0.05, nil)[graph.LossOutput][0]
		}
		assert.Less(t, loss, 1e-4)
		assert.InDeltaSlice(t, trueW, s.state["w"], 1e-2)
	})
	t.Run("next-token", func(t *testing.T) {
		// Sequence 0 1 2 3 0 1 2 3 ...: each token determines the next, so
		// a bigram model (embedding + projection) reaches ~zero loss.
		const vocab, dim, n = 4, 8, 16
		ids, next := make([]int64, n), make([]int64, n)
		for i := range ids {
			ids[i], next[i] = int64(i%vocab), int64((i+1)%vocab)
		}
		r := rand.New(rand.NewSource(3))
		init := map[string][]float64{"emb": randn(r, vocab*dim, 0.5), "proj": randn(r, dim*vocab, 0.5)}
		g, err := graph.Build("bigram", func(g *graph.Graph) {
			emb := g.Input("emb", graph.Float32, graph.S(vocab, dim))
			proj := g.Input("proj", graph.Float32, graph.S(dim, vocab))
			tokens := graph.Const(g, graph.NewData([]int64{n}, ids))
			targets := graph.Const(g, graph.NewData([]int64{n, 1}, next))
			logp := graph.LogSoftmax(graph.MatMul(graph.Gather(emb, tokens, 0), proj), -1)
			nll := graph.Neg(graph.ReduceMean(graph.GatherElements(logp, targets, 1), nil, false))
			graph.AddTrainStep(g, graph.TrainSpec{Loss: nll, Params: []*graph.Value{emb, proj}, Opt: graph.DefaultAdamW()})
		})
		require.NoError(t, err)
		s := newStepper(t, g, init)
		first := s.run(0.05, nil)[graph.LossOutput][0]
		var loss float64
		for i := 0; i < 200; i++ {
			loss = s.run(0.05, nil)[graph.LossOutput][0]
		}
		assert.Greater(t, first, 1.0) // ~ln 4 at the start
		assert.Less(t, loss, 0.02)
	})
}

func randn(r *rand.Rand, n int, std float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(float32(r.NormFloat64() * std))
	}
	return out
}
