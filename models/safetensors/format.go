package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxHeaderBytes bounds the JSON header of a file. The reference
// implementation uses the same limit; a real header is a few hundred KiB even
// for the largest checkpoints, so anything bigger is corruption or an attack.
const MaxHeaderBytes = 100_000_000

// metadataKey is the header entry that holds free-form string metadata
// instead of a tensor.
const metadataKey = "__metadata__"

// FormatError reports a file that violates the safetensors format. File is the
// path as the caller spelled it; Tensor is empty when the problem concerns
// the file as a whole (truncation, bad JSON) rather than one tensor.
type FormatError struct {
	File   string
	Tensor string
	Reason string
}

func (e *FormatError) Error() string {
	if e.Tensor == "" {
		return fmt.Sprintf("%s: %s", e.File, e.Reason)
	}
	return fmt.Sprintf("%s: tensor %q: %s", e.File, e.Tensor, e.Reason)
}

func formatErr(file, tensor, format string, args ...any) error {
	return &FormatError{File: file, Tensor: tensor, Reason: fmt.Sprintf(format, args...)}
}

// TensorInfo locates one tensor. DataOffset and ByteLen are exact: the bytes
// [DataOffset, DataOffset+ByteLen) of File are the tensor's little-endian,
// row-major data, suitable as an ONNX external-data reference.
type TensorInfo struct {
	Name       string
	DType      DType
	Shape      []int64
	File       string // absolute path
	DataOffset int64  // absolute byte offset in File
	ByteLen    int64
}

// NumElements is the product of Shape (1 for a scalar).
func (t TensorInfo) NumElements() int64 {
	if t.DType.Size() == 0 {
		return 0
	}
	return t.ByteLen / t.DType.Size()
}

// fileHeader is one file's parsed and validated header.
type fileHeader struct {
	dataStart int64             // absolute offset of the data section
	metadata  map[string]string // __metadata__, nil when absent
	tensors   []TensorInfo      // sorted by DataOffset; File left empty
}

// headerEntry is one tensor's JSON. Pointers tell a missing field from a
// zero one.
type headerEntry struct {
	DType       *string
	Shape       *[]int64
	DataOffsets *[]int64
}

// decodeEntry reads one tensor's JSON object. Field names are matched
// exactly: encoding/json's struct decoding would also accept "DType" or
// "Data_Offsets", which the reference reader rejects.
func decodeEntry(dec *json.Decoder) (headerEntry, error) {
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil {
		return headerEntry{}, err
	}
	var e headerEntry
	for _, field := range []struct {
		key string
		dst any
	}{{"dtype", &e.DType}, {"shape", &e.Shape}, {"data_offsets", &e.DataOffsets}} {
		if raw, ok := fields[field.key]; ok {
			if err := json.Unmarshal(raw, field.dst); err != nil {
				return headerEntry{}, fmt.Errorf("%s: %w", field.key, err)
			}
		}
	}
	return e, nil
}

// parseHeader reads and validates the header of the size-byte file r. Every
// allocation is bounded by the header length, which is itself checked
// against MaxHeaderBytes and the file size before it is used, so a lying
// length prefix cannot make us allocate more than the file holds.
func parseHeader(file string, r io.ReaderAt, size int64) (*fileHeader, error) {
	if size < 8 {
		return nil, formatErr(file, "", "file is %d bytes, too short for the 8-byte header length (truncated?)", size)
	}
	var prefix [8]byte
	if _, err := r.ReadAt(prefix[:], 0); err != nil {
		return nil, fmt.Errorf("%s: read header length: %w", file, err)
	}
	headerLen := binary.LittleEndian.Uint64(prefix[:])
	if headerLen > MaxHeaderBytes {
		return nil, formatErr(file, "", "header length %d exceeds the %d-byte limit", headerLen, MaxHeaderBytes)
	}
	if int64(headerLen) > size-8 {
		return nil, formatErr(file, "", "header length %d exceeds the %d bytes after the length prefix (truncated?)", headerLen, size-8)
	}
	raw := make([]byte, headerLen)
	if _, err := r.ReadAt(raw, 8); err != nil {
		return nil, fmt.Errorf("%s: read %d-byte header: %w", file, headerLen, err)
	}
	h := &fileHeader{dataStart: 8 + int64(headerLen)}
	if err := h.decode(file, raw); err != nil {
		return nil, err
	}
	if err := h.validate(file, size-h.dataStart); err != nil {
		return nil, err
	}
	return h, nil
}

