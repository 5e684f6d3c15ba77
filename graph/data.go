package graph

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
)

// Data is the contents of a constant or initializer: little-endian raw bytes
// in memory, or a region of a file read lazily. Multi-GB backbone weights
// stay in their safetensors file; the exporter references the file region
// as ONNX external data and never loads it, so weights never sit twice in
// memory.
type Data struct {
	DType DType
	Dims  []int64
	// File, when set, is where the bytes live: Length bytes at Offset.
	File *FileRegion

	once sync.Once
	raw  []byte
	load func() ([]byte, error)
	err  error
}

// FileRegion is a byte range of a file holding a tensor's raw data in ONNX
// layout (row-major, little-endian) — exactly how safetensors stores it.
type FileRegion struct {
	Path   string
	Offset int64
	Length int64
}

// Number is the Go element types Data can be built from.
type Number interface {
	~float32 | ~float64 | ~int32 | ~int64 | ~bool
}

// NumElements is the number of elements of a tensor with static dims
// (1 for a scalar).
func NumElements(dims []int64) int64 {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	return n
}

// NewData copies values into a new in-memory tensor of matching dtype.
func NewData[T Number](dims []int64, values []T) *Data {
	if int64(len(values)) != NumElements(dims) {
		panic(fmt.Sprintf("graph.NewData: %d values for dims %v", len(values), dims))
	}
	var dt DType
	var raw []byte
	switch vs := any(values).(type) {
	case []float32:
		dt, raw = Float32, make([]byte, 4*len(vs))
		for i, v := range vs {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
	case []float64:
		dt, raw = Float64, make([]byte, 8*len(vs))
		for i, v := range vs {
			binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(v))
		}
	case []int32:
		dt, raw = Int32, make([]byte, 4*len(vs))
		for i, v := range vs {
			binary.LittleEndian.PutUint32(raw[4*i:], uint32(v))
		}
	case []int64:
		dt, raw = Int64, make([]byte, 8*len(vs))
		for i, v := range vs {
			binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
		}
	case []bool:
		dt, raw = Bool, make([]byte, len(vs))
		for i, v := range vs {
			if v {
				raw[i] = 1
			}
		}
	default:
		panic(fmt.Sprintf("graph.NewData: unsupported element type %T", values))
	}
	return &Data{DType: dt, Dims: append([]int64(nil), dims...), raw: raw}
}

// RawData wraps little-endian bytes of the given dtype (float16 and bfloat16
// weights arrive this way).
func RawData(dt DType, dims []int64, raw []byte) (*Data, error) {
	if want := NumElements(dims) * int64(dt.Size()); want != int64(len(raw)) {
		return nil, fmt.Errorf("%s%v needs %d bytes, got %d", dt, dims, want, len(raw))
	}
	return &Data{DType: dt, Dims: append([]int64(nil), dims...), raw: raw}, nil
}

// LazyData is read by load on first use (e.g. random init generated on demand).
func LazyData(dt DType, dims []int64, load func() ([]byte, error)) *Data {
	return &Data{DType: dt, Dims: append([]int64(nil), dims...), load: load}
}

// FileData refers to Length bytes at Offset of path without reading them.
func FileData(dt DType, dims []int64, region FileRegion) (*Data, error) {
	if want := NumElements(dims) * int64(dt.Size()); want != region.Length {
		return nil, fmt.Errorf("%s: %s%v needs %d bytes, region has %d", region.Path, dt, dims, want, region.Length)
	}
	d := &Data{DType: dt, Dims: append([]int64(nil), dims...), File: &region}
	d.load = func() ([]byte, error) {
		f, err := os.Open(region.Path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		buf := make([]byte, region.Length)
		if _, err := f.ReadAt(buf, region.Offset); err != nil {
			return nil, fmt.Errorf("read %s at %d: %w", region.Path, region.Offset, err)
		}
		return buf, nil
	}
	return d, nil
}

// NumBytes is the size of the raw data.
func (d *Data) NumBytes() int64 { return NumElements(d.Dims) * int64(d.DType.Size()) }

// Bytes returns the raw little-endian data, loading it on first use.
func (d *Data) Bytes() ([]byte, error) {
	if d.raw != nil || d.load == nil {
		return d.raw, nil
	}
	d.once.Do(func() { d.raw, d.err = d.load() })
	return d.raw, d.err
}

// Rows returns rows [from, to) of the data's first axis as data of its
// own, without reading anything: a file-backed tensor gives a sub-region
// of the same file (so ONNX Runtime maps those bytes in place), in-memory
// data a view of its bytes.
func (d *Data) Rows(from, to int64) (*Data, error) {
	if len(d.Dims) == 0 || from < 0 || to > d.Dims[0] || from >= to {
		return nil, fmt.Errorf("rows [%d, %d) of %s%v", from, to, d.DType, d.Dims)
	}
	dims := append([]int64{to - from}, d.Dims[1:]...)
	rowBytes := NumElements(d.Dims[1:]) * int64(d.DType.Size())
	switch {
	case d.File != nil:
		region := *d.File
		region.Offset += from * rowBytes
		region.Length = (to - from) * rowBytes
		return FileData(d.DType, dims, region)
	case d.raw != nil || d.load == nil:
		return RawData(d.DType, dims, d.raw[from*rowBytes:to*rowBytes])
	}
	return LazyData(d.DType, dims, func() ([]byte, error) {
		raw, err := d.Bytes()
		if err != nil {
			return nil, err
		}
		return raw[from*rowBytes : to*rowBytes], nil
	}), nil
}

// Transient returns the raw data like Bytes, but lazy or file-backed data
// is produced anew and not kept: streaming a model's initial weights to a
// file then holds one tensor at a time, not all of them.
func (d *Data) Transient() ([]byte, error) {
	if d.raw != nil || d.load == nil {
		return d.raw, nil
	}
	return d.load()
}

// WriteTo streams the raw data to w.
func (d *Data) WriteTo(w io.Writer) (int64, error) {
	b, err := d.Bytes()
	if err != nil {
		return 0, err
	}
	n, err := w.Write(b)
	return int64(n), err
}

// Float64s decodes the data as float64 values (any numeric dtype).
func (d *Data) Float64s() ([]float64, error) {
	b, err := d.Bytes()
	if err != nil {
		return nil, err
	}
	n := int(NumElements(d.Dims))
	out := make([]float64, n)
	for i := range out {
		switch d.DType {
		case Float32:
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		case Float64:
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		case Int32:
			out[i] = float64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		case Int64:
			out[i] = float64(int64(binary.LittleEndian.Uint64(b[8*i:])))
		case Bool, Uint8:
			out[i] = float64(b[i])
		case Int8:
			out[i] = float64(int8(b[i]))
		case Float16:
			out[i] = float64(F16ToFloat32(binary.LittleEndian.Uint16(b[2*i:])))
		case BFloat16:
			out[i] = float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16))
		default:
			return nil, fmt.Errorf("cannot decode dtype %s", d.DType)
		}
	}
	return out, nil
}

// Int64s decodes integer data (int32 or int64) exactly (not through
// float64, which would corrupt values beyond 2^53 such as MaxInt64 slice
// ends).
func (d *Data) Int64s() ([]int64, error) {
	if !d.DType.IsInt() {
		return nil, fmt.Errorf("Int64s of %s data", d.DType)
	}
	b, err := d.Bytes()
	if err != nil {
		return nil, err
	}
	out := make([]int64, NumElements(d.Dims))
	for i := range out {
		if d.DType == Int64 {
			out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		} else {
			out[i] = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
	}
	return out, nil
}
