package trainer

import (
	"fmt"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/runtime"
)

// stateTensors holds the training state (parameters and Adam moments) as
// ORT tensors in two sets: cur feeds a step, next receives its outputs, and
// commit swaps them — the step's outputs become the next step's inputs
// without a copy.
type stateTensors struct {
	names  []string
	shapes map[string][]int64
	cur    map[string]*runtime.Tensor
	next   map[string]*runtime.Tensor
}

func newStateTensors(m *build.Manifest) (*stateTensors, error) {
	s := &stateTensors{shapes: map[string][]int64{}, cur: map[string]*runtime.Tensor{}, next: map[string]*runtime.Tensor{}}
	for _, p := range m.Params {
		if p.DType != "float32" {
			return nil, fmt.Errorf("parameter %s is %s; the trainer keeps float32 state", p.Name, p.DType)
		}
		for _, name := range []string{p.Name, graph.MomentName(p.Name, "m"), graph.MomentName(p.Name, "v")} {
			s.names = append(s.names, name)
			s.shapes[name] = p.Shape
			for _, set := range []map[string]*runtime.Tensor{s.cur, s.next} {
				t, err := runtime.NewEmpty(graph.Float32, p.Shape)
				if err != nil {
					s.destroy()
					return nil, err
				}
				set[name] = t
			}
		}
	}
	return s, nil
}

func (s *stateTensors) commit() {
	for _, name := range s.names {
		s.cur[name], s.next[name] = s.next[name], s.cur[name]
	}
}

func (s *stateTensors) destroy() {
	for _, set := range []map[string]*runtime.Tensor{s.cur, s.next} {
		for _, t := range set {
			t.Destroy()
		}
	}
}

// set copies values into the current tensor of name.
func (s *stateTensors) set(name string, vals []float32) error {
	t, ok := s.cur[name]
	if !ok {
		return fmt.Errorf("unknown state tensor %q", name)
	}
	dst := t.Float32s()
	if len(dst) != len(vals) {
		return fmt.Errorf("state tensor %q has %d values, got %d", name, len(dst), len(vals))
	}
	copy(dst, vals)
	return nil
}
