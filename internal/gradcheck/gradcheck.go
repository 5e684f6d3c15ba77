// Package gradcheck is the numeric test support shared by the graph and
// models packages: Run/Runner execute a graph in ONNX Runtime with float64
// feeds, and Check verifies reverse-mode gradients emitted by graph.Grad
// against central finite differences, both evaluated in float64.
package gradcheck

import (
	"fmt"
	"math"

	"github.com/nrgraph/nrgraph/graph"
)

// Feed is the value of one graph input.
type Feed struct {
	Shape []int64
	Data  []float64
}

// Result summarises a check.
type Result struct {
	MaxRelErr float64
	Worst     string // which input element had MaxRelErr
	Checked   int    // number of elements compared
}

// Check adds d(loss)/d(wrt) outputs to g, runs g in ONNX Runtime and
// compares every gradient element with (L(x+h) - L(x-h)) / 2h. wrt must be
// float64 graph inputs. The relative error of an element is
// |analytic - numeric| / max(1, |analytic|, |numeric|).
func Check(g *graph.Graph, loss *graph.Value, wrt []*graph.Value, feeds map[string]Feed, h float64) (Result, error) {
	var grads []*graph.Value
	if err := graph.Try(func() {
		grads = graph.Grad(loss, wrt)
		g.Output("gradcheck_loss", loss)
		for i, gr := range grads {
			g.Output(fmt.Sprintf("gradcheck_grad_%d", i), gr)
		}
	}); err != nil {
		return Result{}, err
	}
	for _, w := range wrt {
		if !w.IsInput() || w.DType != graph.Float64 {
			return Result{}, fmt.Errorf("wrt %s must be a float64 graph input", w)
		}
	}
	runner, err := NewRunner(g)
	if err != nil {
		return Result{}, err
	}
	defer runner.Close()
	const lossName = "gradcheck_loss"
	gradName := func(j int) string { return fmt.Sprintf("gradcheck_grad_%d", j) }
	inputs := map[string]Feed{}
	for _, in := range g.Inputs() {
		f, ok := feeds[in.Name()]
		if !ok {
			return Result{}, fmt.Errorf("no feed for input %s", in.Name())
		}
		inputs[in.Name()] = Feed{Shape: f.Shape, Data: append([]float64{}, f.Data...)}
	}
	run := func() (map[string]Output, error) { return runner.Run(inputs) }
	base, err := run()
	if err != nil {
		return Result{}, err
	}
	var r Result
	for j, w := range wrt {
		analytic := base[gradName(j)].Data
		x := inputs[w.Name()].Data
		if len(analytic) != len(x) {
			return r, fmt.Errorf("gradient of %s has %d elements, input has %d", w.Name(), len(analytic), len(x))
		}
		for k := range x {
			orig := x[k]
			x[k] = orig + h
			plus, err := run()
			if err != nil {
				return r, err
			}
			x[k] = orig - h
			minus, err := run()
			if err != nil {
				return r, err
			}
			x[k] = orig
			numeric := (plus[lossName].Data[0] - minus[lossName].Data[0]) / (2 * h)
			rel := math.Abs(analytic[k]-numeric) / math.Max(1, math.Max(math.Abs(analytic[k]), math.Abs(numeric)))
			if math.IsNaN(rel) {
				rel = math.Inf(1)
			}
			r.Checked++
			if rel > r.MaxRelErr || r.Worst == "" {
				if rel >= r.MaxRelErr {
					r.MaxRelErr = rel
					r.Worst = fmt.Sprintf("%s[%d]: analytic %.10g, numeric %.10g", w.Name(), k, analytic[k], numeric)
				}
			}
		}
	}
	return r, nil
}
