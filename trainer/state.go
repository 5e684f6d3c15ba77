package trainer

import (
	"fmt"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/runtime"
)

// stateTensors holds the training state (parameters and Adam moments) as
// ORT tensors, one buffer per tensor: a step's update outputs (NAME.next)
// are written into the very buffers its inputs (NAME) were read from.
//
// ONNX Runtime has no in-place update of a graph input: a graph's outputs
// are distinct values, so a fused step that returns the new state needs a
// second buffer per state tensor, which at Gemma-2B scale (504M adapter
// parameters, 6 GB of params + moments) doubled the trainer's largest
// allocation. Binding each NAME.next output to NAME's own buffer is
// sound for the graphs graph.AddTrainStep and graph.BuildApply emit:
//   - every update is elementwise: element i of NAME.next depends only on
//     element i of NAME (and of its gradient and moments) and on scalars,
//     and ORT's elementwise kernels read element i before writing it;
//   - every other reader of NAME runs before the first write: the update
//     of any tensor depends on the clipping factor, hence on the global
//     gradient norm, hence on every gradient, which is where the forward
//     and backward passes read the parameters; a moment is read only by
//     its own update.
//
// So the values are those of separate buffers, bit for bit, and resume
// stays exact (TestInPlaceUpdateMatchesSeparateBuffers pins it against a
// run with separate output buffers). The cost: a step that fails half-way
// (a NaN stop) leaves the in-memory state updated; the trainer then stops
// without saving, so the last checkpoint on disk is the one to resume.
type stateTensors struct {
	names  []string
	shapes map[string][]int64
	cur    map[string]*runtime.Tensor
}

func newStateTensors(m *build.Manifest) (*stateTensors, error) {
	s := &stateTensors{shapes: map[string][]int64{}, cur: map[string]*runtime.Tensor{}}
	for _, p := range m.Params {
		if p.DType != "float32" {
			return nil, fmt.Errorf("parameter %s is %s; the trainer keeps float32 state", p.Name, p.DType)
		}
		for _, name := range []string{p.Name, graph.MomentName(p.Name, "m"), graph.MomentName(p.Name, "v")} {
			s.names = append(s.names, name)
			s.shapes[name] = p.Shape
			t, err := runtime.NewEmpty(graph.Float32, p.Shape)
			if err != nil {
				s.destroy()
				return nil, err
			}
			s.cur[name] = t
		}
	}
	return s, nil
}

func (s *stateTensors) destroy() {
	for _, t := range s.cur {
		t.Destroy()
	}
}
