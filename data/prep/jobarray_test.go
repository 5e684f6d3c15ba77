package prep

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShardFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name        string
		spec        string
		env         map[string]string
		shard, n    int
		engine, err string
	}{
		{"slurm 0-based", "auto", map[string]string{"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "8", "SLURM_ARRAY_TASK_MIN": "0"}, 3, 8, "Slurm job array", ""},
		{"slurm --array=1-8", "auto", map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "8", "SLURM_ARRAY_TASK_MIN": "1"}, 0, 8, "Slurm job array", ""},
		{"slurm --array=0-14:2", "auto", map[string]string{"SLURM_ARRAY_TASK_ID": "6", "SLURM_ARRAY_TASK_COUNT": "8", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_STEP": "2"}, 3, 8, "Slurm job array", ""},
		{"kubernetes with count", "auto/16", map[string]string{"JOB_COMPLETION_INDEX": "15"}, 15, 16, "Kubernetes indexed Job", ""},
		{"kubernetes without count", "auto", map[string]string{"JOB_COMPLETION_INDEX": "2"}, 0, 0, "", "spec.completions"},
		{"kubernetes index past count", "auto/4", map[string]string{"JOB_COMPLETION_INDEX": "4"}, 0, 0, "", "not one of 4 tasks"},
		{"google batch", "auto", map[string]string{"BATCH_TASK_INDEX": "0", "BATCH_TASK_COUNT": "2"}, 0, 2, "Google Cloud Batch", ""},
		{"grid engine", "auto", map[string]string{"SGE_TASK_ID": "4", "SGE_TASK_FIRST": "1", "SGE_TASK_LAST": "10", "SGE_TASK_STEPSIZE": "1"}, 3, 10, "Grid Engine array job", ""},
		{"grid engine outside an array", "auto/2", map[string]string{"SGE_TASK_ID": "undefined"}, 0, 0, "", "no job-array index"},
		{"nothing", "auto", map[string]string{}, 0, 0, "", "use --shard i/n"},
		{"bad spec", "automatic", map[string]string{}, 0, 0, "", "want i/n, auto or auto/N"},
		{"bad count", "auto/0", map[string]string{}, 0, 0, "", "positive count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shard, n, engine, err := ShardFromEnv(tc.spec, func(k string) string { return tc.env[k] })
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []any{tc.shard, tc.n, tc.engine}, []any{shard, n, engine})
		})
	}
}

// Array tasks run at once cannot share one --seen file (each saves its own
// set at the end), so each dedups only within its shard; a second prepare
// over the shard outputs (JSONL input) with one --seen removes what
// different shards both kept.
func TestSecondPassDedupsAcrossParallelShards(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	shared, only0, only1 := frenchParagraph(rng, 2), frenchParagraph(rng, 2), frenchParagraph(rng, 2)
	dir := t.TempDir()
	writeFile(t, dir, "s0.html", []byte(htmlPage("", shared, only0)))
	writeFile(t, dir, "s1.html", []byte(htmlPage("", shared, only1)))
	outDir := t.TempDir()
	var outputs []string
	for shard := 0; shard < 2; shard++ {
		out := filepath.Join(outDir, fmt.Sprintf("fr-%d.jsonl", shard))
		_, err := Prepare(context.Background(), Config{Inputs: []string{dir}, OutputPath: out, Lang: "fr", MinLangScore: 0.5,
			Shard: shard, NumShards: 2, SeenPath: filepath.Join(outDir, fmt.Sprintf("seen-%d.bin", shard)), Workers: 2})
		require.NoError(t, err)
		outputs = append(outputs, out)
	}
	all := filepath.Join(outDir, "fr.jsonl")
	_, err := Prepare(context.Background(), Config{Inputs: outputs, OutputPath: all, Lang: "fr", MinLangScore: 0.5,
		SeenPath: filepath.Join(outDir, "seen.bin"), Workers: 2})
	require.NoError(t, err)
	var paragraphs []string
	for _, d := range readOutput(t, all) {
		paragraphs = append(paragraphs, strings.Split(d.Text, "\n")...)
	}
	assert.Equal(t, []string{shared, only0, only1}, paragraphs)
}
