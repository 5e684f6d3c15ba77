package graph

import "fmt"

// DType is the element type of a tensor. The numeric values are ONNX's
// TensorProto.DataType codes, so the exporter and the Cast op's "to"
// attribute use them directly.
type DType int32

const (
	InvalidDType DType = 0
	Float32      DType = 1
	Uint8        DType = 2 // quantised data only (DynamicQuantizeMatMul zero points)
	Int8         DType = 3 // quantised weights (--backbone-precision int8)
	Int32        DType = 6
	Int64        DType = 7
	Bool         DType = 9
	Float16      DType = 10
	Float64      DType = 11
	BFloat16     DType = 16
)

var dtypeNames = map[DType]string{
	Float32: "float32", Uint8: "uint8", Int8: "int8", Int32: "int32", Int64: "int64", Bool: "bool",
	Float16: "float16", Float64: "float64", BFloat16: "bfloat16",
}

func (d DType) String() string {
	if s, ok := dtypeNames[d]; ok {
		return s
	}
	return fmt.Sprintf("dtype(%d)", int32(d))
}

// Valid reports whether d is one of the supported dtypes.
func (d DType) Valid() bool { _, ok := dtypeNames[d]; return ok }

// Size is the number of bytes of one element (bool is stored as one byte).
func (d DType) Size() int {
	switch d {
	case Float64, Int64:
		return 8
	case Float32, Int32:
		return 4
	case Float16, BFloat16:
		return 2
	case Bool, Int8, Uint8:
		return 1
	}
	return 0
}

// IsFloat reports whether d is a floating-point type, i.e. one that can
// carry gradients.
func (d DType) IsFloat() bool {
	return d == Float32 || d == Float64 || d == Float16 || d == BFloat16
}

// IsInt reports whether d is an integer type.
func (d DType) IsInt() bool { return d == Int32 || d == Int64 }

// ParseDType parses a dtype name as printed by String.
func ParseDType(s string) (DType, error) {
	for d, n := range dtypeNames {
		if n == s {
			return d, nil
		}
	}
	return InvalidDType, fmt.Errorf("unknown dtype %q", s)
}
