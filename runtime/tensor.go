package runtime

import (
	"fmt"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/nrgraph/nrgraph/graph"
)

// Tensor is a host tensor ONNX Runtime reads from or writes into. On the
// CPU provider the Go slice *is* the ORT buffer, so a trainer can feed the
// outputs of step t as the inputs of step t+1 without copying.
type Tensor struct {
	DType graph.DType
	Shape []int64
	value ort.Value
}

// Element is the Go element types a Tensor can be created from.
type Element interface {
	float32 | float64 | int64 | int32 | bool
}

func dtypeOf[T Element]() graph.DType {
	var z T
	switch any(z).(type) {
	case float32:
		return graph.Float32
	case float64:
		return graph.Float64
	case int64:
		return graph.Int64
	case int32:
		return graph.Int32
	}
	return graph.Bool
}

// NewTensor wraps data (not copied) with the given shape. A rank-0 shape
// makes a scalar (onnxruntime_go handles scalars through a separate type).
func NewTensor[T Element](shape []int64, data []T) (*Tensor, error) {
	if n := graph.NumElements(shape); n != int64(len(data)) {
		return nil, fmt.Errorf("tensor of shape %v needs %d values, got %d", shape, n, len(data))
	}
	if err := Init(""); err != nil {
		return nil, err
	}
	t := &Tensor{DType: dtypeOf[T](), Shape: append([]int64{}, shape...)}
	var err error
	if len(shape) == 0 {
		t.value, err = ort.NewScalar(data[0])
	} else {
		t.value, err = ort.NewTensor(ort.NewShape(shape...), data)
	}
	if err != nil {
		return nil, fmt.Errorf("create %s%v tensor: %w", t.DType, shape, err)
	}
	return t, nil
}

// NewEmpty allocates a zeroed tensor (outputs to be filled by Run).
func NewEmpty(dt graph.DType, shape []int64) (*Tensor, error) {
	n := graph.NumElements(shape)
	switch dt {
	case graph.Float32:
		return NewTensor(shape, make([]float32, n))
	case graph.Float64:
		return NewTensor(shape, make([]float64, n))
	case graph.Int64:
		return NewTensor(shape, make([]int64, n))
	case graph.Int32:
		return NewTensor(shape, make([]int32, n))
	case graph.Bool:
		return NewTensor(shape, make([]bool, n))
	case graph.Float16, graph.BFloat16:
		return NewRaw(dt, shape, make([]byte, n*2))
	}
	return nil, fmt.Errorf("no tensor of dtype %s", dt)
}

// NewRaw wraps little-endian bytes of any dtype (float16/bfloat16 weights).
func NewRaw(dt graph.DType, shape []int64, raw []byte) (*Tensor, error) {
	if want := graph.NumElements(shape) * int64(dt.Size()); want != int64(len(raw)) {
		return nil, fmt.Errorf("%s%v needs %d bytes, got %d", dt, shape, want, len(raw))
	}
	if err := Init(""); err != nil {
		return nil, err
	}
	v, err := ort.NewCustomDataTensor(ort.NewShape(shape...), raw, ort.TensorElementDataType(dt))
	if err != nil {
		return nil, fmt.Errorf("create %s%v tensor: %w", dt, shape, err)
	}
	return &Tensor{DType: dt, Shape: append([]int64{}, shape...), value: v}, nil
}

// Destroy frees the ORT value. Safe on nil.
func (t *Tensor) Destroy() {
	if t != nil && t.value != nil {
		t.value.Destroy()
		t.value = nil
	}
}

// Value exposes the underlying onnxruntime_go value.
func (t *Tensor) Value() ort.Value { return t.value }

// Float32s returns the live float32 buffer (nil for other dtypes or scalars).
func (t *Tensor) Float32s() []float32 {
	if v, ok := t.value.(*ort.Tensor[float32]); ok {
		return v.GetData()
	}
	return nil
}

// Int64s returns the live int64 buffer (nil for other dtypes).
func (t *Tensor) Int64s() []int64 {
	if v, ok := t.value.(*ort.Tensor[int64]); ok {
		return v.GetData()
	}
	return nil
}

