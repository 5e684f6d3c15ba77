package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/trainer"
)

func init() {
	register(subcommand{name: "train", summary: "train a build on token shards (mixing, checkpoints, resume, eval)", run: runTrain})
}

// trainArgs is `nrgraph train`'s command line, parsed and checked.
type trainArgs struct {
	run                 trainer.RunConfig
	resume, fromScratch bool
	modelDir, ortLib    string
	seq                 int
	initStd             float64
}

// parseTrainArgs resolves the run configuration with one source of truth:
// the defaults, then the --config file, then the flags, which are
// registered with those values as their defaults so that exactly the flags
// given on the command line override the file. It checks everything before
// ONNX Runtime loads.
func parseTrainArgs(args []string) (trainArgs, error) {
	a := trainArgs{run: trainer.DefaultRunConfig()}
	configFile := configFileArg(args)
	if configFile != "" {
		var err error
		if a.run, err = readRunConfig(configFile, a.run); err != nil {
			return a, err
		}
	}
	fs := newFlagSet("train", "--build BUILD_DIR --new SHARDS [--orig SHARDS --p 0.1] --steps N --out RUN_DIR [flags]")
	fs.String("config", configFile, "run configuration file (YAML or JSON, keys as in RUN_DIR/config.json); flags override it")
	registerRunFlags(fs, &a.run)
	fs.BoolVar(&a.resume, "resume", false, "continue from the latest checkpoint in --out")
	fs.BoolVar(&a.fromScratch, "from-scratch", false, "pretrain a backbone: build --model's config.json with random weights (all trainable) into RUN_DIR/build")
	fs.StringVar(&a.modelDir, "model", "", "with --from-scratch: directory with config.json and tokenizer.json")
	fs.IntVar(&a.seq, "seq", 256, "with --from-scratch: sequence length")
	fs.Float64Var(&a.initStd, "init-std", 0.02, "with --from-scratch: standard deviation of the random init")
	fs.StringVar(&a.ortLib, "ort-lib", "", "path to libonnxruntime.so")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	if a.fromScratch {
		if a.modelDir == "" || a.run.Out == "" {
			return a, fmt.Errorf("--from-scratch needs --model (config.json + tokenizer.json) and --out")
		}
		a.run.Build = filepath.Join(a.run.Out, "build")
	}
	checked := a.run
	checked.Defaults()
	return a, checked.Validate()
}

func runTrain(args []string) error {
	a, err := parseTrainArgs(args)
	if err != nil {
		return err
	}
	launch := trainer.DetectLaunch(os.Getenv)
	fmt.Fprintln(os.Stderr, launch)
	if err := initRuntime(a.ortLib); err != nil {
		return err
	}
	comm, err := trainer.OpenCommunicator(launch)
	if err != nil {
		return err
	}
	defer comm.Close()
	err = trainRank(a, comm)
	if err != nil && comm.Size() > 1 {
		// The other ranks may be waiting in a collective: end the job.
		fmt.Fprintf(os.Stderr, "rank %d: %v\n", comm.Rank(), err)
		comm.Abort(1)
	}
	return err
}

// trainRank is this process's part of the run (all of it without MPI).
func trainRank(a trainArgs, comm trainer.Communicator) error {
	c := a.run
	if a.fromScratch {
		if _, err := os.Stat(filepath.Join(c.Build, build.ManifestFile)); (err != nil || !a.resume) && comm.Rank() == 0 {
			ext, _ := models.DefaultExtension(models.Finetune)
			opt := graph.DefaultAdamW()
			fmt.Fprintf(os.Stderr, "building %s from scratch into %s\n", a.modelDir, c.Build)
			if _, err := build.Build(build.BuildOptions{ModelDir: a.modelDir, RandomInit: true, InitStd: a.initStd, Ext: ext, Opt: opt, Seq: a.seq, Out: c.Build, Log: os.Stderr}); err != nil {
				return err
			}
		}
		if err := comm.Barrier(); err != nil { // the other ranks wait for rank 0's build
			return err
		}
	}
	tr, err := trainer.NewDistributed(c, a.resume, os.Stderr, comm)
	if err != nil {
		return err
	}
	defer tr.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(tr.Log, "training %s (%d trainable tensors) for %d steps, batch %d x %d tokens on %d rank(s), p=%g, data order %s (seed %d) -> %s\n",
		tr.Manifest.Extension.Method, len(tr.Manifest.Params), tr.Cfg.Steps, tr.Cfg.Batch, tr.Manifest.Seq, comm.Size(), tr.Cfg.P, tr.Cfg.DataOrder, tr.Cfg.Seed, tr.Cfg.Out)
	return tr.Run(ctx) // trainer.ErrInterrupted exits with its own code (main.go)
}

