// Package export turns a graph.Graph into an ONNX ModelProto (with large
// initializers as external data) and reads ONNX files back into the IR for
// round-trip tests. IR version and opset are pinned here, in one place.
package export

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/nrgraph/nrgraph/export/onnxpb"
	"github.com/nrgraph/nrgraph/graph"
)

const (
	// DefaultOpset is the ONNX opset nrgraph emits. ORT 1.24 accepts up to
	// 25, but Debian's python3-onnx checker (1.12) validates only up to 17.
	DefaultOpset = 17
	// DefaultIRVersion matches opset 17 (the checker's ceiling).
	DefaultIRVersion = 8
	// DefaultExternalThreshold: initializers of at least this many bytes are
	// stored as external data.
	DefaultExternalThreshold = 1 << 20
	// protobufLimit is protobuf's 2 GiB message limit; stay well under it.
	protobufLimit = 1<<31 - 64<<20
)

// Options controls export.
type Options struct {
	Opset     int64
	IRVersion int64
	// ExternalThreshold in bytes; 0 means DefaultExternalThreshold, a negative
	// value keeps every initializer inline (fails past the 2 GiB limit).
	ExternalThreshold int64
	// DocString is stored in the model.
	DocString string
	// Metadata is stored as metadata_props (sorted by key).
	Metadata map[string]string
	// KeepStoredDType also lists every 16-bit float initializer (bf16/fp16
	// weights) as an optional graph input. ONNX Runtime's optimizers fold
	// only constant initializers, and an initializer that is also a graph
	// input is overridable, not constant: so Cast(weight) stays a Cast,
	// run at each use into a buffer freed after it, instead of becoming a
	// resident float32 copy at session creation (measured: the 2 GB
	// anonymous memory of a 287M-parameter bf16 backbone at session open
	// disappeared; disabling the ConstantFolding optimizer by name did not
	// stop the fold). The weights still load from the initializers (the
	// inputs are never fed), memory-mapped from external data.
	KeepStoredDType bool
}

func (o Options) withDefaults() Options {
	if o.Opset == 0 {
		o.Opset = DefaultOpset
	}
	if o.IRVersion == 0 {
		o.IRVersion = DefaultIRVersion
	}
	if o.ExternalThreshold == 0 {
		o.ExternalThreshold = DefaultExternalThreshold
	}
	return o
}

// externalSink decides where each initializer's bytes go.
type externalSink struct {
	modelDir string
	dataName string // file name of the data file next to the model
	buf      *bytes.Buffer
	links    map[string]string // name inside modelDir -> weights file outside it
}

// Save writes g to path (and path+".data" when initializers go external),
// atomically: each file is written to a temp file, fsynced and renamed.
// Initializers backed by a file region (safetensors weights) are referenced
// in place, never copied.
func Save(g *graph.Graph, path string, opts Options) error {
	opts = opts.withDefaults()
	dir := filepath.Dir(path)
	sink := &externalSink{modelDir: dir, dataName: filepath.Base(path) + ".data", buf: &bytes.Buffer{}, links: map[string]string{}}
	m, err := toProto(g, opts, sink)
	if err != nil {
		return fmt.Errorf("export %s: %w", path, err)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("export %s: %w", path, err)
	}
	if len(b) > protobufLimit {
		return fmt.Errorf("export %s: model proto is %d bytes, over protobuf's 2 GiB limit; lower ExternalThreshold", path, len(b))
	}
	for _, link := range slices.Sorted(maps.Keys(sink.links)) {
		if err := linkWeights(sink.links[link], filepath.Join(dir, link)); err != nil {
			return fmt.Errorf("export %s: %w", path, err)
		}
	}
	if sink.buf.Len() > 0 {
		if err := WriteFileAtomic(filepath.Join(dir, sink.dataName), sink.buf.Bytes()); err != nil {
			return err
		}
	}
	return WriteFileAtomic(path, b)
}

