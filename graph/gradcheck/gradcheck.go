// Package gradcheck verifies reverse-mode gradients emitted by graph.Grad
// against central finite differences, both evaluated by ONNX Runtime in
// float64. It is test support shared by the graph and models packages.
package gradcheck

import (
	"fmt"
	"math"

	"github.com/nrgraph/nrgraph/export"
	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/runtime"
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
	model, err := export.Marshal(g, export.Options{})
	if err != nil {
		return Result{}, err
	}
	var inNames, outNames []string
	for _, in := range g.Inputs() {
		inNames = append(inNames, in.Name())
	}
	for _, out := range g.Outputs() {
		outNames = append(outNames, out.Name())
	}
	sess, err := runtime.OpenBytes(model, inNames, outNames, runtime.Options{Threads: 1, Optimization: "basic"})
	if err != nil {
		return Result{}, err
	}
	defer sess.Close()
	lossIdx, gradIdx := -1, map[int]int{}
	for i, name := range outNames {
		if name == "gradcheck_loss" {
			lossIdx = i
		}
		for j := range grads {
			if name == fmt.Sprintf("gradcheck_grad_%d", j) {
				gradIdx[j] = i
			}
		}
	}
	inputs := map[string][]float64{}
	for _, in := range g.Inputs() {
		f, ok := feeds[in.Name()]
		if !ok {
			return Result{}, fmt.Errorf("no feed for input %s", in.Name())
		}
		inputs[in.Name()] = append([]float64{}, f.Data...)
	}
	run := func() ([][]float64, error) {
		var ts []*runtime.Tensor
		defer func() {
			for _, t := range ts {
				t.Destroy()
			}
		}()
		for _, in := range g.Inputs() {
			t, err := runtime.FromFloat64(in.DType, feeds[in.Name()].Shape, inputs[in.Name()])
			if err != nil {
				return nil, fmt.Errorf("input %s: %w", in.Name(), err)
			}
			ts = append(ts, t)
		}
		pre, err := runtime.OutputsFor(g.Outputs())
		if err != nil {
			return nil, err
		}
		outs, err := sess.Run(ts, pre)
		if err != nil {
			return nil, err
		}
		res := make([][]float64, len(outs))
		for i, o := range outs {
			res[i] = o.Float64s()
			o.Destroy()
		}
		return res, nil
	}
	base, err := run()
	if err != nil {
		return Result{}, err
	}
	var r Result
	for j, w := range wrt {
		analytic := base[gradIdx[j]]
		x := inputs[w.Name()]
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
			numeric := (plus[lossIdx][0] - minus[lossIdx][0]) / (2 * h)
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
