package export

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/nrgraph/nrgraph/export/onnxpb"
	"github.com/nrgraph/nrgraph/graph"
)

// Load reads an ONNX file back into the IR (external data is referenced
// lazily, relative to the model's directory). Used by round-trip tests and
// by commands that inspect built graphs.
func Load(path string) (*graph.Graph, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	g, err := Unmarshal(b, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// Unmarshal decodes a serialised ModelProto; baseDir resolves external data.
func Unmarshal(b []byte, baseDir string) (*graph.Graph, error) {
	m := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("not an ONNX model: %w", err)
	}
	if m.Graph == nil {
		return nil, fmt.Errorf("model has no graph")
	}
	// Other opset domains may be imported (ONNX Runtime's optimized models
	// list ai.onnx.ml, com.microsoft, ...); only nodes that use one are
	// rejected, below.
	gp := m.Graph
	var g *graph.Graph
	err := graph.Try(func() {
		g = graph.New(gp.GetName())
		isInit := map[string]bool{}
		for _, t := range gp.Initializer {
			isInit[t.GetName()] = true
		}
		for _, vi := range gp.Input {
			if isInit[vi.GetName()] {
				continue // old-style: initializers also listed as inputs
			}
			dt, shape, err := valueType(vi)
			if err != nil {
				panic(&graph.Error{Op: "Input", Node: vi.GetName(), Err: err})
			}
			g.Input(vi.GetName(), dt, shape)
		}
		for _, t := range gp.Initializer {
			d, err := tensorData(t, baseDir)
			if err != nil {
				panic(&graph.Error{Op: "Initializer", Node: t.GetName(), Err: err})
			}
			g.Initializer(t.GetName(), d)
		}
		for _, np := range gp.Node {
			readNode(g, np, baseDir)
		}
		for _, vi := range gp.Output {
			v, ok := g.Lookup(vi.GetName())
			if !ok {
				panic(&graph.Error{Op: "Output", Node: vi.GetName(), Err: fmt.Errorf("graph output %q is not produced by any node", vi.GetName())})
			}
			g.MarkOutput(v)
		}
	})
	return g, err
}

func readNode(g *graph.Graph, np *onnxpb.NodeProto, baseDir string) {
	if d := strings.TrimPrefix(np.GetDomain(), "ai.onnx"); d != graph.OpDomain(np.GetOpType()) {
		panic(&graph.Error{Op: np.GetOpType(), Node: np.GetName(), Err: fmt.Errorf("op domain %q is not supported", np.GetDomain())})
	}
	inputs := make([]*graph.Value, len(np.Input))
	for i, name := range np.Input {
		if name == "" {
			continue
		}
		v, ok := g.Lookup(name)
		if !ok {
			panic(&graph.Error{Op: np.GetOpType(), Node: np.GetName(), Err: fmt.Errorf("input %q is not defined before use", name)})
		}
		inputs[i] = v
	}
	attrs := graph.Attrs{}
	for _, a := range np.Attribute {
		v, err := attrValue(a, baseDir)
		if err != nil {
			panic(&graph.Error{Op: np.GetOpType(), Node: np.GetName(), Err: err})
		}
		attrs[a.GetName()] = v
	}
	outs := g.AddNode(np.GetOpType(), inputs, attrs)
	if len(outs) != len(np.Output) {
		panic(&graph.Error{Op: np.GetOpType(), Node: np.GetName(), Err: fmt.Errorf("file lists %d outputs, IR infers %d", len(np.Output), len(outs))})
	}
	outs[0].Producer.Name = np.GetName()
	for i, o := range outs {
		g.Rename(o, np.Output[i])
	}
}

func valueType(vi *onnxpb.ValueInfoProto) (graph.DType, graph.Shape, error) {
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return 0, nil, fmt.Errorf("%q is not a tensor", vi.GetName())
	}
	dt := graph.DType(tt.GetElemType())
	if !dt.Valid() {
		return 0, nil, fmt.Errorf("%q has unsupported element type %d", vi.GetName(), tt.GetElemType())
	}
	shape := graph.Shape{}
	for _, d := range tt.GetShape().GetDim() {
		switch v := d.Value.(type) {
		case *onnxpb.TensorShapeProto_Dimension_DimValue:
			shape = append(shape, graph.D(v.DimValue))
		case *onnxpb.TensorShapeProto_Dimension_DimParam:
			dim, err := graph.ParseDim(v.DimParam)
			if err != nil {
				return 0, nil, err
			}
			shape = append(shape, dim)
		default:
			return 0, nil, fmt.Errorf("%q has a dimension with neither value nor name", vi.GetName())
		}
	}
	return dt, shape, nil
}

