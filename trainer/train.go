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
)

// RunConfig is a training run's resolved configuration; it is saved in the
// run directory and its hash guards resumption.
type RunConfig struct {
	Build       string       `json:"build"`
	New         []string     `json:"new"`
	Orig        []string     `json:"orig,omitempty"`
	P           float64      `json:"p"`
	Steps       int          `json:"steps"`
	Batch       int          `json:"batch"`
	MicroBatch  int          `json:"micro_batch"`
	LR          float64      `json:"lr"`
	Warmup      int          `json:"warmup"`
	Schedule    ScheduleKind `json:"schedule"`
	MinLRRatio  float64      `json:"min_lr_ratio"`
	EvalEvery   int          `json:"eval_every"`
	EvalNew     []string     `json:"eval_new,omitempty"`
	EvalOrig    []string     `json:"eval_orig,omitempty"`
	EvalBatches int          `json:"eval_batches"`
	SaveEvery   int          `json:"save_every"`
	KeepLast    int          `json:"keep_last"`
	Out         string       `json:"out"`
	Seed        uint64       `json:"seed"`
	Threads     int          `json:"threads"`
	Provider    string       `json:"provider"`
	// DriftCheckEvery compares a hash of the parameters and moments
	// across ranks every N steps (multi-rank runs; 0: only at start).
	DriftCheckEvery int `json:"drift_check_every,omitempty"`
}

// DefaultRunConfig holds the defaults of `nrgraph train`'s flags: the
// paper's settings where it gives them (p = 0.1, lr 2e-4 for adapters).
func DefaultRunConfig() RunConfig {
	return RunConfig{P: 0.1, Steps: 1000, Batch: 16, LR: 2e-4, Warmup: 100, Schedule: Cosine, MinLRRatio: 0.1,
		EvalBatches: 8, SaveEvery: 100, KeepLast: 3, Seed: 1, Provider: "cpu", DriftCheckEvery: 100}
}

