// Package nd is a float64 n-dimensional array with plain-loop versions of
// the ONNX operators nrgraph's IR supports, written from the ONNX spec
// (opset 17). It exists only so tests can compare what ONNX Runtime
// computes against something independent of both the IR and ORT: every
// function favours obvious loops over speed, and none shares code with the
// graph package.
//
// Integer and bool tensors are carried as float64 too (0/1 for bools);
// indices may be negative where ONNX allows it. Invalid arguments are
// programming errors in a test and panic with a message saying which.
package nd

import (
	"fmt"
	"slices"
)

// Array is a row-major n-d array; rank 0 (Shape empty, one element) is a
// scalar.
type Array struct {
	Shape []int
	Data  []float64
}

// New wraps data (not copied) as an array of the given shape.
func New(shape []int, data []float64) Array {
	if len(data) != NumElements(shape) {
		panic(fmt.Sprintf("nd.New: %d values for shape %v", len(data), shape))
	}
	return Array{Shape: slices.Clone(shape), Data: data}
}

// Zeros returns an array of zeros.
func Zeros(shape ...int) Array { return Full(shape, 0) }

// Full returns an array with every element equal to value.
func Full(shape []int, value float64) Array {
	a := Array{Shape: slices.Clone(shape), Data: make([]float64, NumElements(shape))}
	for i := range a.Data {
		a.Data[i] = value
	}
	return a
}

// Scalar returns a rank-0 array.
func Scalar(x float64) Array { return Array{Shape: []int{}, Data: []float64{x}} }

// Clone returns a deep copy.
func (a Array) Clone() Array { return Array{Shape: slices.Clone(a.Shape), Data: slices.Clone(a.Data)} }

// Rank is the number of dims.
func (a Array) Rank() int { return len(a.Shape) }

// offset is the flat position of coordinates c.
func (a Array) offset(c []int) int {
	if len(c) != len(a.Shape) {
		panic(fmt.Sprintf("nd: %d coordinates for shape %v", len(c), a.Shape))
	}
	off := 0
	for k, i := range c {
		if i < 0 || i >= a.Shape[k] {
			panic(fmt.Sprintf("nd: coordinate %v out of range for shape %v", c, a.Shape))
		}
		off = off*a.Shape[k] + i
	}
	return off
}

// At returns the element at coordinates c.
func (a Array) At(c ...int) float64 { return a.Data[a.offset(c)] }

// Set writes the element at coordinates c.
func (a Array) Set(x float64, c ...int) { a.Data[a.offset(c)] = x }

// NumElements is the product of the dims (1 for a scalar).
func NumElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Unravel converts a flat row-major index into coordinates.
func Unravel(i int, shape []int) []int {
	c := make([]int, len(shape))
	for k := len(shape) - 1; k >= 0; k-- {
		c[k] = i % shape[k]
		i /= shape[k]
	}
	return c
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(axis, rank int) int {
	a := axis
	if a < 0 {
		a += rank
	}
	if a < 0 || a >= rank {
		panic(fmt.Sprintf("nd: axis %d out of range for rank %d", axis, rank))
	}
	return a
}

// normIndex maps a possibly negative index into [0, dim).
func normIndex(x float64, dim int) int {
	i := int(x)
	if float64(i) != x {
		panic(fmt.Sprintf("nd: index %v is not an integer", x))
	}
	if i < 0 {
		i += dim
	}
	if i < 0 || i >= dim {
		panic(fmt.Sprintf("nd: index %v out of range for dim %d", x, dim))
	}
	return i
}

// BroadcastShape applies numpy broadcasting to shapes.
func BroadcastShape(shapes ...[]int) ([]int, error) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	out := make([]int, rank)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		lead := rank - len(s)
		for k, d := range s {
			switch cur := out[lead+k]; {
			case d == cur || d == 1:
			case cur == 1:
				out[lead+k] = d
			default:
				return nil, fmt.Errorf("shapes %v do not broadcast", shapes)
			}
		}
	}
	return out, nil
}

// broadcastAt reads a at the coordinates c of a broadcast result.
func (a Array) broadcastAt(c []int) float64 {
	lead := len(c) - len(a.Shape)
	own := make([]int, len(a.Shape))
	for k, d := range a.Shape {
		if d != 1 {
			own[k] = c[lead+k]
		}
	}
	return a.At(own...)
}

// MapN applies f elementwise over broadcast inputs: f receives one value
// per input.
func MapN(f func(xs []float64) float64, ins ...Array) Array {
	shapes := make([][]int, len(ins))
	for i, in := range ins {
		shapes[i] = in.Shape
	}
	shape, err := BroadcastShape(shapes...)
	if err != nil {
		panic("nd.MapN: " + err.Error())
	}
	out := Zeros(shape...)
	xs := make([]float64, len(ins))
	for i := range out.Data {
		c := Unravel(i, shape)
		for k, in := range ins {
			xs[k] = in.broadcastAt(c)
		}
		out.Data[i] = f(xs)
	}
	return out
}

// Map applies f to every element.
func Map(f func(float64) float64, a Array) Array {
	return MapN(func(xs []float64) float64 { return f(xs[0]) }, a)
}

// Binary applies f elementwise with broadcasting.
func Binary(f func(x, y float64) float64, a, b Array) Array {
	return MapN(func(xs []float64) float64 { return f(xs[0], xs[1]) }, a, b)
}

// Add, Sub, Mul and Div are the broadcasting arithmetic ops.
func Add(a, b Array) Array { return Binary(func(x, y float64) float64 { return x + y }, a, b) }
func Sub(a, b Array) Array { return Binary(func(x, y float64) float64 { return x - y }, a, b) }
func Mul(a, b Array) Array { return Binary(func(x, y float64) float64 { return x * y }, a, b) }
func Div(a, b Array) Array { return Binary(func(x, y float64) float64 { return x / y }, a, b) }

// Bool is ONNX's bool as a number.
func Bool(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Where picks x where cond is non-zero, else y (broadcasting all three).
func Where(cond, x, y Array) Array {
	return MapN(func(v []float64) float64 {
		if v[0] != 0 {
			return v[1]
		}
		return v[2]
	}, cond, x, y)
}

// Clip clamps every element to [lo, hi].
func Clip(a Array, lo, hi float64) Array {
	return Map(func(x float64) float64 { return min(max(x, lo), hi) }, a)
}

// Expand broadcasts a against shape (ONNX Expand is bidirectional: the
// result has the broadcast of both shapes).
func Expand(a Array, shape []int) Array {
	return MapN(func(v []float64) float64 { return v[0] }, a, Zeros(shape...))
}

// Reshape reinterprets a's data; as in ONNX, 0 copies the input dim and one
// -1 is inferred.
func Reshape(a Array, shape ...int) Array {
	out := slices.Clone(shape)
	infer, known := -1, 1
	for i, d := range out {
		switch d {
		case 0:
			out[i] = a.Shape[i]
		case -1:
			infer = i
			continue
		}
		known *= out[i]
	}
	if infer >= 0 {
		out[infer] = len(a.Data) / known
	}
	return New(out, slices.Clone(a.Data))
}
