package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/nrgraph/nrgraph/evaltasks"
	"github.com/nrgraph/nrgraph/evaltasks/scoring"
	"github.com/nrgraph/nrgraph/models/build"
)

func init() {
	register(subcommand{name: "eval", summary: "perplexity and benchmarks (HellaSwag, ARC, MMLU, CSQA, Belebele, JSONL) on the compiled score graph", run: runEval})
}

// evalFlags are `nrgraph eval`'s flags.
type evalFlags struct {
	buildDir, ckpt, sampler, pplWindows, logSamples string
	label, target, out, provider, ortLib            string
	tasks, metrics, textEN, textTarget              []string
	shots, limit, batch, threads                    int
	seed                                            uint64
	lr                                              float64
}

func (f *evalFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.buildDir, "build", "", "build directory")
	fs.StringVar(&f.ckpt, "checkpoint", "", "run directory (latest checkpoint), checkpoint dir or state file; default: the untrained extension (= the backbone)")
	fs.StringArrayVar(&f.tasks, "task", nil, "benchmark as GROUP:FORMAT:PATH[:FEWSHOT_PATH] or group=G,format=F,path=P[,fewshot=P] (paths with colons); GROUP en (forgetting) or target (learning); FORMAT hellaswag, arc, mmlu, csqa, belebele or jsonl; PATH a file, or a directory/glob of files scored as one task (MMLU: the release's data/ directory, dev/ as few-shot pool) (repeatable)")
	fs.StringArrayVar(&f.metrics, "metric", nil, "metric a task's column shows, as TASK=METRIC (TASK a benchmark such as arc_challenge or a task name; METRIC acc, acc_norm, acc_bytes, acc_per_token or pmi); default OLMES's: pmi for ARC-Challenge, acc_norm for HellaSwag, acc for lettered MMLU/CSQA/Belebele (repeatable)")
	fs.StringSliceVar(&f.textEN, "text-en", nil, "held-out English text (.txt or .jsonl with \"text\") for perplexity and bits per byte")
	fs.StringSliceVar(&f.textTarget, "text-target", nil, "held-out target-language text for perplexity and bits per byte")
	fs.IntVar(&f.shots, "shots", -1, "few-shot examples (-1: the paper's per-task default: 5 ARC/CSQA/MMLU, 0 HellaSwag/Belebele)")
	fs.IntVar(&f.limit, "limit", 0, "only the first N questions / documents of each set (quick runs)")
	fs.Uint64Var(&f.seed, "seed", 1234, "few-shot sampling seed (lm-eval's default is 1234)")
	fs.StringVar(&f.sampler, "fewshot-sampler", string(evaltasks.FewshotLMEval), "few-shot draws: lm-eval (Python's random.Random(seed).sample over the pool, documents in order, as lm-eval) or per-document (nrgraph's earlier PCG draw per document)")
	fs.StringVar(&f.pplWindows, "ppl-windows", string(evaltasks.WindowsRolling), "perplexity windows: rolling (lm-eval's disjoint rolling windows) or strided (stride half the window: more context, twice the passes)")
	fs.StringVar(&f.logSamples, "log-samples", "", "write one JSON line per question here: prompt, continuations, per-choice log-likelihoods and lengths, predictions per metric, gold (lm-eval's --log_samples)")
	fs.StringVar(&f.label, "label", "", "row label in reports (default: the method)")
	fs.Float64Var(&f.lr, "lr", 0, "learning rate of the run, shown on the trade-off plot")
	fs.StringVar(&f.target, "target", "target", "target-language name for the report section (e.g. French)")
	fs.StringVar(&f.out, "out", "", "write the results JSON here (for nrgraph report)")
	fs.IntVar(&f.batch, "batch", 16, "sequences per forward pass")
	fs.IntVar(&f.threads, "threads", 0, "ONNX Runtime threads (0: all CPUs)")
	fs.StringVar(&f.provider, "provider", "cpu", "execution provider: cpu, cuda or tensorrt")
	fs.StringVar(&f.ortLib, "ort-lib", "", "path to libonnxruntime.so")
}

// options checks the flags and turns them into evaluation options (all
// but the scorer), before ONNX Runtime loads.
func (f *evalFlags) options() (scoring.EvalOptions, error) {
	o := scoring.EvalOptions{Label: f.label, LR: f.lr, Shots: f.shots, Seed: f.seed, Limit: f.limit, Run: f.ckpt, Progress: os.Stderr}
	if f.buildDir == "" || (len(f.tasks) == 0 && len(f.textEN) == 0 && len(f.textTarget) == 0) {
		return o, fmt.Errorf("--build and at least one --task or --text-* are required")
	}
	for _, t := range f.tasks {
		spec, err := scoring.ParseTaskSpec(t)
		if err != nil {
			return o, err
		}
		o.Tasks = append(o.Tasks, spec)
	}
	var err error
	if o.Metrics, err = evaltasks.ParseMetricOverrides(f.metrics); err != nil {
		return o, err
	}
	if o.FewshotSampler, err = evaltasks.ParseFewshotRNG(f.sampler); err != nil {
		return o, fmt.Errorf("--fewshot-sampler: %w", err)
	}
	if o.PerplexityWindows, err = evaltasks.ParseWindowScheme(f.pplWindows); err != nil {
		return o, fmt.Errorf("--ppl-windows: %w", err)
	}
	if len(f.textEN) > 0 {
		o.Texts = append(o.Texts, scoring.TextSpec{Group: "en", Paths: f.textEN})
	}
	if len(f.textTarget) > 0 {
		o.Texts = append(o.Texts, scoring.TextSpec{Group: "target", Paths: f.textTarget})
	}
	return o, nil
}

func runEval(args []string) error {
	fs := newFlagSet("eval", "--build BUILD_DIR [--checkpoint RUN_DIR] [--task GROUP:FORMAT:PATH[:FEWSHOT]]... [--text-en FILES] [--text-target FILES] --out FILE")
	var f evalFlags
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts, err := f.options()
	if err != nil {
		fs.Usage()
		return err
	}
	if err := initRuntime(f.ortLib); err != nil {
		return err
	}
	tok, bos, err := loadTokenizer(filepath.Join(f.buildDir, build.TokenizerFile))
	if err != nil {
		return err
	}
	scorer, err := scoring.OpenScorer(f.buildDir, tok, scoring.ScorerOptions{Checkpoint: f.ckpt, Threads: f.threads, Provider: f.provider, MaxRows: f.batch, BOS: bos})
	if err != nil {
		return err
	}
	defer scorer.Close()
	opts.Scorer = scorer
	provenance, err := scoring.NewEvalProvenance(f.buildDir, scorer, opts, os.Args)
	if err != nil {
		return err
	}
	if f.logSamples != "" {
		samples, err := os.Create(f.logSamples)
		if err != nil {
			return fmt.Errorf("--log-samples: %w", err)
		}
		defer samples.Close()
		w := bufio.NewWriter(samples)
		defer w.Flush()
		opts.Samples = w
	}
	res, err := scoring.Evaluate(opts)
	if err != nil {
		return err
	}
	file := scoring.EvalFile{Target: f.target, Result: *res, Provenance: provenance}
	rep, err := scoring.CollectReportFrom([]scoring.EvalFile{file})
	if err != nil {
		return err
	}
	fmt.Print(rep.Markdown())
	fmt.Print(scoring.PerplexityTable(rep))
	if f.out != "" {
		if err := scoring.WriteEvalFile(f.out, file); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", f.out)
	}
	return nil
}