// Defaults fills unset fields with the paper's / usual values.
func (c *RunConfig) Defaults() {
	if c.Schedule == "" {
		c.Schedule = Cosine
	}
	if c.MicroBatch == 0 {
		c.MicroBatch = c.Batch
	}
	if c.KeepLast == 0 {
		c.KeepLast = 3
	}
	if c.EvalBatches == 0 {
		c.EvalBatches = 8
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Provider == "" {
		c.Provider = "cpu"
	}
}

// Validate checks the configuration before anything runs.
func (c *RunConfig) Validate() error {
	switch {
	case c.Build == "":
		return fmt.Errorf("--build is required")
	case len(c.New) == 0:
		return fmt.Errorf("--new is required (token shards of the new domain)")
	case c.Out == "":
		return fmt.Errorf("--out is required")
	case c.Steps <= 0:
		return fmt.Errorf("--steps must be positive")
	case c.Batch <= 0 || c.MicroBatch <= 0 || c.Batch%c.MicroBatch != 0:
		return fmt.Errorf("--batch %d must be a positive multiple of --micro-batch %d", c.Batch, c.MicroBatch)
	case !(c.P >= 0 && c.P <= 1): // NaN fails every comparison
		return fmt.Errorf("--p %g outside [0, 1]", c.P)
	case c.P > 0 && len(c.Orig) == 0:
		return fmt.Errorf("--p %g needs --orig shards (or use --p 0)", c.P)
	case math.IsInf(c.LR, 0):
		return fmt.Errorf("--lr %g must be finite", c.LR)
	case !(c.MinLRRatio >= 0 && c.MinLRRatio <= 1):
		return fmt.Errorf("--min-lr-ratio %g outside [0, 1]", c.MinLRRatio)
	}
	for _, f := range []struct {
		flag string
		v    int
	}{{"--warmup", c.Warmup}, {"--eval-every", c.EvalEvery}, {"--eval-batches", c.EvalBatches}, {"--save-every", c.SaveEvery},
		{"--keep-last", c.KeepLast}, {"--threads", c.Threads}} {
		if f.v < 0 {
			return fmt.Errorf("%s %d must not be negative", f.flag, f.v)
		}
	}
	return c.schedule().Validate()
}

func (c *RunConfig) schedule() Schedule {
	return Schedule{Kind: c.Schedule, Peak: c.LR, Warmup: c.Warmup, Steps: c.Steps, MinRatio: c.MinLRRatio}
}

// Hash identifies the settings that must not change across a resume (the
// step count, evaluation/saving cadence and the micro-batch may: with exact
// accumulation the micro-batch changes float32 rounding, not the objective,
// so a run can move to machines with less memory or more ranks).
func (c *RunConfig) Hash() (string, error) {
	raw, err := json.Marshal(c.hashed())
	if err != nil {
		return "", fmt.Errorf("run configuration: %w", err)
	}
	return build.HashBytes(raw), nil
}

// hashed is the part of the configuration Hash covers.
func (c *RunConfig) hashed() RunConfig {
	k := *c
	// As the full batch, so runs without accumulation keep their hash.
	k.MicroBatch = k.Batch
	k.Steps, k.EvalEvery, k.SaveEvery, k.KeepLast, k.Threads, k.Provider, k.EvalBatches = 0, 0, 0, 0, 0, "", 0
	k.Out, k.DriftCheckEvery = "", 0
	return k
}

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
	t := &Trainer{Cfg: cfg, Manifest: m, Log: log, comm: comm}
	if err := t.openCorpora(); err != nil {
		t.Close()
		return nil, err
	}
	if t.mixer, err = NewMixer(t.newC, t.origC, cfg.P, cfg.Seed); err != nil {
		t.Close()
		return nil, err
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		t.Close()
		return nil, err
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
	lead := t.comm.Rank() == 0
	var eval *evaluator
	if lead && t.Cfg.EvalEvery > 0 && (len(t.Cfg.EvalNew) > 0 || len(t.Cfg.EvalOrig) > 0) {
		if eval, err = newEvaluator(t.Cfg, t.Manifest, t.state, t.evalSets); err != nil {
			return err
		}
		defer eval.close()
	}
	metricsOut := io.Discard
	if lead {
		if t.metrics, err = os.OpenFile(filepath.Join(t.Cfg.Out, metricsFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err != nil {
			return err
		}
		metricsOut = t.metrics
	}
	sched := t.Cfg.schedule()
	progress := newProgress(t.Log, t.Cfg.Steps, t.step)
	seq := t.Manifest.Seq
	tokensPerStep := float64(t.Cfg.Batch * seq)
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
		step := t.step + 1
		lr := sched.LR(step)
		start := time.Now()
		// Every rank draws the same whole batch, so a data error stops all
		// ranks at the same step.
		if err := t.mixer.Fill(exec.batch); err != nil {
			return fmt.Errorf("step %d: %w", step, err)
		}
		m, err := exec.step(step, lr)
		if err != nil {
			return fmt.Errorf("step %d: %w", step, err)
		}
		m.Step, m.LR = step, lr
		m.StepSeconds = time.Since(start).Seconds()
		m.TokensPerSec = tokensPerStep / m.StepSeconds
		if t.AfterStep != nil {
			t.AfterStep(m)
		}
		if err := checkFinite(m); err != nil {
			return err
		}
		t.step = step
		if eval != nil && step%t.Cfg.EvalEvery == 0 {
			if m.Eval, err = eval.run(); err != nil {
				return fmt.Errorf("evaluation at step %d: %w", step, err)
			}
		}
		line, _ := json.Marshal(m)
		if _, err := metricsOut.Write(append(line, '\n')); err != nil {
			return err
		}
		progress.update(step, m)
		if t.Cfg.SaveEvery > 0 && step%t.Cfg.SaveEvery == 0 || step == t.Cfg.Steps {
			if err := t.saveOnLead(); err != nil {
				return fmt.Errorf("checkpoint at step %d: %w", step, err)
			}
		}
		if t.Cfg.DriftCheckEvery > 0 && step%t.Cfg.DriftCheckEvery == 0 {
			if err := t.checkReplicas(); err != nil {
				return err
			}
		}
	}
	progress.done()
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