// Float64s copies the contents as float64 (any numeric dtype, scalars too).
func (t *Tensor) Float64s() []float64 {
	switch v := t.value.(type) {
	case *ort.Tensor[float32]:
		return convert(v.GetData())
	case *ort.Tensor[float64]:
		return append([]float64{}, v.GetData()...)
	case *ort.Tensor[int64]:
		return convert(v.GetData())
	case *ort.Tensor[int32]:
		return convert(v.GetData())
	case *ort.Tensor[bool]:
		out := make([]float64, len(v.GetData()))
		for i, b := range v.GetData() {
			if b {
				out[i] = 1
			}
		}
		return out
	case *ort.Scalar[float32]:
		return []float64{float64(v.GetData())}
	case *ort.Scalar[float64]:
		return []float64{v.GetData()}
	case *ort.Scalar[int64]:
		return []float64{float64(v.GetData())}
	case *ort.Scalar[int32]:
		return []float64{float64(v.GetData())}
	case *ort.Scalar[bool]:
		if v.GetData() {
			return []float64{1}
		}
		return []float64{0}
	case *ort.CustomDataTensor:
		d, _ := graph.RawData(t.DType, t.Shape, v.GetData())
		f, _ := d.Float64s()
		return f
	}
	return nil
}

// Bools copies the contents of a bool tensor.
func (t *Tensor) Bools() []bool {
	switch v := t.value.(type) {
	case *ort.Tensor[bool]:
		return append([]bool{}, v.GetData()...)
	case *ort.Scalar[bool]:
		return []bool{v.GetData()}
	}
	return nil
}

// Scalar returns the single value of a one-element tensor as float64.
func (t *Tensor) Scalar() float64 {
	f := t.Float64s()
	if len(f) != 1 {
		panic(fmt.Sprintf("Scalar of a tensor with %d elements", len(f)))
	}
	return f[0]
}

func convert[T float32 | int64 | int32](xs []T) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

// wrap turns an ORT-allocated output into a Tensor.
func wrap(v ort.Value) (*Tensor, error) {
	shape := []int64(v.GetShape())
	var dt graph.DType
	switch v.(type) {
	case *ort.Tensor[float32], *ort.Scalar[float32]:
		dt = graph.Float32
	case *ort.Tensor[float64], *ort.Scalar[float64]:
		dt = graph.Float64
	case *ort.Tensor[int64], *ort.Scalar[int64]:
		dt = graph.Int64
	case *ort.Tensor[int32], *ort.Scalar[int32]:
		dt = graph.Int32
	case *ort.Tensor[bool], *ort.Scalar[bool]:
		dt = graph.Bool
	case *ort.CustomDataTensor:
		dt = graph.DType(v.DataType())
	default:
		return nil, fmt.Errorf("unsupported output value %T", v)
	}
	return &Tensor{DType: dt, Shape: shape, value: v}, nil
}

// OutputsFor returns an output slice for Session.Run matching outs:
// rank-0 outputs are pre-allocated (onnxruntime_go cannot auto-allocate
// scalars), the rest are nil and allocated by ONNX Runtime.
func OutputsFor(outs []*graph.Value) ([]*Tensor, error) {
	res := make([]*Tensor, len(outs))
	for i, o := range outs {
		if o.Rank() == 0 {
			t, err := NewEmpty(o.DType, nil)
			if err != nil {
				return nil, fmt.Errorf("output %s: %w", o.Name(), err)
			}
			res[i] = t
		}
	}
	return res, nil
}

// SetScalar overwrites the value of a rank-0 tensor. onnxruntime_go's
// Scalar.Set swaps its Go slice but leaves ORT reading the old memory, so
// the value is replaced by a fresh scalar instead (cheap: one element).
func (t *Tensor) SetScalar(x float64) error {
	var v ort.Value
	var err error
	switch t.value.(type) {
	case *ort.Scalar[float32]:
		v, err = ort.NewScalar(float32(x))
	case *ort.Scalar[float64]:
		v, err = ort.NewScalar(x)
	case *ort.Scalar[int64]:
		v, err = ort.NewScalar(int64(x))
	default:
		return fmt.Errorf("SetScalar on a %s%v tensor", t.DType, t.Shape)
	}
	if err != nil {
		return err
	}
	t.value.Destroy()
	t.value = v
	return nil
}

// FromFloat64 builds a tensor of dtype dt from float64 values (the inverse
// of Float64s; integers truncate, bool is value != 0). Tests and tools feed
// graphs this way whatever their input dtypes.
func FromFloat64(dt graph.DType, shape []int64, data []float64) (*Tensor, error) {
	switch dt {
	case graph.Float64:
		return NewTensor(shape, append([]float64{}, data...))
	case graph.Float32:
		return NewTensor(shape, convertFrom[float32](data))
	case graph.Int64:
		return NewTensor(shape, convertFrom[int64](data))
	case graph.Int32:
		return NewTensor(shape, convertFrom[int32](data))
	case graph.Bool:
		b := make([]bool, len(data))
		for i, v := range data {
			b[i] = v != 0
		}
		return NewTensor(shape, b)
	}
	return nil, fmt.Errorf("no float64 conversion to %s", dt)
}

func convertFrom[T float32 | int64 | int32](xs []float64) []T {
	out := make([]T, len(xs))
	for i, x := range xs {
		out[i] = T(x)
	}
	return out
}