func tensorData(t *onnxpb.TensorProto, baseDir string) (*graph.Data, error) {
	dt := graph.DType(t.GetDataType())
	if !dt.Valid() {
		return nil, fmt.Errorf("unsupported data type %d", t.GetDataType())
	}
	dims := t.GetDims()
	n, err := checkedElements(dims, dt.Size())
	if err != nil {
		return nil, err
	}
	if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		return externalData(t, dt, dims, n, baseDir)
	}
	if t.RawData != nil {
		return graph.RawData(dt, dims, t.RawData)
	}
	// Typed fields (written by other tools): their length must match the
	// dims before anything is sized by the dims.
	var count int
	switch dt {
	case graph.Float32:
		count = len(t.FloatData)
	case graph.Float64:
		count = len(t.DoubleData)
	case graph.Int64:
		count = len(t.Int64Data)
	case graph.Int32, graph.Bool, graph.Float16, graph.BFloat16:
		count = len(t.Int32Data)
	}
	if int64(count) != n {
		return nil, fmt.Errorf("%s%v needs %d values, the tensor holds %d", dt, dims, n, count)
	}
	raw := make([]byte, 0, n*int64(dt.Size()))
	switch dt {
	case graph.Float32:
		for _, f := range t.FloatData {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(f))
		}
	case graph.Float64:
		for _, f := range t.DoubleData {
			raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(f))
		}
	case graph.Int64:
		for _, v := range t.Int64Data {
			raw = binary.LittleEndian.AppendUint64(raw, uint64(v))
		}
	case graph.Int32:
		for _, v := range t.Int32Data {
			raw = binary.LittleEndian.AppendUint32(raw, uint32(v))
		}
	case graph.Bool:
		for _, v := range t.Int32Data {
			raw = append(raw, byte(v))
		}
	case graph.Float16, graph.BFloat16:
		for _, v := range t.Int32Data {
			raw = binary.LittleEndian.AppendUint16(raw, uint16(v))
		}
	}
	return graph.RawData(dt, dims, raw)
}

// checkedElements is the element count of dims, refusing negative dims
// and products (in bytes) that overflow int64.
func checkedElements(dims []int64, size int) (int64, error) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("negative dim in %v", dims)
		}
		if d != 0 && n > math.MaxInt64/int64(size)/d {
			return 0, fmt.Errorf("dims %v are larger than any tensor", dims)
		}
		n *= d
	}
	return n, nil
}

// externalData checks an external-data reference (location inside the
// model's directory, offset and length within the file) without reading
// it.
func externalData(t *onnxpb.TensorProto, dt graph.DType, dims []int64, n int64, baseDir string) (*graph.Data, error) {
	kv := map[string]string{}
	for _, e := range t.ExternalData {
		kv[e.GetKey()] = e.GetValue()
	}
	loc := kv["location"]
	clean := filepath.Clean(filepath.FromSlash(loc))
	if loc == "" || filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return nil, fmt.Errorf("external data location %q must be a relative path inside the model's directory", loc)
	}
	var off int64
	if s, ok := kv["offset"]; ok {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("external data %q: offset %q is not a non-negative integer", loc, s)
		}
		off = v
	}
	length := n * int64(dt.Size())
	if s, ok := kv["length"]; ok {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v != length {
			return nil, fmt.Errorf("external data %q: length %q, but %s%v needs %d bytes", loc, s, dt, dims, length)
		}
	}
	path := filepath.Join(baseDir, clean)
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("external data: %w", err)
	}
	if off > st.Size()-length {
		return nil, fmt.Errorf("external data %s: %d bytes at offset %d run past its end (%d bytes)", path, length, off, st.Size())
	}
	return graph.FileData(dt, dims, graph.FileRegion{Path: path, Offset: off, Length: length})
}

func attrValue(a *onnxpb.AttributeProto, baseDir string) (any, error) {
	switch a.GetType() {
	case onnxpb.AttributeProto_INT:
		return a.GetI(), nil
	case onnxpb.AttributeProto_FLOAT:
		return a.GetF(), nil
	case onnxpb.AttributeProto_STRING:
		return string(a.GetS()), nil
	case onnxpb.AttributeProto_INTS:
		return append([]int64{}, a.Ints...), nil
	case onnxpb.AttributeProto_FLOATS:
		return append([]float32{}, a.Floats...), nil
	case onnxpb.AttributeProto_TENSOR:
		return tensorData(a.GetT(), baseDir)
	}
	return nil, fmt.Errorf("attribute %q has unsupported type %s", a.GetName(), a.GetType())
}
