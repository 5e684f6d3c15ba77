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

// executor runs training steps: the fused step graph when the batch is one
// micro-batch, else the gradient graph per micro-batch (gradients summed in
// Go) followed by the apply graph.
type executor struct {
	m       *build.Manifest
	state   *stateTensors
	micro   int // micro-batches per step
	data    *build.BatchTensors
	stepT   *runtime.Tensor
	lrT     *runtime.Tensor
	fused   *session
	grad    *session
	apply   *session
	gradSum map[string][]float32
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

func openSession(dir, file string, io build.GraphIO, cfg RunConfig) (*session, error) {
	p, err := runtime.ParseProvider(cfg.Provider)
	if err != nil {
		return nil, err
	}
	s, err := runtime.Open(filepath.Join(dir, file), io.Inputs, io.Outputs, runtime.Options{Threads: cfg.Threads, Provider: p})
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

func newExecutor(cfg RunConfig, m *build.Manifest, state *stateTensors) (*executor, error) {
	e := &executor{m: m, state: state, micro: cfg.Batch / cfg.MicroBatch}
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
	if e.micro == 1 {
		if e.fused, err = openSession(cfg.Build, build.StepGraph, m.Graphs["train_step"], cfg); err != nil {
			e.close()
			return nil, err
		}
	} else {
		if e.grad, err = openSession(cfg.Build, build.GradGraph, m.Graphs["train_grad"], cfg); err != nil {
			e.close()
			return nil, err
		}
		if e.apply, err = openSession(cfg.Build, build.ApplyGraph, m.Graphs["train_apply"], cfg); err != nil {
			e.close()
			return nil, err
		}
		e.gradSum = map[string][]float32{}
		for _, p := range m.Params {
			e.gradSum[p.Name] = make([]float32, p.Numel())
		}
	}
	return e, nil
}

func (e *executor) close() {
	e.fused.close()
	e.grad.close()
	e.apply.close()
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
			if t := e.state.next[base]; t != nil {
				s.outputs[i] = t
				continue
			}
		}
	}
	return s.bindScalarOutputs()
}

// step runs one optimizer step (all micro-batches) into the next state.
func (e *executor) step(mixer *Mixer, step int, lr float64) (*Metrics, error) {
	if err := e.stepT.SetScalar(float64(step)); err != nil {
		return nil, err
	}
	if err := e.lrT.SetScalar(lr); err != nil {
		return nil, err
	}
	m := &Metrics{}
	if e.fused != nil {
		if err := mixer.Fill(e.data.Batch); err != nil {
			return nil, err
		}
		m.OrigRows = e.data.Batch.OrigRows()
		if err := e.bind(e.fused, nil); err != nil {
			return nil, err
		}
		t0 := time.Now()
		if _, err := e.fused.s.Run(e.fused.inputs, e.fused.outputs); err != nil {
			return nil, err
		}
		m.ComputeSeconds += time.Since(t0).Seconds()
		readMetrics(e.fused, m, 1)
		m.GradNorm = e.fused.metric(graph.GradNorm)
		return m, nil
	}
	for _, g := range e.gradSum {
		clear(g)
	}
	for k := 0; k < e.micro; k++ {
		if err := mixer.Fill(e.data.Batch); err != nil {
			return nil, err
		}
		m.OrigRows += e.data.Batch.OrigRows()
		if err := e.bind(e.grad, nil); err != nil {
			return nil, err
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
			return nil, err
		}
		m.ComputeSeconds += time.Since(t0).Seconds()
		for i, name := range e.grad.s.Outputs {
			if p, ok := strings.CutSuffix(name, ".grad"); ok {
				acc := e.gradSum[p]
				for j, v := range outs[i].Float32s() {
					acc[j] += v
				}
				outs[i].Destroy()
			}
		}
		readMetrics(e.grad, m, float64(e.micro))
	}
	extra := map[string]*runtime.Tensor{}
	scale := 1 / float32(e.micro)
	for name, acc := range e.gradSum {
		for j := range acc {
			acc[j] *= scale
		}
		t, err := runtime.NewTensor(e.state.shapes[name], acc)
		if err != nil {
			return nil, err
		}
		defer t.Destroy()
		extra[graph.GradName(name)] = t
	}
	if err := e.bind(e.apply, extra); err != nil {
		return nil, err
	}
	t0 := time.Now()
	if _, err := e.apply.s.Run(e.apply.inputs, e.apply.outputs); err != nil {
		return nil, err
	}
	m.ComputeSeconds += time.Since(t0).Seconds()
	m.GradNorm = e.apply.metric(graph.GradNorm)
	return m, nil
}

// readMetrics adds a session's scalar metrics, averaged over n runs.
func readMetrics(s *session, m *Metrics, n float64) {
	m.Loss += s.metric(graph.LossOutput) / n
	m.LMLoss += s.metric(models.LMLossOutput) / n
	m.LocalLoss += s.metric(models.LocalLossOutput) / n
	m.GateMeanOrig += s.metric("gate_mean_orig") / n
	m.GateMeanNew += s.metric("gate_mean_new") / n
	m.AdapterL1Orig += s.metric("adapter_l1_orig") / n
	m.AdapterL1New += s.metric("adapter_l1_new") / n
}

// commit makes the step's outputs the current state.
func (e *executor) commit() { e.state.commit() }
