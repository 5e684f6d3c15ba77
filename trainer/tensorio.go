package trainer

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
)

// writeTensors stores float32 tensors as safetensors, atomically.
// TODO(safetensors): switch to models/safetensors once it lands.
func writeTensors(path string, tensors map[string][]float32, shapes map[string][]int64, meta map[string]string) error {
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	header := map[string]any{}
	if len(meta) > 0 {
		header["__metadata__"] = meta
	}
	offset := int64(0)
	for _, n := range names {
		size := int64(4 * len(tensors[n]))
		header[n] = map[string]any{"dtype": "F32", "shape": shapes[n], "data_offsets": []int64{offset, offset + size}}
		offset += size
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(hb)%8 != 0 {
		hb = append(hb, ' ')
	}
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, uint64(len(hb)))
	buf.Write(hb)
	for _, n := range names {
		for _, v := range tensors[n] {
			binary.Write(&buf, binary.LittleEndian, math.Float32bits(v))
		}
	}
	return writeFileAtomic(path, buf.Bytes())
}

// readTensors loads every float32 tensor of a safetensors file.
func readTensors(path string) (map[string][]float32, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(raw) < 8 {
		return nil, fmt.Errorf("%s: truncated safetensors file", path)
	}
	n := binary.LittleEndian.Uint64(raw)
	if n > uint64(len(raw)-8) {
		return nil, fmt.Errorf("%s: header length %d beyond file size", path, n)
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+n], &header); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	data := raw[8+n:]
	out := map[string][]float32{}
	for name, msg := range header {
		if name == "__metadata__" {
			continue
		}
		var info struct {
			DType   string  `json:"dtype"`
			Offsets []int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(msg, &info); err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %w", path, name, err)
		}
		if info.DType != "F32" || len(info.Offsets) != 2 || info.Offsets[0] < 0 || info.Offsets[1] > int64(len(data)) || info.Offsets[0] > info.Offsets[1] {
			return nil, fmt.Errorf("%s: tensor %q: bad dtype %s or offsets %v", path, name, info.DType, info.Offsets)
		}
		b := data[info.Offsets[0]:info.Offsets[1]]
		vals := make([]float32, len(b)/4)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		out[name] = vals
	}
	return out, nil
}
