package nd

import (
	"fmt"
	"slices"
)

// Gather takes a's slices along axis at indices: the result's shape is
// a.Shape[:axis] + indices.Shape + a.Shape[axis+1:].
func Gather(a, indices Array, axis int) Array {
	axis = normAxis(axis, a.Rank())
	r := indices.Rank()
	shape := slices.Concat(a.Shape[:axis], indices.Shape, a.Shape[axis+1:])
	out := Zeros(shape...)
	for i := range out.Data {
		c := Unravel(i, shape)
		picked := normIndex(indices.At(c[axis:axis+r]...), a.Shape[axis])
		src := slices.Concat(c[:axis], []int{picked}, c[axis+r:])
		out.Data[i] = a.At(src...)
	}
	return out
}

// GatherElements picks, for every position of indices, the element of a at
// that position with the axis coordinate replaced by the index.
func GatherElements(a, indices Array, axis int) Array {
	axis = normAxis(axis, a.Rank())
	out := Zeros(indices.Shape...)
	for i := range out.Data {
		c := Unravel(i, indices.Shape)
		c[axis] = normIndex(indices.Data[i], a.Shape[axis])
		out.Data[i] = a.At(c...)
	}
	return out
}

// ScatterElementsAdd adds updates into a copy of data, each at the position
// of the update with the axis coordinate replaced by its index (repeated
// indices accumulate).
func ScatterElementsAdd(data, indices, updates Array, axis int) Array {
	axis = normAxis(axis, data.Rank())
	if !slices.Equal(indices.Shape, updates.Shape) {
		panic(fmt.Sprintf("nd.ScatterElementsAdd: indices %v vs updates %v", indices.Shape, updates.Shape))
	}
	out := data.Clone()
	for i, u := range updates.Data {
		c := Unravel(i, updates.Shape)
		c[axis] = normIndex(indices.Data[i], data.Shape[axis])
		out.Set(out.At(c...)+u, c...)
	}
	return out
}

// indexTuple reads the tuple of the last axis of indices at leading
// coordinates lead, normalised against a's leading dims.
func indexTuple(a, indices Array, lead []int) []int {
	k := indices.Shape[indices.Rank()-1]
	tuple := make([]int, k)
	for j := range tuple {
		tuple[j] = normIndex(indices.At(append(slices.Clone(lead), j)...), a.Shape[j])
	}
	return tuple
}

// GatherND (batch_dims 0) reads the slice a[t...] for each index tuple t in
// the last axis of indices.
func GatherND(a, indices Array) Array {
	q := indices.Rank()
	k := indices.Shape[q-1]
	shape := slices.Concat(indices.Shape[:q-1], a.Shape[k:])
	out := Zeros(shape...)
	for i := range out.Data {
		c := Unravel(i, shape)
		tuple := indexTuple(a, indices, c[:q-1])
		out.Data[i] = a.At(slices.Concat(tuple, c[q-1:])...)
	}
	return out
}

// ScatterNDAdd adds each update slice into a copy of data at its index
// tuple (repeated tuples accumulate).
func ScatterNDAdd(data, indices, updates Array) Array {
	q := indices.Rank()
	out := data.Clone()
	for i, u := range updates.Data {
		c := Unravel(i, updates.Shape)
		tuple := indexTuple(data, indices, c[:q-1])
		dst := slices.Concat(tuple, c[q-1:])
		out.Set(out.At(dst...)+u, dst...)
	}
	return out
}

