package gradcheck

import (
	"fmt"

	"github.com/nrgraph/nrgraph/export"
	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/runtime"
)

// Output is one graph output read back from ONNX Runtime as float64.
type Output struct {
	Shape []int64
	Data  []float64
}

// Runner is a graph exported and opened in ONNX Runtime the way every
// numeric test runs it: one thread (deterministic) and optimization
// "basic" (ORT 1.24's MatMul+Transpose fusion emits a float32-only kernel
// for float64 graphs).
type Runner struct {
	g    *graph.Graph
	sess *runtime.Session
	outs []string
}

// NewRunner exports g and opens it; Close releases the session.
func NewRunner(g *graph.Graph) (*Runner, error) {
	model, err := export.Marshal(g, export.Options{})
	if err != nil {
		return nil, err
	}
	var ins []string
	for _, in := range g.Inputs() {
		ins = append(ins, in.Name())
	}
	r := &Runner{g: g}
	for _, out := range g.Outputs() {
		r.outs = append(r.outs, out.Name())
	}
	r.sess, err = runtime.OpenBytes(model, ins, r.outs, runtime.Options{Threads: 1, Optimization: "basic"})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Close releases the session.
func (r *Runner) Close() { r.sess.Close() }

// Run feeds every graph input (float64 data converted to the input's
// dtype) and returns every output by name.
func (r *Runner) Run(feeds map[string]Feed) (map[string]Output, error) {
	var ts []*runtime.Tensor
	defer func() {
		for _, t := range ts {
			t.Destroy()
		}
	}()
	for _, in := range r.g.Inputs() {
		f, ok := feeds[in.Name()]
		if !ok {
			return nil, fmt.Errorf("no feed for input %s", in.Name())
		}
		t, err := runtime.FromFloat64(in.DType, f.Shape, f.Data)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", in.Name(), err)
		}
		ts = append(ts, t)
	}
	pre, err := runtime.OutputsFor(r.g.Outputs())
	if err != nil {
		return nil, err
	}
	outs, err := r.sess.Run(ts, pre)
	if err != nil {
		return nil, err
	}
	res := make(map[string]Output, len(outs))
	for i, o := range outs {
		res[r.outs[i]] = Output{Shape: o.Shape, Data: o.Float64s()}
		o.Destroy()
	}
	return res, nil
}

// Run exports g, runs it once with feeds and returns every output.
func Run(g *graph.Graph, feeds map[string]Feed) (map[string]Output, error) {
	r, err := NewRunner(g)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Run(feeds)
}
