package trainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/nrgraph/nrgraph/data"
	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/runtime"
)

// Metrics of one step, written as a JSON line.
type Metrics struct {
	Step          int     `json:"step"`
	Loss          float64 `json:"loss"`
	LMLoss        float64 `json:"lm_loss"`
	LocalLoss     float64 `json:"local_loss"`
	GradNorm      float64 `json:"grad_norm"`
	LR            float64 `json:"lr"`
	TokensPerSec  float64 `json:"tokens_per_s"`
	OrigRows      int     `json:"orig_rows"`
	GateMeanOrig  float64 `json:"gate_mean_orig"`
	GateMeanNew   float64 `json:"gate_mean_new"`
	AdapterL1Orig float64 `json:"adapter_l1_orig"`
	AdapterL1New  float64 `json:"adapter_l1_new"`
	StepSeconds   float64 `json:"step_s"`
	// ComputeSeconds is the time inside ONNX Runtime (the rest of
	// StepSeconds is data loading and binding).
	ComputeSeconds float64 `json:"compute_s"`
	// CommSeconds is the time in all-reduces (multi-rank runs): the
	// gradients, the metrics and the stop flag.
	CommSeconds float64 `json:"comm_s,omitempty"`
	// Filled on evaluation steps.
	Eval map[string]EvalResult `json:"eval,omitempty"`
}

// EvalResult is held-out loss on one corpus.
type EvalResult struct {
	NLL         float64 `json:"nll"`
	BitsPerByte float64 `json:"bits_per_byte"`
	Tokens      int64   `json:"tokens"`
}

// ErrNonFinite is wrapped when a loss or gradient is NaN or infinite.
var ErrNonFinite = errors.New("non-finite value")

// ErrInterrupted is returned after a signal-triggered checkpoint.
var ErrInterrupted = errors.New("training interrupted")

// Trainer runs one training job.
type Trainer struct {
	Cfg      RunConfig
	Manifest *build.Manifest
	Log      io.Writer // progress (stderr)
	// AfterStep, when set, runs after each step's metrics (tests use it to
	// inject failures).
	AfterStep func(m *Metrics)

	comm  Communicator
	mixer *Mixer
	newC  *data.Corpus
	origC *data.Corpus
	// evalSets are the held-out corpora by name ("new", "orig"), opened
	// and checked with the training data; the evaluator reads them.
	evalSets map[string]*data.Corpus
	state    *stateTensors
	step     int
	// lastSaved is the step of the newest checkpoint (0: none).
	lastSaved int
	metrics   *os.File
	// lock is rank 0's hold on the run directory (nil on other ranks).
	lock *runDirLock
}

// New prepares a run: validates the config against the build and data
// (before any compute), then resumes from the latest checkpoint when asked.
func New(cfg RunConfig, resume bool, log io.Writer) (*Trainer, error) {
	return NewDistributed(cfg, resume, log, Single{})
}

// NewDistributed prepares this rank's part of a data-parallel run: every
// rank reads the same build, data and (shared) run directory; rank 0
// alone writes config, metrics, progress and checkpoints.
func NewDistributed(cfg RunConfig, resume bool, log io.Writer, comm Communicator) (*Trainer, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkRankSplit(cfg, comm.Size()); err != nil {
		return nil, err
	}
	if comm.Rank() != 0 {
		log = io.Discard
	}
	m, err := build.ReadManifest(cfg.Build)
	if err != nil {
		return nil, err
	}
	if err := m.CheckProvider(runtime.Provider(cfg.Provider)); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Build, err)
	}
	t := &Trainer{Cfg: cfg, Manifest: m, Log: log, comm: comm}
	if err := t.openCorpora(); err != nil {
		t.Close()
		return nil, err
	}
	if t.mixer, err = NewMixer(t.newC, t.origC, MixerOptions{P: cfg.P, Seed: cfg.Seed, Order: cfg.DataOrder, Seq: m.Seq}); err != nil {
		t.Close()
		return nil, err
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		t.Close()
		return nil, err
	}
	if comm.Rank() == 0 {
		if t.lock, err = lockRunDir(cfg.Out); err != nil {
			t.Close()
			return nil, err
		}
	}
	ckptDir := filepath.Join(cfg.Out, build.CheckpointsDir)
	latest, err := build.LatestCheckpoint(ckptDir)
	if err != nil {
		t.Close()
		return nil, err
	}
	if latest != "" && !resume {
		t.Close()
		return nil, fmt.Errorf("%s already holds checkpoints (latest %s): pass --resume to continue, or choose another --out", cfg.Out, filepath.Base(latest))
	}
	if t.state, err = newStateTensors(m); err != nil {
		t.Close()
		return nil, err
	}
	if latest != "" {
		if err := t.restore(latest); err != nil {
			t.Close()
			return nil, err
		}
	} else if err := t.state.loadInit(filepath.Join(cfg.Build, build.InitFile)); err != nil {
		t.Close()
		return nil, err
	}
	if comm.Rank() != 0 {
		return t, nil
	}
	if err := removeStaleTemps(ckptDir); err != nil {
		t.Close()
		return nil, err
	}
	if err := truncateMetrics(filepath.Join(cfg.Out, metricsFile), t.step); err != nil {
		t.Close()
		return nil, err
	}
	raw, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("run configuration: %w", err)
	}
	if err := build.WriteFileAtomic(filepath.Join(cfg.Out, "config.json"), append(raw, '\n')); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// Close releases everything.
