package trainer

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/runtime"
)

// executor runs training steps: the fused step graph when one process
// computes the whole batch at once, else the gradient graph per micro-batch
// of this rank's slice (gradients summed in Go, then across ranks)
// followed by the apply graph.
type executor struct {
	m     *build.Manifest
	state *stateTensors
	comm  Communicator
	// batch is the whole optimizer batch: every rank draws all of it (the
	// data order does not depend on the number of ranks) and computes its
	// own slice.
	batch *build.Batch
	micro int // micro-batches per step on this rank
	data  *build.BatchTensors
	stepT *runtime.Tensor
	lrT   *runtime.Tensor
	fused *session
	grad  *session
	apply *session
	acc   *accumulator
}

// session is an ORT session with its inputs/outputs bound by name.
type session struct {
	s       *runtime.Session
	inputs  []*runtime.Tensor
	outputs []*runtime.Tensor
	// scalars are pre-allocated metric outputs, by name.
	scalars map[string]*runtime.Tensor
	owned   []*runtime.Tensor
}

// openSession opens a graph of the build on cfg's provider; device is the
// GPU (the rank's rank on its machine).
func openSession(dir, file string, io build.GraphIO, cfg RunConfig, device int, lean bool) (*session, error) {
	p, err := runtime.ParseProvider(cfg.Provider)
	if err != nil {
		return nil, err
	}
	s, err := runtime.Open(filepath.Join(dir, file), io.Inputs, io.Outputs, runtime.Options{Threads: cfg.Threads, Provider: p, DeviceID: device, NoArena: lean})
	if err != nil {
		return nil, err
	}
	return &session{s: s, inputs: make([]*runtime.Tensor, len(io.Inputs)), outputs: make([]*runtime.Tensor, len(io.Outputs)), scalars: map[string]*runtime.Tensor{}}, nil
}

func (s *session) close() {
	if s == nil {
		return
	}
	s.s.Close()
	for _, t := range s.owned {
		t.Destroy()
	}
}

// bindScalarOutputs pre-allocates every output not bound yet as a float32
// scalar (the metrics).
func (s *session) bindScalarOutputs() error {
	for i, name := range s.s.Outputs {
		if s.outputs[i] != nil {
			continue
		}
		t, err := runtime.NewEmpty(graph.Float32, nil)
		if err != nil {
			return err
		}
		s.outputs[i], s.scalars[name] = t, t
		s.owned = append(s.owned, t)
	}
	return nil
}

func (s *session) metric(name string) float64 {
	if t, ok := s.scalars[name]; ok {
		return t.Scalar()
	}
	return 0
}

func newExecutor(cfg RunConfig, m *build.Manifest, state *stateTensors, comm Communicator) (*executor, error) {
	return newExecutorMode(cfg, m, state, comm, true)
}

// newExecutorMode with fusedOK false accumulates even a single micro-batch
// (tests compare the two paths).
func newExecutorMode(cfg RunConfig, m *build.Manifest, state *stateTensors, comm Communicator, fusedOK bool) (*executor, error) {
	if err := checkRankSplit(cfg, comm.Size()); err != nil {
		return nil, err
	}
	e := &executor{m: m, state: state, comm: comm, micro: cfg.Batch / comm.Size() / cfg.MicroBatch}
	var err error
	if e.data, err = build.NewBatchTensors(cfg.MicroBatch, m.Seq); err != nil {
		return nil, err
	}
	if e.stepT, err = runtime.NewTensor(nil, []float32{0}); err != nil {
		return nil, err
	}
	if e.lrT, err = runtime.NewTensor(nil, []float32{0}); err != nil {
		return nil, err
	}
	if fusedOK && e.micro == 1 && comm.Size() == 1 {
		e.batch = e.data.Batch
		if e.fused, err = openSession(cfg.Build, build.StepGraph, m.Graphs["train_step"], cfg, comm.LocalRank(), m.LeanMemory()); err != nil {
			e.close()
			return nil, err
		}
		return e, nil
	}
	e.batch = build.NewBatch(cfg.Batch, m.Seq)
	if e.acc, err = newAccumulator(cfg, m, state); err != nil {
		e.close()
		return nil, err
	}
	if e.grad, err = openSession(cfg.Build, build.GradGraph, m.Graphs["train_grad"], cfg, comm.LocalRank(), m.LeanMemory()); err != nil {
		e.close()
		return nil, err
	}
	if e.apply, err = openSession(cfg.Build, build.ApplyGraph, m.Graphs["train_apply"], cfg, comm.LocalRank(), m.LeanMemory()); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *executor) close() {
	e.fused.close()
	e.grad.close()
	e.apply.close()
	e.acc.destroy()
	if e.data != nil {
		e.data.Destroy()
	}
	e.stepT.Destroy()
	e.lrT.Destroy()
}

// bind points a session's inputs and outputs at the current tensors.
// extra supplies inputs such as accumulated gradients.
func (e *executor) bind(s *session, extra map[string]*runtime.Tensor) error {
	scalars := map[string]*runtime.Tensor{graph.StepInput: e.stepT, graph.LRInput: e.lrT}
	if err := build.ResolveInputs(s.inputs, s.s.Inputs, scalars, e.data.ByName, e.state.cur, extra); err != nil {
		return err
	}
	for i, name := range s.s.Outputs {
		if base, ok := strings.CutSuffix(name, ".next"); ok {
			if t := e.state.cur[base]; t != nil { // updated in place (stateTensors)
				s.outputs[i] = t
				continue
			}
		}
	}
	return s.bindScalarOutputs()
}

// step runs one optimizer step on e.batch (the whole optimizer batch,
// filled by the caller), updating the state in place.
func (e *executor) step(step int, lr float64) (*Metrics, error) {
	if err := e.stepT.SetScalar(float64(step)); err != nil {
		return nil, err
	}
	if err := e.lrT.SetScalar(lr); err != nil {
		return nil, err
	}
	m := &Metrics{OrigRows: e.batch.OrigRows()}
	if e.fused == nil {
		return m, e.accumulateAndApply(m)
	}
	if err := e.bind(e.fused, nil); err != nil {
		return nil, err
	}
	t0 := time.Now()
	if _, err := e.fused.s.Run(e.fused.inputs, e.fused.outputs); err != nil {
		return nil, err
	}
	m.ComputeSeconds += time.Since(t0).Seconds()
	readMetrics(e.fused, m)
	m.GradNorm = e.fused.metric(graph.GradNorm)
	return m, nil
}

// stepMetrics are the per-token metrics every training graph outputs, by
// output name. Each is a sum over tokens divided by a count of the whole
// optimizer batch, so micro-batches' and ranks' values add up.
var stepMetrics = []struct {
	output string
	field  func(*Metrics) *float64
}{
	{graph.LossOutput, func(m *Metrics) *float64 { return &m.Loss }},
	{models.LMLossOutput, func(m *Metrics) *float64 { return &m.LMLoss }},
	{models.LocalLossOutput, func(m *Metrics) *float64 { return &m.LocalLoss }},
	{"gate_mean_orig", func(m *Metrics) *float64 { return &m.GateMeanOrig }},
	{"gate_mean_new", func(m *Metrics) *float64 { return &m.GateMeanNew }},
	{"adapter_l1_orig", func(m *Metrics) *float64 { return &m.AdapterL1Orig }},
	{"adapter_l1_new", func(m *Metrics) *float64 { return &m.AdapterL1New }},
}

// readMetrics adds a session's scalar metrics to m.
func readMetrics(s *session, m *Metrics) {
	for _, sm := range stepMetrics {
		*sm.field(m) += s.metric(sm.output)
	}
}
