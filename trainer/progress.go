package trainer

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progress prints one status line per step: in place on a terminal,
// every 10% (and at evaluations) otherwise, so logs stay readable.
type progress struct {
	w          io.Writer
	total      int
	start      time.Time
	firstStep  int
	tty        bool
	lastPrint  int
	everyLines int
}

func newProgress(w io.Writer, total, done int) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progress{w: w, total: total, start: time.Now(), firstStep: done, tty: tty, everyLines: max(1, total/10)}
}

func (p *progress) update(step int, m *Metrics) {
	if p.w == nil {
		return
	}
	elapsed := time.Since(p.start)
	doneSteps := step - p.firstStep
	eta := time.Duration(0)
	if doneSteps > 0 {
		eta = time.Duration(float64(elapsed) / float64(doneSteps) * float64(p.total-step))
	}
	line := fmt.Sprintf("step %d/%d  loss %.4f  lm %.4f  local %.4g  |g| %.3g  lr %.3g  %.0f tok/s  ETA %s",
		step, p.total, m.Loss, m.LMLoss, m.LocalLoss, m.GradNorm, m.LR, m.TokensPerSec, eta.Round(time.Second))
	for name, e := range m.Eval {
		line += fmt.Sprintf("  [%s: nll %.4f bpb %.4f]", name, e.NLL, e.BitsPerByte)
	}
	switch {
	case p.tty:
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		if m.Eval != nil {
			fmt.Fprintln(p.w)
		}
	case step-p.lastPrint >= p.everyLines || step == p.total || step == p.firstStep+1 || m.Eval != nil:
		fmt.Fprintln(p.w, line)
		p.lastPrint = step
	}
}

func (p *progress) done() {
	if p.tty && p.w != nil {
		fmt.Fprintln(p.w)
	}
}