func (t *Trainer) Close() {
	if t.newC != nil {
		t.newC.Close()
	}
	if t.origC != nil {
		t.origC.Close()
	}
	for _, c := range t.evalSets {
		c.Close()
	}
	if t.state != nil {
		t.state.destroy()
	}
	if t.metrics != nil {
		t.metrics.Close()
	}
	t.lock.release()
}

// Step is the last completed step.
func (t *Trainer) Step() int { return t.step }

// Run trains until cfg.Steps or ctx is cancelled (then it checkpoints and
// returns ErrInterrupted). A NaN/Inf loss or gradient stops with an error
// naming the step and metric; the last good checkpoint stays intact.
func (t *Trainer) Run(ctx context.Context) error {
	exec, err := newExecutor(t.Cfg, t.Manifest, t.state, t.comm)
	if err != nil {
		return err
	}
	defer exec.close()
	if err := t.checkReplicas(); err != nil {
		return err
	}
	eval, metricsOut, err := t.openRunOutputs()
	if err != nil {
		return err
	}
	if eval != nil {
		defer eval.close()
	}
	sched := t.Cfg.schedule()
	progress := newProgress(t.Log, t.Cfg.Steps, t.step)
	for t.step < t.Cfg.Steps {
		stop, err := t.stopRequested(ctx)
		if err != nil {
			return err
		}
		if stop {
			if err := t.saveOnLead(); err != nil {
				return fmt.Errorf("save on interrupt: %w", err)
			}
			progress.done()
			fmt.Fprintf(t.Log, "interrupted: saved step %d to %s\n", t.step, t.Cfg.Out)
			return ErrInterrupted
		}
		m, err := t.runStep(exec, sched)
		if err != nil {
			return err
		}
		if eval != nil && m.Step%t.Cfg.EvalEvery == 0 {
			if m.Eval, err = eval.run(); err != nil {
				return fmt.Errorf("evaluation at step %d: %w", m.Step, err)
			}
		}
		line, _ := json.Marshal(m)
		if _, err := metricsOut.Write(append(line, '\n')); err != nil {
			return err
		}
		progress.update(m.Step, m)
		if err := t.afterStep(m.Step); err != nil {
			return err
		}
	}
	progress.done()
	return nil
}

// openRunOutputs opens what rank 0 alone writes: the held-out evaluator
// (nil without eval sets) and metrics.jsonl (io.Discard on other ranks).
func (t *Trainer) openRunOutputs() (*evaluator, io.Writer, error) {
	if t.comm.Rank() != 0 {
		return nil, io.Discard, nil
	}
	var eval *evaluator
	if t.Cfg.EvalEvery > 0 && (len(t.Cfg.EvalNew) > 0 || len(t.Cfg.EvalOrig) > 0) {
		var err error
		if eval, err = newEvaluator(t.Cfg, t.Manifest, t.state, t.evalSets); err != nil {
			return nil, nil, err
		}
	}
	var err error
	if t.metrics, err = os.OpenFile(filepath.Join(t.Cfg.Out, metricsFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err != nil {
		if eval != nil {
			eval.close()
		}
		return nil, nil, err
	}
	return eval, t.metrics, nil
}

// runStep draws the next optimizer batch and takes one step; on success
// the step counts as done (t.step advances).
func (t *Trainer) runStep(exec *executor, sched Schedule) (*Metrics, error) {
	step := t.step + 1
	lr := sched.LR(step)
	start := time.Now()
	// Every rank draws the same whole batch, so a data error stops all
	// ranks at the same step.
	if err := t.mixer.Fill(exec.batch); err != nil {
		return nil, fmt.Errorf("step %d: %w", step, err)
	}
	m, err := exec.step(step, lr)
	if err != nil {
		return nil, fmt.Errorf("step %d: %w", step, err)
	}
	m.Step, m.LR = step, lr
	m.StepSeconds = time.Since(start).Seconds()
	m.TokensPerSec = float64(t.Cfg.Batch*t.Manifest.Seq) / m.StepSeconds
	if t.AfterStep != nil {
		t.AfterStep(m)
	}
	if err := checkFinite(m); err != nil {
		return nil, err
	}
	t.step = step
	return m, nil
}

// afterStep checkpoints and checks the replicas when their cadence (or the
// last step) says so.
func (t *Trainer) afterStep(step int) error {
	if t.Cfg.SaveEvery > 0 && step%t.Cfg.SaveEvery == 0 || step == t.Cfg.Steps {
		if err := t.saveOnLead(); err != nil {
			return fmt.Errorf("checkpoint at step %d: %w", step, err)
		}
	}
	if t.Cfg.DriftCheckEvery > 0 && step%t.Cfg.DriftCheckEvery == 0 {
		return t.checkReplicas()
	}
	return nil
}

func checkFinite(m *Metrics) error {
	for _, v := range []struct {
		name string
		x    float64
	}{{"loss", m.Loss}, {"lm_loss", m.LMLoss}, {"local_loss", m.LocalLoss}, {"grad_norm", m.GradNorm}} {
		if math.IsNaN(v.x) || math.IsInf(v.x, 0) {
			return fmt.Errorf("step %d: %s is %v: %w; the last checkpoint is intact; %s", m.Step, v.name, v.x, ErrNonFinite, lowerLRHint)
		}
	}
	return nil
}

// Params returns the current trainable tensors (copies), by name.
func (t *Trainer) Params() map[string][]float32 {
	out := map[string][]float32{}
	for _, name := range t.Manifest.ParamNames() {
		out[name] = append([]float32{}, t.state.cur[name].Float32s()...)
	}
	return out
}
