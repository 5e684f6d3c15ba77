package models

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"math/rand"
	"slices"
	"sort"
	"strings"

	"github.com/nrgraph/nrgraph/graph"
)

// Weights supplies checkpoint tensors by HF name. Data from safetensors is
// file-backed (graph.FileData), so building a graph never reads weights.
type Weights interface {
	Tensor(name string) (*graph.Data, error)
	Names() []string
}

// MapWeights is an in-memory Weights (tests, random init, small models).
type MapWeights map[string]*graph.Data

// Tensor implements Weights.
func (m MapWeights) Tensor(name string) (*graph.Data, error) {
	d, ok := m[name]
	if !ok {
		return nil, fmt.Errorf("tensor %q not found", name)
	}
	return d, nil
}

// Names implements Weights.
func (m MapWeights) Names() []string {
	return slices.Sorted(maps.Keys(m))
}

// RandomWeights draws every tensor of c, biases included, from N(0, std²)
// (norm weights are 1, or 0 for the (1 + w) Gemma norms) as float32,
// deterministically from seed. Data is generated lazily, so huge shapes
// cost nothing until used.
func RandomWeights(c Config, seed int64, std float64) MapWeights {
	m := MapWeights{}
	for i, spec := range ExpectedTensors(c) {
		spec, tensorSeed := spec, seed*1_000_003+int64(i)
		isNorm := len(spec.Shape) == 1 && !strings.HasSuffix(spec.Name, ".bias")
		m[spec.Name] = graph.LazyData(graph.Float32, spec.Shape, func() ([]byte, error) {
			n := graph.NumElements(spec.Shape)
			r := rand.New(rand.NewSource(tensorSeed))
			raw := make([]byte, 4*n)
			for k := int64(0); k < n; k++ {
				v := r.NormFloat64() * std
				if isNorm {
					v = 1 + 0.1*r.NormFloat64()
					if c.NormPlusOne {
						v -= 1
					}
				}
				binary.LittleEndian.PutUint32(raw[4*k:], math.Float32bits(float32(v)))
			}
			return raw, nil
		})
	}
	return m
}

// CheckWeights verifies that w holds exactly the tensors c needs with the
// right shapes, reporting every problem at once.
func CheckWeights(c Config, w Weights) error {
	want := map[string][]int64{}
	for _, s := range ExpectedTensors(c) {
		want[s.Name] = s.Shape
	}
	var problems []string
	have := map[string]bool{}
	for _, name := range w.Names() {
		have[name] = true
		shape, ok := want[name]
		if !ok {
			if name == "lm_head.weight" && c.Tied {
				continue // some tied checkpoints still store a copy
			}
			problems = append(problems, fmt.Sprintf("unexpected tensor %q", name))
			continue
		}
		d, err := w.Tensor(name)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if !slices.Equal(d.Dims, shape) {
			problems = append(problems, fmt.Sprintf("tensor %q has shape %v, config needs %v", name, d.Dims, shape))
		}
		if !d.DType.IsFloat() {
			problems = append(problems, fmt.Sprintf("tensor %q has dtype %s, want a float type", name, d.DType))
		}
	}
	for _, n := range slices.Sorted(maps.Keys(want)) {
		if !have[n] {
			problems = append(problems, fmt.Sprintf("missing tensor %q (shape %v)", n, want[n]))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("%d checkpoint problem(s): %s", len(problems), joinLimited(problems, 20))
	}
	return nil
}

func joinLimited(items []string, limit int) string {
	s := ""
	for i, it := range items {
		if i == limit {
			return s + fmt.Sprintf("; ... and %d more", len(items)-limit)
		}
		if i > 0 {
			s += "; "
		}
		s += it
	}
	return s
}
