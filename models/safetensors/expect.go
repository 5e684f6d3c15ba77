package safetensors

import (
	"fmt"
	"slices"
	"strings"
)

// Spec is what a model loader expects of one tensor.
type Spec struct {
	Name string
	// Shape to match exactly; a negative dimension matches any size.
	Shape []int64
	// DTypes allowed; empty allows any.
	DTypes []DType
	// Optional tensors may be absent, e.g. lm_head.weight when the
	// embeddings are tied.
	Optional bool
}

// Mismatch is a tensor that exists but has the wrong shape or dtype.
type Mismatch struct {
	Spec Spec
	Got  TensorInfo
}

// ExpectError lists every way a checkpoint differs from what a loader
// expects, so a user fixes the whole problem in one go rather than one
// tensor per run.
type ExpectError struct {
	Checkpoint string
	Missing    []Spec
	Extra      []TensorInfo
	Mismatched []Mismatch
}

func (e *ExpectError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "checkpoint %s does not match the model: %d missing, %d unexpected, %d mismatched tensors",
		e.Checkpoint, len(e.Missing), len(e.Extra), len(e.Mismatched))
	for _, s := range e.Missing {
		fmt.Fprintf(&b, "\n  missing tensor %q (want shape %v)", s.Name, s.Shape)
	}
	for _, t := range e.Extra {
		fmt.Fprintf(&b, "\n  unexpected tensor %q %s%v in %s", t.Name, t.DType, t.Shape, t.File)
	}
	for _, m := range e.Mismatched {
		fmt.Fprintf(&b, "\n  tensor %q in %s: %s", m.Got.Name, m.Got.File, describeMismatch(m))
	}
	return b.String()
}

func describeMismatch(m Mismatch) string {
	var problems []string
	if !shapeMatches(m.Spec.Shape, m.Got.Shape) {
		problems = append(problems, fmt.Sprintf("shape %v, want %v", m.Got.Shape, m.Spec.Shape))
	}
	if !dtypeAllowed(m.Spec.DTypes, m.Got.DType) {
		problems = append(problems, fmt.Sprintf("dtype %s, want one of %v", m.Got.DType, m.Spec.DTypes))
	}
	return strings.Join(problems, "; ")
}

func shapeMatches(want, got []int64) bool {
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if want[i] >= 0 && want[i] != got[i] {
			return false
		}
	}
	return true
}

func dtypeAllowed(allowed []DType, got DType) bool {
	return len(allowed) == 0 || slices.Contains(allowed, got)
}

// Expect checks the checkpoint against specs and returns an *ExpectError
// listing every missing, unexpected and mismatched tensor, or nil when all
// agree. Duplicate spec names are a programming error in the loader and are
// reported as such.
func (c *Checkpoint) Expect(specs []Spec) error {
	e := &ExpectError{Checkpoint: c.source}
	expected := make(map[string]bool, len(specs))
	for _, s := range specs {
		if expected[s.Name] {
			return fmt.Errorf("expect %s: spec for tensor %q given twice", c.source, s.Name)
		}
		expected[s.Name] = true
		got, ok := c.Info(s.Name)
		switch {
		case !ok && !s.Optional:
			e.Missing = append(e.Missing, s)
		case ok && (!shapeMatches(s.Shape, got.Shape) || !dtypeAllowed(s.DTypes, got.DType)):
			e.Mismatched = append(e.Mismatched, Mismatch{Spec: s, Got: got})
		}
	}
	for _, name := range c.names {
		if !expected[name] {
			info, _ := c.Info(name)
			e.Extra = append(e.Extra, info)
		}
	}
	if len(e.Missing)+len(e.Extra)+len(e.Mismatched) == 0 {
		return nil
	}
	slices.SortFunc(e.Missing, func(a, b Spec) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(e.Mismatched, func(a, b Mismatch) int { return strings.Compare(a.Spec.Name, b.Spec.Name) })
	return e
}
