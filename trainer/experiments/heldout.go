package experiments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/nrgraph/nrgraph/data"
	"github.com/nrgraph/nrgraph/evaltasks/scoring"
	"github.com/nrgraph/nrgraph/export"
	"github.com/nrgraph/nrgraph/trainer"
)

// heldOutWindows are the start positions of the windows of seq+1 tokens
// (seq scored targets each) read from a held-out set of n tokens: every
// whole window when budget is 0, else ceil(budget/seq) of them spread
// evenly over the whole set (the trainer's choice of windows, with the
// budget in tokens). The first N tokens would score one source only: the
// demo's held-out files are grouped by source.
func heldOutWindows(n int64, seq int, budget int64) []int64 {
	windows := (n - 1) / int64(seq)
	if budget > 0 {
		windows = min(windows, (budget+int64(seq)-1)/int64(seq))
	}
	return trainer.HeldOutStarts(n, seq, int(max(windows, 0)))
}

// scoreWindows sums the negative log-likelihood of the windows' targets.
// Bits per byte divides by the set's bytes per token (the shards record
// bytes per set, not per token); with every window scored that is the
// whole set's ratio, less at most seq tokens of tail.
func scoreWindows(ctx context.Context, sc *scoring.Scorer, c *data.Corpus, seq int, starts []int64) (trainer.EvalResult, error) {
	const rows = 16
	nll, tokens := 0.0, int64(0)
	buf := make([]int64, seq+1)
	for done := 0; done < len(starts); done += rows {
		// A whole set takes minutes: Ctrl-C stops here (the sets scored so
		// far are cached) rather than after it, like training's checkpoint.
		if ctx.Err() != nil {
			return trainer.EvalResult{}, fmt.Errorf("scoring: %w", trainer.ErrInterrupted)
		}
		batch := make([][]int, 0, rows)
		for _, pos := range starts[done:min(done+rows, len(starts))] {
			if err := c.Read(pos, buf); err != nil {
				return trainer.EvalResult{}, err
			}
			ids := make([]int, len(buf))
			for i, v := range buf {
				ids[i] = int(v)
			}
			batch = append(batch, ids)
		}
		scores, err := sc.ScoreSequences(batch)
		if err != nil {
			return trainer.EvalResult{}, err
		}
		for _, s := range scores {
			for _, lp := range s.LogProbs {
				nll -= lp
			}
			tokens += int64(len(s.LogProbs))
		}
	}
	if tokens == 0 {
		return trainer.EvalResult{}, fmt.Errorf("no whole window of %d tokens", seq+1)
	}
	bytesPerToken := float64(c.Bytes()) / float64(c.Len())
	return trainer.EvalResult{NLL: nll / float64(tokens), BitsPerByte: nll / math.Ln2 / (float64(tokens) * bytesPerToken), Tokens: tokens}, nil
}

// scoresFile caches held-out scores in a build (the backbone's) or run
// directory, so a reused run is not re-scored and a new --forget set
// scores only itself.
const scoresFile = "repro-scores.json"

// scoreKey identifies a score: the set's name, content and budget.
func scoreKey(s shardSet, budget int64) string {
	return fmt.Sprintf("%s-%s-tokens%d", s.Name, s.Hash[:12], budget)
}

// scoreModel scores each held-out set with the build's parameters, from
// checkpoint (a run directory; "" for the build's initial weights, the
// backbone in a finetune build), caching them in cacheDir. Results are
// keyed by set name.
func (d ExperimentData) scoreModel(ctx context.Context, buildDir, checkpoint, cacheDir string, seq int, sets []shardSet) (map[string]trainer.EvalResult, error) {
	cachePath := filepath.Join(cacheDir, scoresFile)
	cache := map[string]trainer.EvalResult{}
	if raw, err := os.ReadFile(cachePath); err == nil {
		if err := json.Unmarshal(raw, &cache); err != nil {
			return nil, fmt.Errorf("%s: %w (delete it to re-score)", cachePath, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	out := map[string]trainer.EvalResult{}
	var sc *scoring.Scorer
	defer func() {
		if sc != nil {
			sc.Close()
		}
	}()
	for _, s := range sets {
		key := scoreKey(s, d.HeldOutTokens)
		if r, ok := cache[key]; ok {
			out[s.Name] = r
			continue
		}
		if sc == nil {
			var err error
			if sc, err = scoring.OpenScorer(buildDir, nil, scoring.ScorerOptions{Checkpoint: checkpoint, Threads: d.Threads, BOS: -1}); err != nil {
				return nil, err
			}
		}
		r, err := d.scoreSet(ctx, sc, s, seq)
		if err != nil {
			return nil, err
		}
		out[s.Name], cache[key] = r, r
		raw, _ := json.MarshalIndent(cache, "", "  ")
		if err := export.WriteFileAtomic(cachePath, append(raw, '\n')); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// scoreSet opens one held-out set's shards and scores its windows.
func (d ExperimentData) scoreSet(ctx context.Context, sc *scoring.Scorer, s shardSet, seq int) (trainer.EvalResult, error) {
	start := time.Now()
	c, err := data.OpenCorpus([]string{s.Stem})
	if err != nil {
		return trainer.EvalResult{}, fmt.Errorf("%s %s: %w", s.Flag, s.Name, err)
	}
	defer c.Close()
	starts := heldOutWindows(c.Len(), seq, d.HeldOutTokens)
	// A whole set takes minutes on a laptop: say what is running.
	fmt.Fprintf(d.Log, "  scoring %s: %d windows of %d tokens (of %d)...", s.Name, len(starts), seq, c.Len())
	r, err := scoreWindows(ctx, sc, c, seq, starts)
	if err != nil {
		fmt.Fprintln(d.Log)
		return r, fmt.Errorf("%s %s=%s: %w", s.Flag, s.Name, s.Path, err)
	}
	fmt.Fprintf(d.Log, " %.4f bits/byte (%s)\n", r.BitsPerByte, time.Since(start).Round(time.Second))
	return r, nil
}
