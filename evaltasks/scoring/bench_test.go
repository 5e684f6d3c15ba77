package scoring

import (
	"io"
	"path/filepath"
	"testing"

	"github.com/nrgraph/nrgraph/evaltasks"
	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/models/tokenizer"
	"github.com/nrgraph/nrgraph/runtime"
)

// BenchmarkScoreTasks scores the repository's HellaSwag-, ARC- and
// Belebele (MMLU-shaped: four one-token lettered choices) fixtures with the
// embedded 7M-parameter backbone, one row per choice (lm-eval's way) and
// packed (a question's context once, its choices after it). It reports
// questions per second and token positions the model reads per question
// (the compute, independent of the machine). Targets: 3x fewer positions on
// lettered tasks, 2x on HellaSwag.
func BenchmarkScoreTasks(b *testing.B) {
	if err := runtime.Init(""); err != nil {
		b.Skip(err)
	}
	model := filepath.Join("..", "..", "models", "embedded", "en-llama-7m")
	buildDir := b.TempDir()
	ext, err := models.DefaultExtension(models.NeutralResidues)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := build.Build(build.BuildOptions{ModelDir: model, Ext: ext, Opt: graph.DefaultAdamW(), Seq: 256, Out: buildDir, Log: io.Discard}); err != nil {
		b.Fatal(err)
	}
	tok, err := tokenizer.LoadFile(filepath.Join(buildDir, build.TokenizerFile))
	if err != nil {
		b.Fatal(err)
	}
	tasks := []struct {
		name, format, path string
		shots              int
	}{
		{"hellaswag", "hellaswag", "../testdata/hellaswag/hellaswag_val.jsonl", 0},
		{"arc-5shot", "arc", "../testdata/arc/ARC-Challenge-Test.jsonl", 5},
		{"belebele", "belebele", "../testdata/belebele/fra_Latn.jsonl", 0},
	}
	for _, tt := range tasks {
		set, err := evaltasks.OpenSet(evaltasks.Format(tt.format), tt.path, "")
		if err != nil {
			b.Fatal(err)
		}
		for _, mode := range []struct {
			name     string
			unpacked bool
		}{{"unpacked", true}, {"packed", false}} {
			b.Run(tt.name+"/"+mode.name, func(b *testing.B) {
				s, err := OpenScorer(buildDir, tok, ScorerOptions{Threads: 1, BOS: tok.BOS, Unpacked: mode.unpacked})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				questions := 0
				for b.Loop() {
					if _, err := evaltasks.Run(set[0], s, evaltasks.Options{Shots: tt.shots, Seed: 1234}); err != nil {
						b.Fatal(err)
					}
					questions += len(set[0].Docs)
				}
				b.ReportMetric(float64(questions)/b.Elapsed().Seconds(), "questions/s")
				b.ReportMetric(float64(s.PositionsRead())/float64(questions), "positions/question")
			})
		}
	}
}