// decode fills h.metadata and h.tensors from the header JSON. It walks the
// top-level object token by token, rather than unmarshalling into a map, so
// that a duplicated tensor name is an error instead of silently keeping
// whichever entry came last.
func (h *fileHeader) decode(file string, raw []byte) error {
	// encoding/json would replace invalid UTF-8 in names with U+FFFD, making
	// a tensor unreachable under the name other tools see.
	if !utf8.Valid(raw) {
		return formatErr(file, "", "header is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return formatErr(file, "", "header is not a JSON object: %s", jsonProblem(tok, err))
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return formatErr(file, "", "header is not valid JSON: %v", err)
		}
		name, ok := tok.(string)
		if !ok { // the decoder reports non-string keys itself; be safe anyway
			return formatErr(file, "", "header is not valid JSON: key %v is not a string", tok)
		}
		if seen[name] {
			return formatErr(file, name, "appears twice in the header")
		}
		seen[name] = true
		if name == metadataKey {
			if err := dec.Decode(&h.metadata); err != nil {
				return formatErr(file, "", "%s must map strings to strings: %v", metadataKey, err)
			}
			continue
		}
		entry, err := decodeEntry(dec)
		if err != nil {
			return formatErr(file, name, "invalid header entry: %v", err)
		}
		info, err := entry.tensorInfo(name)
		if err != nil {
			return &FormatError{File: file, Tensor: name, Reason: err.Error()}
		}
		h.tensors = append(h.tensors, info)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return formatErr(file, "", "header is not valid JSON: %v", err)
	}
	// Trailing bytes may only be the spaces that pad the header to 8 bytes.
	if rest := raw[dec.InputOffset():]; len(bytes.TrimRight(rest, " \t\r\n")) != 0 {
		return formatErr(file, "", "header has %d bytes of trailing garbage after the JSON object", len(rest))
	}
	return nil
}

func jsonProblem(tok json.Token, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("starts with %v", tok)
}

// tensorInfo checks one entry on its own (fields present, dtype known,
// dtype × shape equal to the offsets' span) with DataOffset still relative
// to the data section.
func (e headerEntry) tensorInfo(name string) (TensorInfo, error) {
	var missing []string
	if e.DType == nil {
		missing = append(missing, "dtype")
	}
	if e.Shape == nil {
		missing = append(missing, "shape")
	}
	if e.DataOffsets == nil {
		missing = append(missing, "data_offsets")
	}
	if len(missing) > 0 {
		return TensorInfo{}, fmt.Errorf("header entry lacks %s", strings.Join(missing, ", "))
	}
	dtype := DType(*e.DType)
	if !dtype.Known() {
		return TensorInfo{}, fmt.Errorf("unknown dtype %q", *e.DType)
	}
	offsets := *e.DataOffsets
	if len(offsets) != 2 {
		return TensorInfo{}, fmt.Errorf("data_offsets %v must be [begin, end]", offsets)
	}
	begin, end := offsets[0], offsets[1]
	if begin < 0 || end < begin {
		return TensorInfo{}, fmt.Errorf("data_offsets [%d, %d] are not an ordered pair of non-negative offsets", begin, end)
	}
	want, err := numBytes(dtype, *e.Shape)
	if err != nil {
		return TensorInfo{}, err
	}
	if end-begin != want {
		return TensorInfo{}, fmt.Errorf("%s%v needs %d bytes but data_offsets [%d, %d] span %d", dtype, *e.Shape, want, begin, end, end-begin)
	}
	shape := *e.Shape
	if shape == nil {
		shape = []int64{}
	}
	return TensorInfo{Name: name, DType: dtype, Shape: shape, DataOffset: begin, ByteLen: want}, nil
}

// validate checks the tensors against the data section: every span inside
// it and no two spans overlapping. Unlike the reference reader we accept
// gaps between tensors (they waste space but are harmless); no writer we
// know of produces them.
func (h *fileHeader) validate(file string, dataLen int64) error {
	for _, t := range h.tensors {
		if t.DataOffset+t.ByteLen > dataLen {
			return formatErr(file, t.Name, "data_offsets [%d, %d] exceed data section of %d bytes", t.DataOffset, t.DataOffset+t.ByteLen, dataLen)
		}
	}
	slices.SortFunc(h.tensors, func(a, b TensorInfo) int {
		if a.DataOffset != b.DataOffset {
			return cmp.Compare(a.DataOffset, b.DataOffset)
		}
		return cmp.Compare(a.ByteLen, b.ByteLen)
	})
	for i := 1; i < len(h.tensors); i++ {
		prev, cur := h.tensors[i-1], h.tensors[i]
		if cur.DataOffset < prev.DataOffset+prev.ByteLen {
			return formatErr(file, cur.Name, "data_offsets [%d, %d] overlap tensor %q at [%d, %d]",
				cur.DataOffset, cur.DataOffset+cur.ByteLen, prev.Name, prev.DataOffset, prev.DataOffset+prev.ByteLen)
		}
	}
	for i := range h.tensors {
		h.tensors[i].DataOffset += h.dataStart
	}
	return nil
}

// errClosed is returned by reads after Close.
var errClosed = errors.New("checkpoint is closed")
