package trainer

import (
	"math"

	"github.com/nrgraph/nrgraph/data"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/runtime"
)

// evaluator computes held-out loss and bits per byte on both domains with
// the build's score graph, fed the current parameters.
type evaluator struct {
	sess    *session
	data    *build.BatchTensors
	state   *stateTensors
	sets    map[string]*data.Corpus
	batches int
	out     *runtime.Tensor
}

// newEvaluator reads sets (opened and checked by the Trainer, which
// closes them).
func newEvaluator(cfg RunConfig, m *build.Manifest, state *stateTensors, sets map[string]*data.Corpus) (*evaluator, error) {
	ev := &evaluator{state: state, sets: sets, batches: cfg.EvalBatches}
	var err error
	io := m.Graphs["score"]
	io.Outputs = []string{models.TargetLogProbs_} // only the log-probs are needed here
	if ev.sess, err = openSession(cfg.Build, build.ScoreGraph, io, cfg, 0, m.LeanMemory()); err != nil {
		ev.close()
		return nil, err
	}
	if ev.data, err = build.NewBatchTensors(cfg.MicroBatch, m.Seq); err != nil {
		ev.close()
		return nil, err
	}
	return ev, nil
}

func (ev *evaluator) close() {
	ev.sess.close()
	if ev.data != nil {
		ev.data.Destroy()
	}
}

// run scores eval-batches×rows sequences of each held-out set, spread
// evenly over it (always the same ones, so numbers compare across steps).
// Bits per byte uses the corpus's bytes-per-token ratio.
func (ev *evaluator) run() (map[string]EvalResult, error) {
	res := map[string]EvalResult{}
	for name, c := range ev.sets {
		b := ev.data.Batch
		starts := HeldOutStarts(c.Len(), b.Seq, ev.batches*b.Rows)
		rows := len(starts)
		nll, tokens := 0.0, int64(0)
		buf := make([]int64, b.Seq+1)
		for done := 0; done < rows; done += b.Rows {
			for r := 0; r < b.Rows; r++ {
				row := done + r
				if row >= rows {
					row = rows - 1 // pad the last batch by repeating; masked below
				}
				if err := c.Read(starts[row], buf); err != nil {
					return nil, err
				}
				copy(b.IDs[r*b.Seq:], buf[:b.Seq])
				copy(b.Targets[r*b.Seq:], buf[1:])
			}
			if err := build.ResolveInputs(ev.sess.inputs, ev.sess.s.Inputs, ev.data.ByName, ev.state.cur); err != nil {
				return nil, err
			}
			outs, err := ev.sess.s.Run(ev.sess.inputs, []*runtime.Tensor{nil})
			if err != nil {
				return nil, err
			}
			lp := outs[0].Float32s()
			for r := 0; r < b.Rows && done+r < rows; r++ {
				for s := 0; s < b.Seq; s++ {
					nll -= float64(lp[r*b.Seq+s])
				}
				tokens += int64(b.Seq)
			}
			outs[0].Destroy()
		}
		if tokens == 0 {
			continue
		}
		bytesPerToken := float64(c.Bytes()) / float64(c.Len())
		res[name] = EvalResult{NLL: nll / float64(tokens), BitsPerByte: nll / math.Ln2 / (float64(tokens) * bytesPerToken), Tokens: tokens}
	}
	return res, nil
}

// HeldOutStarts picks up to budget of the set's windows (seq+1 tokens
// every seq tokens, all inside its tokens) evenly spaced over all of them,
// and returns their first tokens. Held-out files are usually grouped by
// source (the demo's French one is man pages, then help pages), so the
// head of the file would score one source; with a budget covering the set,
// every window is scored.
func HeldOutStarts(tokens int64, seq, budget int) []int64 {
	windows := (tokens - 1) / int64(seq)
	rows := min(int64(budget), windows)
	starts := make([]int64, rows)
	for k := range starts {
		starts[k] = int64(k) * windows / rows * int64(seq)
	}
	return starts
}

// EvaluateHeldOut scores the run's held-out sets (--eval-new/--eval-orig)
// with the current parameters, as the periodic evaluation does: the demo
// reports the backbone's bits/byte this way before step 1.
func (t *Trainer) EvaluateHeldOut() (map[string]EvalResult, error) {
	ev, err := newEvaluator(t.Cfg, t.Manifest, t.state, t.evalSets)
	if err != nil {
		return nil, err
	}
	defer ev.close()
	return ev.run()
}