// Marshal serialises g with every initializer inline (small models, tests).
func Marshal(g *graph.Graph, opts Options) ([]byte, error) {
	opts = opts.withDefaults()
	opts.ExternalThreshold = -1
	m, err := toProto(g, opts, nil)
	if err != nil {
		return nil, err
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err == nil && len(b) > protobufLimit {
		return nil, fmt.Errorf("model proto is %d bytes, over protobuf's 2 GiB limit: use Save with external data", len(b))
	}
	return b, err
}

// WriteFileAtomic writes data to a temp file in path's directory, fsyncs it,
// renames it over path and fsyncs the directory, so a crash leaves either
// the old file or the new one, never a torn one.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	ok := false
	if err := f.Chmod(0o644); err != nil { // CreateTemp makes 0600 files
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", path, err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

func toProto(g *graph.Graph, opts Options, sink *externalSink) (*onnxpb.ModelProto, error) {
	gp := &onnxpb.GraphProto{Name: proto.String(g.Name)}
	for _, v := range g.Inputs() {
		gp.Input = append(gp.Input, valueInfo(v))
	}
	for _, v := range g.Outputs() {
		gp.Output = append(gp.Output, valueInfo(v))
	}
	inlineBytes := int64(0)
	for _, v := range g.Initializers() {
		t, err := initializerProto(v, opts, sink, &inlineBytes)
		if err != nil {
			return nil, err
		}
		gp.Initializer = append(gp.Initializer, t)
		if opts.KeepStoredDType && (v.DType == graph.BFloat16 || v.DType == graph.Float16) {
			gp.Input = append(gp.Input, valueInfo(v))
		}
	}
	for _, n := range executionOrder(g) {
		np, err := nodeProto(n)
		if err != nil {
			return nil, err
		}
		gp.Node = append(gp.Node, np)
	}
	m := &onnxpb.ModelProto{
		IrVersion:       proto.Int64(opts.IRVersion),
		ProducerName:    proto.String("nrgraph"),
		ProducerVersion: proto.String(Version),
		OpsetImport:     opsetImports(g, opts.Opset),
		Graph:           gp,
	}
	if opts.DocString != "" {
		m.DocString = proto.String(opts.DocString)
	}
	for _, k := range slices.Sorted(maps.Keys(opts.Metadata)) {
		m.MetadataProps = append(m.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(opts.Metadata[k])})
	}
	return m, nil
}

// opsetImports imports the default domain at opset, and ONNX Runtime's
// contrib domain (version 1) when a node uses one of its ops.
func opsetImports(g *graph.Graph, opset int64) []*onnxpb.OperatorSetIdProto {
	imports := []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opset)}}
	for _, n := range g.Nodes() {
		if graph.OpDomain(n.Op) == graph.MicrosoftDomain {
			return append(imports, &onnxpb.OperatorSetIdProto{Domain: proto.String(graph.MicrosoftDomain), Version: proto.Int64(1)})
		}
	}
	return imports
}

// executionOrder lists the nodes to write: only those an output needs
// (ONNX Runtime runs unread nodes too; graph.LiveNodes says what that
// cost), the nodes reading nothing but graph inputs and initializers
// first, then the rest in build order.
//
// Why sources first: ONNX Runtime (1.24, default order) schedules by a
// depth-first walk from the outputs that explores a node's inputs highest
// file position first, and a node with no computed inputs, such as the
// float32 Cast of a frozen bf16 weight, runs as soon as the walk reaches
// it. The backward pass's casts come after the gradient they multiply
// (the rule runs once that gradient exists), so they ran before that
// gradient's whole subgraph: the FFN gate's 128 MB cast at Gemma-2B was
// alive through the down projection's and the GELU's backward, two
// weight casts at a time. Listed first, a cast is reached last among its
// reader's inputs and runs just before the reader.
func executionOrder(g *graph.Graph) []*graph.Node {
	live := g.LiveNodes()
	var sources, rest []*graph.Node
	for _, n := range live {
		source := true
		for _, in := range n.Inputs {
			source = source && (in == nil || in.Producer == nil)
		}
		if source {
			sources = append(sources, n)
		} else {
			rest = append(rest, n)
		}
	}
	return append(sources, rest...)
}

// Version is stamped into exported models as producer_version.
var Version = "0.1.0-dev"

func valueInfo(v *graph.Value) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range v.Shape {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		if n, ok := d.Size(); ok {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: n}
		} else {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d.String()}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(v.Name()),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(v.DType)),
			Shape:    shape,
		}}},
	}
}

func tensorProto(name string, d *graph.Data) (*onnxpb.TensorProto, error) {
	raw, err := d.Bytes()
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	t := &onnxpb.TensorProto{Dims: append([]int64(nil), d.Dims...), DataType: proto.Int32(int32(d.DType)), RawData: raw}
	if name != "" {
		t.Name = proto.String(name)
	}
	if t.RawData == nil {
		t.RawData = []byte{}
	}
	return t, nil
}

