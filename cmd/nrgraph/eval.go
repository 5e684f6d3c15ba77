package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nrgraph/nrgraph/evaltasks"
	"github.com/nrgraph/nrgraph/evaltasks/scoring"
	"github.com/nrgraph/nrgraph/models/build"
)

func init() {
	register(subcommand{name: "eval", summary: "perplexity and benchmarks (HellaSwag, ARC, MMLU, CSQA, Belebele, JSONL) on the compiled score graph", run: runEval})
}

func runEval(args []string) error {
	fs := newFlagSet("eval", "--build BUILD_DIR [--checkpoint RUN_DIR] [--task GROUP:FORMAT:PATH[:FEWSHOT]]... [--text-en FILES] [--text-target FILES] --out FILE")
	buildDir := fs.String("build", "", "build directory")
	ckpt := fs.String("checkpoint", "", "run directory (latest checkpoint), checkpoint dir or state file; default: the untrained extension (= the backbone)")
	tasks := fs.StringArray("task", nil, "benchmark as GROUP:FORMAT:PATH[:FEWSHOT_PATH] or group=G,format=F,path=P[,fewshot=P] (paths with colons); GROUP en (forgetting) or target (learning); FORMAT hellaswag, arc, mmlu, csqa, belebele or jsonl; PATH a file, or a directory/glob of files scored as one task (MMLU: the release's data/ directory, dev/ as few-shot pool) (repeatable)")
	metrics := fs.StringArray("metric", nil, "metric a task's column shows, as TASK=METRIC (TASK a benchmark such as arc_challenge or a task name; METRIC acc, acc_norm, acc_bytes, acc_per_token or pmi); default OLMES's: pmi for ARC-Challenge, acc_norm for HellaSwag, acc for lettered MMLU/CSQA/Belebele (repeatable)")
	textEN := fs.StringSlice("text-en", nil, "held-out English text (.txt or .jsonl with \"text\") for perplexity and bits per byte")
	textTarget := fs.StringSlice("text-target", nil, "held-out target-language text for perplexity and bits per byte")
	shots := fs.Int("shots", -1, "few-shot examples (-1: the paper's per-task default: 5 ARC/CSQA/MMLU, 0 HellaSwag/Belebele)")
	limit := fs.Int("limit", 0, "only the first N questions / documents of each set (quick runs)")
	seed := fs.Uint64("seed", 1234, "few-shot sampling seed (lm-eval's default is 1234)")
	sampler := fs.String("fewshot-sampler", string(evaltasks.FewshotLMEval), "few-shot draws: lm-eval (Python's random.Random(seed).sample over the pool, documents in order, as lm-eval) or per-document (nrgraph's earlier PCG draw per document)")
	pplWindows := fs.String("ppl-windows", string(evaltasks.WindowsRolling), "perplexity windows: rolling (lm-eval's disjoint rolling windows) or strided (stride half the window: more context, twice the passes)")
	logSamples := fs.String("log-samples", "", "write one JSON line per question here: prompt, continuations, per-choice log-likelihoods and lengths, predictions per metric, gold (lm-eval's --log_samples)")
	label := fs.String("label", "", "row label in reports (default: the method)")
	lr := fs.Float64("lr", 0, "learning rate of the run, shown on the trade-off plot")
	target := fs.String("target", "target", "target-language name for the report section (e.g. French)")
	out := fs.String("out", "", "write the results JSON here (for nrgraph report)")
	batch := fs.Int("batch", 16, "sequences per forward pass")
	threads := fs.Int("threads", 0, "ONNX Runtime threads (0: all CPUs)")
	provider := fs.String("provider", "cpu", "execution provider: cpu, cuda or tensorrt")
	ortLib := fs.String("ort-lib", "", "path to libonnxruntime.so")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *buildDir == "" || (len(*tasks) == 0 && len(*textEN) == 0 && len(*textTarget) == 0) {
		fs.Usage()
		return fmt.Errorf("--build and at least one --task or --text-* are required")
	}
	var specs []scoring.TaskSpec
	for _, t := range *tasks {
		s, err := scoring.ParseTaskSpec(t)
		if err != nil {
			return err
		}
		specs = append(specs, s)
	}
	metricByTask, err := evaltasks.ParseMetricOverrides(*metrics)
	if err != nil {
		return err
	}
	fewshotRNG, err := evaltasks.ParseFewshotRNG(*sampler)
	if err != nil {
		return fmt.Errorf("--fewshot-sampler: %w", err)
	}
	windows, err := evaltasks.ParseWindowScheme(*pplWindows)
	if err != nil {
		return fmt.Errorf("--ppl-windows: %w", err)
	}
	if err := initRuntime(*ortLib); err != nil {
		return err
	}
	tok, bos, err := loadTokenizer(filepath.Join(*buildDir, build.TokenizerFile))
	if err != nil {
		return err
	}
	scorer, err := scoring.OpenScorer(*buildDir, tok, scoring.ScorerOptions{Checkpoint: *ckpt, Threads: *threads, Provider: *provider, MaxRows: *batch, BOS: bos})
	if err != nil {
		return err
	}
	defer scorer.Close()
	var texts []scoring.TextSpec
	if len(*textEN) > 0 {
		texts = append(texts, scoring.TextSpec{Group: "en", Paths: *textEN})
	}
	if len(*textTarget) > 0 {
		texts = append(texts, scoring.TextSpec{Group: "target", Paths: *textTarget})
	}
	opts := scoring.EvalOptions{Scorer: scorer, Label: *label, LR: *lr, Tasks: specs, Texts: texts, Shots: *shots, Seed: *seed, Limit: *limit,
		Metrics: metricByTask, Run: *ckpt, FewshotSampler: fewshotRNG, PerplexityWindows: windows, Progress: os.Stderr}
	provenance, err := scoring.NewEvalProvenance(*buildDir, scorer, opts, os.Args)
	if err != nil {
		return err
	}
	if *logSamples != "" {
		f, err := os.Create(*logSamples)
		if err != nil {
			return fmt.Errorf("--log-samples: %w", err)
		}
		defer f.Close()
		w := bufio.NewWriter(f)
		defer w.Flush()
		opts.Samples = w
	}
	res, err := scoring.Evaluate(opts)
	if err != nil {
		return err
	}
	file := scoring.EvalFile{Target: *target, Result: *res, Provenance: provenance}
	rep, err := scoring.CollectReportFrom([]scoring.EvalFile{file})
	if err != nil {
		return err
	}
	fmt.Print(rep.Markdown())
	fmt.Print(scoring.PerplexityTable(rep))
	if *out != "" {
		if err := scoring.WriteEvalFile(*out, file); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", *out)
	}
	return nil
}
