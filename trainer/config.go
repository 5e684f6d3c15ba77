package trainer

import (
	"encoding/json"
	"fmt"
	"math"

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
	DataOrder   DataOrder    `json:"data_order,omitempty"` // keyed by Seed
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
		EvalBatches: 8, SaveEvery: 100, KeepLast: 3, Seed: 1, DataOrder: Shuffled, Provider: "cpu", DriftCheckEvery: 100}
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
	if c.DataOrder == "" {
		c.DataOrder = Shuffled
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
	if err := c.DataOrder.validate(); err != nil {
		return err
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
	// Sequential was the only order before --data-order: left out, so that
	// checkpoints of older versions resume with --data-order sequential.
	if k.DataOrder == Sequential {
		k.DataOrder = ""
	}
	return k
}