func initializerProto(v *graph.Value, opts Options, sink *externalSink, inlineBytes *int64) (*onnxpb.TensorProto, error) {
	d := v.Init
	size := d.NumBytes()
	// A region of a file already inside the model's directory (a build's
	// shared int8 weights) is referenced whatever its size: inlining it
	// would store its bytes twice.
	external := sink != nil && opts.ExternalThreshold >= 0 &&
		(size >= opts.ExternalThreshold || *inlineBytes+size > protobufLimit/2 || d.File != nil && sink.inside(d.File.Path))
	if !external {
		*inlineBytes += size
		return tensorProto(v.Name(), d)
	}
	t := &onnxpb.TensorProto{
		Name:         proto.String(v.Name()),
		Dims:         append([]int64(nil), d.Dims...),
		DataType:     proto.Int32(int32(d.DType)),
		DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(),
	}
	var location string
	var offset int64
	if d.File != nil {
		// Reference the weights where they already are. ORT requires the
		// location to resolve inside the model directory (symlinks are
		// followed and rejected), so a file elsewhere is hard-linked in.
		location = sink.locate(d.File.Path)
		offset = d.File.Offset
	} else {
		// Align each tensor to 64 bytes so runtimes can mmap it aligned.
		for sink.buf.Len()%64 != 0 {
			sink.buf.WriteByte(0)
		}
		offset = int64(sink.buf.Len())
		if _, err := d.WriteTo(sink.buf); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", v.Name(), err)
		}
		location = sink.dataName
	}
	t.ExternalData = []*onnxpb.StringStringEntryProto{
		{Key: proto.String("location"), Value: proto.String(location)},
		{Key: proto.String("offset"), Value: proto.String(fmt.Sprint(offset))},
		{Key: proto.String("length"), Value: proto.String(fmt.Sprint(size))},
	}
	return t, nil
}

// relative is path relative to the model's directory, if it lies inside it.
func (s *externalSink) relative(path string) (string, bool) {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	modelAbs, _ := filepath.Abs(s.modelDir)
	if rel, err := filepath.Rel(modelAbs, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel), true
	}
	return "", false
}

func (s *externalSink) inside(path string) bool {
	_, ok := s.relative(path)
	return ok
}

func (s *externalSink) locate(path string) string {
	if rel, ok := s.relative(path); ok {
		return rel
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	// Distinct names for distinct targets: a short hash of the full path.
	link := fmt.Sprintf("weights/%s-%08x", filepath.Base(abs), fnv32(abs))
	s.links[link] = abs
	return link
}

// linkWeights makes dst a hard link to src (no copy of multi-GB weights);
// across filesystems, where hard links are impossible, it copies.
func linkWeights(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if a, err := os.Stat(src); err == nil {
		if b, err := os.Stat(dst); err == nil && os.SameFile(a, b) {
			return nil
		}
	}
	_ = os.Remove(dst)
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("external weights: %w", err)
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("external weights: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return fmt.Errorf("copy external weights %s: %w", src, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	out.Close()
	return os.Rename(tmp, dst)
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

func nodeProto(n *graph.Node) (*onnxpb.NodeProto, error) {
	np := &onnxpb.NodeProto{OpType: proto.String(n.Op), Name: proto.String(n.Name)}
	if d := graph.OpDomain(n.Op); d != "" {
		np.Domain = proto.String(d)
	}
	for _, in := range n.Inputs {
		if in == nil {
			np.Input = append(np.Input, "")
		} else {
			np.Input = append(np.Input, in.Name())
		}
	}
	for _, out := range n.Outputs {
		np.Output = append(np.Output, out.Name())
	}
	for _, k := range slices.Sorted(maps.Keys(n.Attrs)) {
		a, err := attrProto(k, n.Attrs[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		np.Attribute = append(np.Attribute, a)
	}
	return np, nil
}

func attrProto(name string, v any) (*onnxpb.AttributeProto, error) {
	a := &onnxpb.AttributeProto{Name: proto.String(name)}
	switch x := v.(type) {
	case int64:
		a.Type, a.I = onnxpb.AttributeProto_INT.Enum(), proto.Int64(x)
	case float32:
		a.Type, a.F = onnxpb.AttributeProto_FLOAT.Enum(), proto.Float32(x)
	case string:
		a.Type, a.S = onnxpb.AttributeProto_STRING.Enum(), []byte(x)
	case []int64:
		a.Type, a.Ints = onnxpb.AttributeProto_INTS.Enum(), x
	case []float32:
		a.Type, a.Floats = onnxpb.AttributeProto_FLOATS.Enum(), x
	case *graph.Data:
		t, err := tensorProto("", x)
		if err != nil {
			return nil, err
		}
		a.Type, a.T = onnxpb.AttributeProto_TENSOR.Enum(), t
	default:
		return nil, fmt.Errorf("attribute %q has unsupported type %T", name, v)
	}
	return a, nil
}