// readRunConfig reads YAML or JSON (JSON is YAML) over base, using the
// JSON key names; keys absent from the file keep base's values.
func readRunConfig(path string, base trainer.RunConfig) (trainer.RunConfig, error) {
	c := base
	raw, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	var generic map[string]any
	if err := yaml.Unmarshal(raw, &generic); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	js, err := json.Marshal(generic)
	if err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	dec := json.NewDecoder(bytesReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// registerRunFlags binds the run flags to c, each defaulting to c's value
// (the defaults, or what the --config file set).
func registerRunFlags(fs *pflag.FlagSet, c *trainer.RunConfig) {
	fs.StringVar(&c.Build, "build", c.Build, "build directory written by nrgraph build")
	fs.StringSliceVar(&c.New, "new", c.New, "new-domain token shards (files, stems or directories)")
	fs.StringSliceVar(&c.Orig, "orig", c.Orig, "original-domain token shards, mixed in with probability --p")
	fs.Float64Var(&c.P, "p", c.P, "probability that a training sequence comes from --orig (paper: 0.1)")
	fs.IntVar(&c.Steps, "steps", c.Steps, "optimizer steps")
	fs.IntVar(&c.Batch, "batch", c.Batch, "sequences per optimizer step")
	fs.IntVar(&c.MicroBatch, "micro-batch", c.MicroBatch, "sequences per forward/backward (gradients accumulate; default --batch)")
	fs.Float64Var(&c.LR, "lr", c.LR, "peak learning rate (paper: 2e-4 adapters/neutral residues, 5e-5 finetune/LoRA)")
	fs.IntVar(&c.Warmup, "warmup", c.Warmup, "linear warmup steps")
	enumVar(fs, &c.Schedule, "schedule", trainer.ScheduleKinds, "learning-rate schedule after warmup: cosine, linear or constant")
	fs.Float64Var(&c.MinLRRatio, "min-lr-ratio", c.MinLRRatio, "final learning rate as a fraction of --lr")
	fs.IntVar(&c.EvalEvery, "eval-every", c.EvalEvery, "evaluate held-out loss every K steps (0: never)")
	fs.StringSliceVar(&c.EvalNew, "eval-new", c.EvalNew, "held-out new-domain token shards")
	fs.StringSliceVar(&c.EvalOrig, "eval-orig", c.EvalOrig, "held-out original-domain token shards")
	fs.IntVar(&c.EvalBatches, "eval-batches", c.EvalBatches, "micro-batches per held-out evaluation")
	fs.IntVar(&c.SaveEvery, "save-every", c.SaveEvery, "checkpoint every S steps (and at the end)")
	fs.IntVar(&c.KeepLast, "keep-last", c.KeepLast, "checkpoints to keep")
	fs.StringVar(&c.Out, "out", c.Out, "run directory (checkpoints, metrics.jsonl, config.json)")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "data-order seed")
	enumVar(fs, &c.DataOrder, "data-order", trainer.DataOrders, "order each corpus's windows are read in: shuffled (a permutation per epoch, keyed by --seed) or sequential (from the start, wrapping: checkpoints of versions before this flag resume only so)")
	fs.IntVar(&c.Threads, "threads", c.Threads, "ONNX Runtime intra-op threads (0: all CPUs)")
	fs.StringVar(&c.Provider, "provider", c.Provider, "execution provider: cpu, cuda or tensorrt (needs --ort-lib of a GPU build)")
	fs.IntVar(&c.DriftCheckEvery, "drift-check-every", c.DriftCheckEvery, "under MPI: compare a hash of every rank's training state every N steps (0: only at start)")
}

// configFileArg finds --config in args before the real parse, which needs
// the file's values as flag defaults.
func configFileArg(args []string) string {
	pre := pflag.NewFlagSet("train", pflag.ContinueOnError)
	pre.ParseErrorsWhitelist.UnknownFlags = true
	pre.Usage = func() {}
	pre.SetOutput(io.Discard)
	path := pre.String("config", "", "")
	pre.BoolP("help", "h", false, "")
	_ = pre.Parse(args) // errors are the real parse's to report
	return *path
}