// sliceIndices lists the input positions a slice [start:end:step] visits
// along a dim of size n, with ONNX's rules: negative bounds count from the
// end, then bounds are clamped to [0, n] for positive steps and to
// [0, n-1] (start) / [-1, n-1] (end) for negative ones.
func sliceIndices(n, start, end, step int) []int {
	if step == 0 {
		panic("nd.Slice: step 0")
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	var picked []int
	if step > 0 {
		start, end = min(max(start, 0), n), min(max(end, 0), n)
		for i := start; i < end; i += step {
			picked = append(picked, i)
		}
		return picked
	}
	start, end = min(max(start, 0), n-1), min(max(end, -1), n-1)
	for i := start; i > end; i += step {
		picked = append(picked, i)
	}
	return picked
}

// Slice takes a[starts:ends:steps] along axes (all axes in order when axes
// is nil; steps nil means 1).
func Slice(a Array, starts, ends, axes, steps []int) Array {
	if axes == nil {
		for i := range starts {
			axes = append(axes, i)
		}
	}
	// picked[d] lists the input positions kept along dim d.
	picked := make([][]int, a.Rank())
	for d, n := range a.Shape {
		for i := 0; i < n; i++ {
			picked[d] = append(picked[d], i)
		}
	}
	for i, ax := range axes {
		step := 1
		if steps != nil {
			step = steps[i]
		}
		d := normAxis(ax, a.Rank())
		picked[d] = sliceIndices(a.Shape[d], starts[i], ends[i], step)
	}
	shape := make([]int, a.Rank())
	for d := range shape {
		shape[d] = len(picked[d])
	}
	out := Zeros(shape...)
	for i := range out.Data {
		c := Unravel(i, shape)
		for d := range c {
			c[d] = picked[d][c[d]]
		}
		out.Data[i] = a.At(c...)
	}
	return out
}

// Concat joins arrays along axis; other dims must agree.
func Concat(axis int, xs ...Array) Array {
	axis = normAxis(axis, xs[0].Rank())
	shape := slices.Clone(xs[0].Shape)
	shape[axis] = 0
	for _, x := range xs {
		shape[axis] += x.Shape[axis]
	}
	out := Zeros(shape...)
	for i := range out.Data {
		c := Unravel(i, shape)
		for _, x := range xs {
			if c[axis] < x.Shape[axis] {
				out.Data[i] = x.At(c...)
				break
			}
			c[axis] -= x.Shape[axis]
		}
	}
	return out
}

// Split cuts a along axis into consecutive pieces of the given sizes.
func Split(a Array, axis int, sizes ...int) []Array {
	axis = normAxis(axis, a.Rank())
	var pieces []Array
	start := 0
	for _, n := range sizes {
		pieces = append(pieces, Slice(a, []int{start}, []int{start + n}, []int{axis}, nil))
		start += n
	}
	if start != a.Shape[axis] {
		panic(fmt.Sprintf("nd.Split: sizes %v do not add up to dim %d", sizes, a.Shape[axis]))
	}
	return pieces
}

// Pad surrounds a with value: pads lists the count before each axis, then
// after each (ONNX order). Negative pads crop.
func Pad(a Array, pads []int, value float64) Array {
	r := a.Rank()
	if len(pads) != 2*r {
		panic(fmt.Sprintf("nd.Pad: %d pads for rank %d", len(pads), r))
	}
	shape := make([]int, r)
	for d := range shape {
		shape[d] = a.Shape[d] + pads[d] + pads[d+r]
	}
	out := Full(shape, value)
	for i := range out.Data {
		c := Unravel(i, shape)
		inside := true
		for d := range c {
			c[d] -= pads[d]
			inside = inside && c[d] >= 0 && c[d] < a.Shape[d]
		}
		if inside {
			out.Data[i] = a.At(c...)
		}
	}
	return out
}

// Squeeze removes the given size-1 axes (all size-1 axes when none).
func Squeeze(a Array, axes ...int) Array {
	drop := make([]bool, a.Rank())
	for _, ax := range axes {
		d := normAxis(ax, a.Rank())
		if a.Shape[d] != 1 {
			panic(fmt.Sprintf("nd.Squeeze: axis %d of %v is not 1", ax, a.Shape))
		}
		drop[d] = true
	}
	shape := []int{}
	for d, n := range a.Shape {
		if !drop[d] && (len(axes) > 0 || n != 1) {
			shape = append(shape, n)
		}
	}
	return New(shape, slices.Clone(a.Data))
}

// Unsqueeze inserts size-1 axes at the given positions of the output.
func Unsqueeze(a Array, axes ...int) Array {
	r := a.Rank() + len(axes)
	insert := make([]bool, r)
	for _, ax := range axes {
		insert[normAxis(ax, r)] = true
	}
	shape := make([]int, 0, r)
	next := 0
	for d := 0; d < r; d++ {
		if insert[d] {
			shape = append(shape, 1)
		} else {
			shape = append(shape, a.Shape[next])
			next++
		}
	}
	return New(shape, slices.Clone(a.Data))
}
