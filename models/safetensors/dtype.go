// Package safetensors reads and writes Hugging Face checkpoints in the
// safetensors format: single files (model.safetensors) and sharded ones
// (model-0000x-of-0000y.safetensors + model.safetensors.index.json).
//
// Files are memory-mapped read-only, and every header is validated before
// anything sized by the file's own numbers is allocated, so a hostile or
// truncated checkpoint yields an error naming the file and the tensor, never
// a panic or a huge allocation. TensorInfo.DataOffset is the exact absolute
// byte offset of a tensor's data in its file, which lets the ONNX exporter
// reference checkpoint bytes in place as ONNX external data.
//
// Writes are atomic (temp file, fsync, rename, fsync of the directory) and
// use the reference Rust/Python writer's layout, byte for byte (up to the
// order of metadata keys, which it leaves to a hash map, and JSON escaping
// of control characters in names).
package safetensors

import (
	"fmt"
	"slices"
)

// DType is a safetensors element type, spelled as in the file header.
type DType string

// The element types this package understands: every byte-sized type of the
// reference implementation. Sub-byte formats (F4, F6_*) are rejected as
// unknown because their byte length is not elements × size.
const (
	BOOL    DType = "BOOL"
	U8      DType = "U8"
	I8      DType = "I8"
	F8E5M2  DType = "F8_E5M2"
	F8E4M3  DType = "F8_E4M3"
	I16     DType = "I16"
	U16     DType = "U16"
	F16     DType = "F16"
	BF16    DType = "BF16"
	I32     DType = "I32"
	U32     DType = "U32"
	F32     DType = "F32"
	F64     DType = "F64"
	I64     DType = "I64"
	U64     DType = "U64"
	unknown DType = ""
)

// dtypeOrder lists the dtypes in the declaration order of the reference
// implementation's Dtype enum (increasing alignment). Its writer sorts tensors
// by this order descending, then by name; we do the same so our files are
// byte-identical to HF's and every tensor's data is naturally aligned.
var dtypeOrder = []DType{BOOL, U8, I8, F8E5M2, F8E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64}

var dtypeSizes = map[DType]int64{
	BOOL: 1, U8: 1, I8: 1, F8E5M2: 1, F8E4M3: 1,
	I16: 2, U16: 2, F16: 2, BF16: 2,
	I32: 4, U32: 4, F32: 4,
	F64: 8, I64: 8, U64: 8,
}

// Size is the number of bytes of one element, or 0 for an unknown dtype.
func (d DType) Size() int64 { return dtypeSizes[d] }

// Known reports whether d is a dtype this package can read and write.
func (d DType) Known() bool { return d.Size() > 0 }

// writeRank orders dtypes for the writer: higher rank is written first.
func (d DType) writeRank() int { return slices.Index(dtypeOrder, d) }

// numBytes returns dtype size × product(shape), or an error when a dimension
// is negative or the product overflows int64. Checking each step before
// multiplying keeps a hostile shape like [2^40, 2^40] from wrapping around to
// a small, plausible-looking size.
func numBytes(dtype DType, shape []int64) (int64, error) {
	size := dtype.Size()
	if size == 0 {
		return 0, fmt.Errorf("unknown dtype %q", string(dtype))
	}
	total := size
	for _, dim := range shape {
		if dim < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if dim != 0 && total > maxInt64/dim {
			return 0, fmt.Errorf("shape %v × %d-byte %s overflows int64", shape, size, dtype)
		}
		total *= dim
	}
	return total, nil
}

const maxInt64 = int64(^uint64(0) >> 1)
