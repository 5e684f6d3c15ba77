package nd

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seq returns shape filled with 0, 1, 2, ... (easy to compute by hand).
func seq(shape ...int) Array {
	a := Zeros(shape...)
	for i := range a.Data {
		a.Data[i] = float64(i)
	}
	return a
}

func vec(xs ...float64) Array { return New([]int{len(xs)}, xs) }

// TestAgainstHandComputedValues: every result below was worked out on
// paper from the ONNX spec's definitions, not by running the code.
func TestAgainstHandComputedValues(t *testing.T) {
	x23 := seq(2, 3) // [[0 1 2] [3 4 5]]
	cases := []struct {
		name  string
		got   func() Array
		shape []int
		data  []float64
	}{
		{"broadcast [2,1,2]+[3,1]", func() Array { return Add(seq(2, 1, 2), New([]int{3, 1}, []float64{0, 10, 20})) },
			[]int{2, 3, 2}, []float64{0, 1, 10, 11, 20, 21, 2, 3, 12, 13, 22, 23}},
		{"scalar broadcast", func() Array { return Mul(x23, Scalar(2)) }, []int{2, 3}, []float64{0, 2, 4, 6, 8, 10}},
		{"where", func() Array { return Where(vec(1, 0, 1), Scalar(7), x23) }, []int{2, 3}, []float64{7, 1, 7, 7, 4, 7}},
		{"clip", func() Array { return Clip(x23, 1, 3.5) }, []int{2, 3}, []float64{1, 1, 2, 3, 3.5, 3.5}},
		{"matmul", func() Array { return MatMul(x23, seq(3, 2)) }, []int{2, 2}, []float64{10, 13, 28, 40}},
		{"matmul batch broadcast", func() Array { return MatMul(seq(2, 1, 2), New([]int{2, 1}, []float64{1, 1})) },
			[]int{2, 1, 1}, []float64{1, 5}},
		{"gemm transA transB with C", func() Array {
			c := vec(100, 200)
			return Gemm(seq(3, 2), seq(2, 3), &c, true, true, 2, 0.5)
		}, []int{2, 2}, []float64{2*10 + 50, 2*28 + 100, 2*13 + 50, 2*40 + 100}},
		{"transpose default reverses", func() Array { return Transpose(x23) }, []int{3, 2}, []float64{0, 3, 1, 4, 2, 5}},
		{"transpose 3-D", func() Array { return Transpose(seq(2, 1, 3), 2, 0, 1) }, []int{3, 2, 1}, []float64{0, 3, 1, 4, 2, 5}},
		{"reduce sum axis 0", func() Array { return ReduceSum(x23, []int{0}, false) }, []int{3}, []float64{3, 5, 7}},
		{"reduce mean -1 keep", func() Array { return ReduceMean(x23, []int{-1}, true) }, []int{2, 1}, []float64{1, 4}},
		{"reduce max all", func() Array { return ReduceMax(x23, nil, false) }, []int{}, []float64{5}},
		{"softmax of equal values", func() Array { return Softmax(Zeros(2, 4), 1) }, []int{2, 4}, []float64{.25, .25, .25, .25, .25, .25, .25, .25}},
		{"log softmax axis 0", func() Array { return LogSoftmax(New([]int{2, 1}, []float64{0, math.Log(3)}), 0) },
			[]int{2, 1}, []float64{math.Log(0.25), math.Log(0.75)}},
		{"cumsum", func() Array { return CumSum(vec(1, 2, 3), 0, false, false) }, []int{3}, []float64{1, 3, 6}},
		{"cumsum exclusive", func() Array { return CumSum(vec(1, 2, 3), 0, true, false) }, []int{3}, []float64{0, 1, 3}},
		{"cumsum reverse", func() Array { return CumSum(vec(1, 2, 3), 0, false, true) }, []int{3}, []float64{6, 5, 3}},
		{"cumsum exclusive reverse axis 0", func() Array { return CumSum(x23, 0, true, true) }, []int{2, 3}, []float64{3, 4, 5, 0, 0, 0}},
		{"trilu upper k=1", func() Array { return Trilu(Full([]int{3, 3}, 1), 1, true) }, []int{3, 3}, []float64{0, 1, 1, 0, 0, 1, 0, 0, 0}},
		{"trilu lower k=-1", func() Array { return Trilu(Full([]int{2, 3}, 1), -1, false) }, []int{2, 3}, []float64{0, 0, 0, 1, 0, 0}},
		{"gather axis 1 negative", func() Array { return Gather(x23, vec(-1, 0), 1) }, []int{2, 2}, []float64{2, 0, 5, 3}},
		{"gather scalar index", func() Array { return Gather(x23, Scalar(1), 0) }, []int{3}, []float64{3, 4, 5}},
		{"gather 2-D indices", func() Array { return Gather(vec(10, 11, 12), New([]int{2, 2}, []float64{2, 0, 1, 1}), 0) },
			[]int{2, 2}, []float64{12, 10, 11, 11}},
		{"gather elements", func() Array { return GatherElements(x23, New([]int{2, 2}, []float64{2, 2, 0, -2}), 1) },
			[]int{2, 2}, []float64{2, 2, 3, 4}},
		{"scatter elements add repeats", func() Array {
			return ScatterElementsAdd(Zeros(2, 3), New([]int{1, 3}, []float64{1, 1, 2}), New([]int{1, 3}, []float64{1, 2, 4}), 1)
		}, []int{2, 3}, []float64{0, 3, 4, 0, 0, 0}},
		{"gather nd rows", func() Array { return GatherND(x23, New([]int{2, 1}, []float64{1, 0})) }, []int{2, 3}, []float64{3, 4, 5, 0, 1, 2}},
		{"gather nd elements", func() Array { return GatherND(x23, New([]int{2, 2}, []float64{1, 2, 0, -1})) }, []int{2}, []float64{5, 2}},
		{"scatter nd add repeats", func() Array {
			return ScatterNDAdd(x23, New([]int{2, 1}, []float64{1, 1}), New([]int{2, 3}, []float64{1, 1, 1, 10, 10, 10}))
		}, []int{2, 3}, []float64{0, 1, 2, 14, 15, 16}},
		{"slice negative start step 2", func() Array { return Slice(seq(5), []int{-4}, []int{100}, nil, []int{2}) }, []int{2}, []float64{1, 3}},
		{"slice reverse whole", func() Array { return Slice(seq(4), []int{-1}, []int{-100}, []int{0}, []int{-1}) }, []int{4}, []float64{3, 2, 1, 0}},
		{"slice reverse start before 0", func() Array { return Slice(seq(4), []int{-100}, []int{-200}, []int{0}, []int{-1}) }, []int{1}, []float64{0}},
		{"slice empty", func() Array { return Slice(seq(4), []int{3}, []int{1}, []int{0}, nil) }, []int{0}, nil},
		{"slice axis 1", func() Array { return Slice(x23, []int{1}, []int{3}, []int{-1}, nil) }, []int{2, 2}, []float64{1, 2, 4, 5}},
		{"concat axis 1", func() Array { return Concat(1, x23, New([]int{2, 1}, []float64{9, 8})) }, []int{2, 4}, []float64{0, 1, 2, 9, 3, 4, 5, 8}},
		{"split second piece", func() Array { return Split(x23, 1, 1, 2)[1] }, []int{2, 2}, []float64{1, 2, 4, 5}},
		{"pad", func() Array { return Pad(seq(2), []int{1, 2}, -1) }, []int{5}, []float64{-1, 0, 1, -1, -1}},
		{"pad negative crops", func() Array { return Pad(x23, []int{0, -1, 1, 0}, 0) }, []int{3, 2}, []float64{1, 2, 4, 5, 0, 0}},
		{"expand bidirectional", func() Array { return Expand(New([]int{2, 1}, []float64{1, 2}), []int{1, 3}) }, []int{2, 3}, []float64{1, 1, 1, 2, 2, 2}},
		{"reshape 0 and -1", func() Array { return Reshape(seq(2, 3, 2), 0, -1) }, []int{2, 6}, seq(12).Data},
		{"squeeze all", func() Array { return Squeeze(seq(1, 3, 1)) }, []int{3}, []float64{0, 1, 2}},
		{"unsqueeze", func() Array { return Unsqueeze(seq(3), 0, -1) }, []int{1, 3, 1}, []float64{0, 1, 2}},
		{"erf and friends", func() Array {
			return New([]int{4}, []float64{math.Erf(0), Sigmoid(0), Relu(-2), Sign(-3)})
		}, []int{4}, []float64{0, 0.5, 0, -1}},
		{"casts", func() Array { return vec(CastInt(-2.7), CastBool(-0.1), RoundFloat32(0.1)) }, []int{3}, []float64{-2, 1, float64(float32(0.1))}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.got()
			assert.Equal(t, tc.shape, got.Shape)
			require.Len(t, got.Data, len(tc.data))
			assert.InDeltaSlice(t, tc.data, got.Data, 1e-15)
		})
	}
}

func TestBroadcastShapeRejectsMismatch(t *testing.T) {
	_, err := BroadcastShape([]int{2, 3}, []int{4})
	assert.ErrorContains(t, err, "do not broadcast")
	got, err := BroadcastShape([]int{2, 1, 4}, []int{3, 1}, []int{})
	require.NoError(t, err)
	assert.Equal(t, []int{2, 3, 4}, got)
}

func TestInvalidArgumentsPanic(t *testing.T) {
	assert.PanicsWithValue(t, "nd: index 3 out of range for dim 3", func() { Gather(seq(3), Scalar(3), 0) })
	assert.PanicsWithValue(t, "nd: axis 2 out of range for rank 2", func() { ReduceSum(seq(2, 2), []int{2}, false) })
	assert.Panics(t, func() { MatMul(seq(2, 3), seq(2, 3)) })
	assert.Panics(t, func() { New([]int{2}, []float64{1}) })
}
