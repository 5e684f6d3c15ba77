package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"github.com/nrgraph/nrgraph/data/prep"
)

func init() {
	register(subcommand{
		name:    "data",
		summary: "prepare training text from crawls (prepare) and train its quality filter (train-quality)",
		run:     runData,
	})
}

const dataUsage = `prepare|train-quality [flags]

  prepare        WARC/HTML/text/JSONL -> JSONL (text, url, lang, lang_score, quality) + stats JSON
  train-quality  train the linear quality classifier used by prepare --quality-model`

func runData(args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(os.Stderr, "usage: nrgraph data %s\n", dataUsage)
		if len(args) == 0 {
			return fmt.Errorf("missing data subcommand")
		}
		return nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	switch args[0] {
	case "prepare":
		return runDataPrepare(ctx, args[1:])
	case "train-quality":
		return runDataTrainQuality(ctx, args[1:])
	}
	return fmt.Errorf("unknown data subcommand %q (want prepare or train-quality)", args[0])
}

func runDataPrepare(ctx context.Context, args []string) error {
	fs := newFlagSet("data prepare", "--out FILE.jsonl [flags] INPUT...")
	var cfg prep.Config
	var shard string
	var seenMaxMB int64
	fs.StringVar(&cfg.OutputPath, "out", "", "output JSONL (written atomically)")
	fs.StringVar(&cfg.StatsPath, "stats", "", "stats JSON (default OUT.stats.json)")
	fs.StringVar(&cfg.Lang, "lang", "", "ISO 639-1 language to keep, decided per paragraph (empty keeps all)")
	fs.Float64Var(&cfg.MinLangScore, "min-lang-score", 0.5, "minimum language-identification confidence of a kept paragraph")
	fs.StringSliceVar(&cfg.LIDLanguages, "lid-languages", nil, "candidate languages for identification (default all; a short list is faster)")
	fs.StringVar(&cfg.SeenPath, "seen", "", "persisted paragraph-hash set: loaded if present, saved atomically at the end")
	fs.Int64Var(&seenMaxMB, "seen-max-mb", 1024, "memory budget of the paragraph-hash set in MB (about 95k paragraphs per MB)")
	fs.StringVar(&cfg.QualityModelPath, "quality-model", "", "model from 'nrgraph data train-quality' (empty: no quality scoring)")
	fs.Float64Var(&cfg.MinQuality, "min-quality", 0, "drop documents whose quality score is lower")
	fs.IntVar(&cfg.Workers, "workers", 0, "parallel workers (default: number of CPUs)")
	fs.StringVar(&shard, "shard", "", "i/n: process only input files i, i+n, i+2n, ... (0-based); auto (or auto/N): i and n from a Slurm, Kubernetes indexed, Cloud Batch, AWS Batch or Grid Engine array job")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.Inputs = fs.Args()
	if len(cfg.Inputs) == 0 || cfg.OutputPath == "" {
		fs.Usage()
		return fmt.Errorf("need --out and at least one input")
	}
	if strings.HasPrefix(shard, "auto") {
		var engine string
		var err error
		if cfg.Shard, cfg.NumShards, engine, err = prep.ShardFromEnv(shard, os.Getenv); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "data prepare: shard %d/%d (from the %s)\n", cfg.Shard, cfg.NumShards, engine)
	} else if shard != "" {
		var err error
		if cfg.Shard, cfg.NumShards, err = parseShard(shard); err != nil {
			return err
		}
	}
	cfg.SeenMaxBytes = seenMaxMB << 20
	cfg.Progress = os.Stderr
	stats, err := prep.Prepare(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "data prepare: kept %d of %d documents, %d of %d paragraphs; dropped documents %v\n",
		stats.DocumentsKept, stats.DocumentsIn, stats.ParagraphsKept, stats.ParagraphsIn, stats.DocumentsDropped)
	if stats.SeenSetRefused > 0 {
		fmt.Fprintf(os.Stderr, "data prepare: warning: seen set full, %d paragraphs not remembered; raise --seen-max-mb\n", stats.SeenSetRefused)
	}
	return nil
}

// parseShard reads "i/n" with 0 <= i < n.
func parseShard(s string) (int, int, error) {
	iText, nText, ok := strings.Cut(s, "/")
	i, errI := strconv.Atoi(iText)
	n, errN := strconv.Atoi(nText)
	if !ok || errI != nil || errN != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("--shard %q: want i/n with 0 <= i < n", s)
	}
	return i, n, nil
}

func runDataTrainQuality(ctx context.Context, args []string) error {
	fs := newFlagSet("data train-quality", "--good FILES --bad FILES --out model.bin [flags]")
	var good, bad []string
	var out string
	var workers int
	var cfg prep.QualityTrainConfig
	fs.StringSliceVar(&good, "good", nil, "high-quality documents (any prepare input format; repeatable or comma-separated)")
	fs.StringSliceVar(&bad, "bad", nil, "low-quality documents, e.g. random crawl pages")
	fs.StringVar(&out, "out", "", "model file to write")
	fs.IntVar(&cfg.Buckets, "buckets", 1<<18, "hash buckets (power of two; the model file is 4 bytes per bucket)")
	fs.IntVar(&cfg.Epochs, "epochs", 10, "SGD passes over the training set")
	fs.Float64Var(&cfg.LearningRate, "lr", 0.1, "initial learning rate, decayed linearly to 0")
	fs.Float64Var(&cfg.HeldOutFraction, "held-out", 0.1, "share of each class kept out to measure accuracy")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "shuffling seed")
	fs.IntVar(&workers, "workers", 0, "parallel readers/extractors (default: number of CPUs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(good) == 0 || len(bad) == 0 || out == "" {
		fs.Usage()
		return fmt.Errorf("need --good, --bad and --out")
	}
	model, report, err := prep.TrainQualityFiles(ctx, good, bad, workers, cfg)
	if err != nil {
		return err
	}
	if err := model.Save(out); err != nil {
		return err
	}
	summary, err := json.Marshal(report)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "data train-quality: held-out accuracy %.4f (train %.4f) on %d+%d documents; wrote %s\n%s\n",
		report.HeldOutAccuracy, report.TrainAccuracy, report.GoodDocuments, report.BadDocuments, out, summary)
	return nil
}
