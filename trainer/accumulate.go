package trainer

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/runtime"
)

// accumulator holds what exact gradient accumulation needs: the token
// counts of the whole optimizer batch (inputs of the gradient graph, so
// every micro-batch's loss is its share of the batch's loss), and all
// gradients in one flat buffer, summed over micro-batches, then all-reduced
// across ranks in one call, then fed to the apply graph.
type accumulator struct {
	countT  map[string]*runtime.Tensor // models.LossTokens, OrigTokens, NewTokens
	flat    []float32
	grads   map[string][]float32 // views of flat, by parameter
	gradT   map[string]*runtime.Tensor
	metrics []float64 // stepMetrics, for the cross-rank sum
}

// countInputs are the gradient graph's token-count inputs.
var countInputs = []string{models.LossTokens, models.OrigTokens, models.NewTokens}

func newAccumulator(cfg RunConfig, m *build.Manifest, state *stateTensors) (*accumulator, error) {
	for _, name := range countInputs {
		if !slices.Contains(m.Graphs["train_grad"].Inputs, name) {
			return nil, fmt.Errorf("build %s: its gradient graph has no %q input: it predates exact gradient accumulation (--micro-batch or several ranks would change the loss): re-run `nrgraph build`", cfg.Build, name)
		}
	}
	a := &accumulator{countT: map[string]*runtime.Tensor{},
		grads: map[string][]float32{}, gradT: map[string]*runtime.Tensor{}, metrics: make([]float64, len(stepMetrics))}
	for _, name := range countInputs {
		t, err := runtime.NewTensor(nil, []float32{0})
		if err != nil {
			a.destroy()
			return nil, err
		}
		a.countT[name] = t
	}
	total := int64(0)
	for _, p := range m.Params {
		total += p.Numel()
	}
	a.flat = make([]float32, total)
	off := int64(0)
	for _, p := range m.Params {
		n := p.Numel()
		view := a.flat[off : off+n : off+n]
		off += n
		t, err := runtime.NewTensor(state.shapes[p.Name], view)
		if err != nil {
			a.destroy()
			return nil, err
		}
		a.grads[p.Name], a.gradT[graph.GradName(p.Name)] = view, t
	}
	return a, nil
}

func (a *accumulator) destroy() {
	if a == nil {
		return
	}
	for _, set := range []map[string]*runtime.Tensor{a.countT, a.gradT} {
		for _, t := range set {
			t.Destroy()
		}
	}
}

// checkRankSplit: each rank takes an equal slice of the optimizer batch,
// made of whole micro-batches.
func checkRankSplit(cfg RunConfig, ranks int) error {
	if cfg.Batch%(ranks*cfg.MicroBatch) != 0 {
		return fmt.Errorf("--batch %d must be a multiple of --micro-batch %d x %d ranks (each rank computes an equal number of micro-batches)", cfg.Batch, cfg.MicroBatch, ranks)
	}
	return nil
}

// countTokens sets the token counts of the whole batch b, as the full-batch
// graph counts them: Σ loss_mask, and Σ attention_mask per domain.
func (a *accumulator) countTokens(b *build.Batch) error {
	var loss, orig, newTokens float64
	for _, v := range b.LossMask {
		loss += float64(v)
	}
	for r := 0; r < b.Rows; r++ {
		real := 0.0
		for _, v := range b.AttnMask[r*b.Seq : (r+1)*b.Seq] {
			real += float64(v)
		}
		orig += float64(b.Domain[r]) * real
		newTokens += float64(1-b.Domain[r]) * real
	}
	for i, n := range []float64{loss, orig, newTokens} {
		if err := a.countT[countInputs[i]].SetScalar(n); err != nil {
			return err
		}
	}
	return nil
}

// copyRows fills dst with src's rows from first on.
func copyRows(dst, src *build.Batch, first int) {
	lo, hi := first*src.Seq, (first+dst.Rows)*src.Seq
	copy(dst.IDs, src.IDs[lo:hi])
	copy(dst.Targets, src.Targets[lo:hi])
	copy(dst.AttnMask, src.AttnMask[lo:hi])
	copy(dst.LossMask, src.LossMask[lo:hi])
	copy(dst.Domain, src.Domain[first:first+dst.Rows])
}

// accumulateAndApply runs this rank's micro-batches of e.batch through the
// gradient graph, sums gradients and metrics over micro-batches and ranks,
// and applies the update (clipping sees the summed gradient, so every rank
// applies the same update).
func (e *executor) accumulateAndApply(m *Metrics) error {
	a := e.acc
	if err := a.countTokens(e.batch); err != nil {
		return err
	}
	clear(a.flat)
	rows := e.data.Batch.Rows
	first := e.comm.Rank() * e.micro * rows
	for k := 0; k < e.micro; k++ {
		copyRows(e.data.Batch, e.batch, first+k*rows)
		if err := e.bind(e.grad, a.countT); err != nil {
			return err
		}
		// Gradients come back in ORT-allocated tensors; sum them in Go.
		for i, name := range e.grad.s.Outputs {
			if strings.HasSuffix(name, ".grad") {
				e.grad.outputs[i] = nil
			}
		}
		t0 := time.Now()
		outs, err := e.grad.s.Run(e.grad.inputs, e.grad.outputs)
		if err != nil {
			return err
		}
		m.ComputeSeconds += time.Since(t0).Seconds()
		for i, name := range e.grad.s.Outputs {
			if p, ok := strings.CutSuffix(name, ".grad"); ok {
				acc := a.grads[p]
				for j, v := range outs[i].Float32s() {
					acc[j] += v
				}
				outs[i].Destroy()
			}
		}
		readMetrics(e.grad, m)
	}
	if e.comm.Size() > 1 {
		t0 := time.Now()
		if err := e.reduceAcrossRanks(m); err != nil {
			return err
		}
		m.CommSeconds += time.Since(t0).Seconds()
	}
	if err := e.bind(e.apply, a.gradT); err != nil {
		return err
	}
	t0 := time.Now()
	if _, err := e.apply.s.Run(e.apply.inputs, e.apply.outputs); err != nil {
		return err
	}
	m.ComputeSeconds += time.Since(t0).Seconds()
	m.GradNorm = e.apply.metric(graph.GradNorm)
	return nil
}

// reduceAcrossRanks sums the gradients (one flat buffer) and the metrics of
// every rank.
func (e *executor) reduceAcrossRanks(m *Metrics) error {
	a := e.acc
	if err := e.comm.AllreduceFloat32(a.flat, Sum); err != nil {
		return fmt.Errorf("all-reduce gradients: %w", err)
	}
	for i, sm := range stepMetrics {
		a.metrics[i] = *sm.field(m)
	}
	if err := e.comm.AllreduceFloat64(a.metrics, Sum); err != nil {
		return fmt.Errorf("all-reduce metrics: %w", err)
	}
	for i, sm := range stepMetrics {
		*sm.field(m) = a.metrics[i]
	}
	return nil
}
