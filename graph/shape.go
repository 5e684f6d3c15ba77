package graph

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Dim is one tensor dimension: a static size, or a product of a constant and
// named symbolic sizes such as "batch" or "seq". Keeping products symbolic
// ("batch*seq" after flattening, "4*seq" after a reshape) lets shape inference
// stay exact through the reshapes an attention block does, so gradients know
// at build time which axes were broadcast.
type Dim struct {
	coef int64  // constant factor; the whole size when syms is empty
	syms string // sorted, "*"-joined symbol names; "" for a static dim
}

// D returns a static dimension.
func D(n int64) Dim { return Dim{coef: n} }

// Sym returns a symbolic dimension named name.
func Sym(name string) Dim { return Dim{coef: 1, syms: name} }

// IsStatic reports whether the size is known at build time.
func (d Dim) IsStatic() bool { return d.syms == "" }

// Size returns the static size; ok is false for symbolic dims.
func (d Dim) Size() (n int64, ok bool) { return d.coef, d.syms == "" }

// Is reports whether d is static and equal to n.
func (d Dim) Is(n int64) bool { return d.syms == "" && d.coef == n }

func (d Dim) symList() []string {
	if d.syms == "" {
		return nil
	}
	return strings.Split(d.syms, "*")
}

// Mul returns the product of two dims.
func (d Dim) Mul(e Dim) Dim {
	syms := append(d.symList(), e.symList()...)
	sort.Strings(syms)
	return Dim{coef: d.coef * e.coef, syms: strings.Join(syms, "*")}
}

// Div returns d/e when the division is exact in this symbolic algebra.
func (d Dim) Div(e Dim) (Dim, bool) {
	if e.coef == 0 || d.coef%e.coef != 0 {
		return Dim{}, false
	}
	left := d.symList()
	for _, s := range e.symList() {
		i := indexOf(left, s)
		if i < 0 {
			return Dim{}, false
		}
		left = append(left[:i:i], left[i+1:]...)
	}
	return Dim{coef: d.coef / e.coef, syms: strings.Join(left, "*")}, true
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// String renders a static dim as its number and a symbolic one as its
// product ("batch*seq", "4*seq"); the exporter uses it as ONNX dim_param.
func (d Dim) String() string {
	if d.syms == "" {
		return strconv.FormatInt(d.coef, 10)
	}
	if d.coef == 1 {
		return d.syms
	}
	return strconv.FormatInt(d.coef, 10) + "*" + d.syms
}

// ParseDim is the inverse of String.
func ParseDim(s string) (Dim, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return D(n), nil
	}
	d := D(1)
	for _, part := range strings.Split(s, "*") {
		if part == "" {
			return Dim{}, fmt.Errorf("bad dimension %q", s)
		}
		if n, err := strconv.ParseInt(part, 10, 64); err == nil {
			d = d.Mul(D(n))
		} else {
			d = d.Mul(Sym(part))
		}
	}
	return d, nil
}

// Shape is a list of dims; rank 0 is a scalar.
type Shape []Dim

// S builds a shape from ints (static) and strings (symbolic), e.g.
// S("batch", "seq", 256).
func S(dims ...any) Shape {
	s := make(Shape, len(dims))
	for i, d := range dims {
		switch v := d.(type) {
		case int:
			s[i] = D(int64(v))
		case int64:
			s[i] = D(v)
		case string:
			s[i] = Sym(v)
		case Dim:
			s[i] = v
		default:
			panic(fmt.Sprintf("graph.S: dim %d has type %T", i, d))
		}
	}
	return s
}

// StaticShape converts int64 sizes to a Shape.
func StaticShape(dims []int64) Shape {
	s := make(Shape, len(dims))
	for i, d := range dims {
		s[i] = D(d)
	}
	return s
}

// Rank is the number of dims.
func (s Shape) Rank() int { return len(s) }

// NumElements is the product of all dims (symbolic if any dim is).
func (s Shape) NumElements() Dim {
	n := D(1)
	for _, d := range s {
		n = n.Mul(d)
	}
	return n
}

// Static returns the sizes when every dim is static.
func (s Shape) Static() ([]int64, bool) {
	out := make([]int64, len(s))
	for i, d := range s {
		n, ok := d.Size()
		if !ok {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

// Equal reports whether two shapes are identical (same rank, same dims).
func (s Shape) Equal(t Shape) bool {
	if len(s) != len(t) {
		return false
	}
	for i := range s {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// Clone returns a copy that the caller may modify.
func (s Shape) Clone() Shape { return append(Shape(nil), s...) }

// Bind substitutes symbolic names with sizes, e.g. {"batch": 2, "seq": 16}.
func (s Shape) Bind(sizes map[string]int64) ([]int64, error) {
	out := make([]int64, len(s))
	for i, d := range s {
		n := d.coef
		for _, sym := range d.symList() {
			v, ok := sizes[sym]
			if !ok {
				return nil, fmt.Errorf("dimension %q of shape %s has no size bound", sym, s)
			}
			n *= v
		}
		out[i] = n
	}
	return out, nil
}

// broadcastShapes applies numpy broadcasting rules; symbolic dims broadcast
// only against an identical dim or a static 1.
func broadcastShapes(shapes ...Shape) (Shape, error) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	out := make(Shape, rank)
	for i := range out {
		out[i] = D(1)
	}
	for _, s := range shapes {
		off := rank - len(s)
		for i, d := range s {
			cur := out[off+i]
			switch {
			case d == cur || d.Is(1):
			case cur.Is(1):
				out[off+i] = d
			default:
				return nil, fmt.Errorf("shapes %s do not broadcast (dim %s vs %s)", shapeList(shapes), cur, d)
			}
		}
	}
	return out, nil
}

func shapeList(shapes []Shape) string {
	parts := make([]string, len(shapes))
	for i, s := range shapes {
		parts[i] = s.String()
	}
	return strings.Join(parts, " and ")
}

// MustStatic returns the static size or panics (for tests and shapes known
// to be static).
func (d Dim) MustStatic() int64 {
	if d.syms != "" {
		panic("graph: dim " + d.String() + " is symbolic")
	}
	return d.coef
}

// firstAxes is the axes 0, 1, ..., n-1.
func firstAxes[T int | int64](n int) []T {
	axes := make([]T, n)
	for i := range axes {
		axes[i] = T(i)
	}
	return axes
}

// ones is n ones: the dims of a rank-n shape of one element, or unit steps.
func ones(n int) []int64 { return slices.Repeat([]int64{1}, n) }
