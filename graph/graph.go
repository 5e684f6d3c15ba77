// Package graph is nrgraph's intermediate representation: typed tensors with
// static or symbolic shapes, nodes that are standard ONNX operators, and the
// builders, shape inference, reverse-mode differentiation and optimizer
// updates that turn a model into a whole ONNX training step.
//
// Error convention (as in GoMLX): graph-building functions panic with an
// *Error that names the node, the op and where in the caller's code it was
// created; Build (or Graph.Try) recovers and returns it as an error.
// Everything that touches files or data returns errors.
package graph

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
)

// Graph is an append-only list of nodes: a node's index is its topological
// position, so the backward pass is a reverse loop over indices.
type Graph struct {
	Name   string
	nodes  []*Node
	values []*Value
	// inputs, outputs and initializers in declaration order (the ONNX file
	// lists them in this order, which keeps exports byte-identical).
	inputs       []*Value
	outputs      []*Value
	initializers []*Value
	names        map[string]*Value
	nodeNames    map[string]bool
	// symbolSizes caches, per symbolic dim name, the Shape node reading
	// its size from a graph input (see symbolSize).
	symbolSizes map[string]*Value
	// shapeTensors caches built shape vectors by their symbolic shape.
	shapeTensors map[string]*Value
	// remat holds the backward-pass recomputations of the Grad call in
	// progress (remat.go); nil outside Grad.
	remat rematerializer
}

// New returns an empty graph.
func New(name string) *Graph {
	return &Graph{Name: name, names: map[string]*Value{}, nodeNames: map[string]bool{}}
}

// Value is a tensor flowing through the graph: a graph input, an
// initializer (weight), or a node output.
type Value struct {
	g        *Graph
	id       int
	name     string
	autoName bool // named by the builder; free to rename when it becomes an output
	DType    DType
	Shape    Shape
	// Producer is the node computing this value; nil for inputs and initializers.
	Producer *Node
	// OutIndex is this value's position among Producer's outputs.
	OutIndex int
	// Init holds the data of an initializer.
	Init *Data
	// known is the symbolic content of a small 1-D int64 tensor (the result
	// of Shape, a shape constant, or arithmetic on those). It lets Reshape
	// and Expand infer exact output shapes from runtime-computed shapes.
	known []Dim
	// stopGradient marks values that Grad treats as constants.
	stopGradient bool
	// inSegment marks values a Recompute segment computes from its input
	// (checkpoint.go): the backward pass reads their recomputed copies.
	inSegment bool
}

// Graph returns the graph the value belongs to.
func (v *Value) Graph() *Graph { return v.g }

// Name is the value's ONNX name.
func (v *Value) Name() string { return v.name }

// ID is the creation index of the value (unique per graph).
func (v *Value) ID() int { return v.id }

// Rank is the number of dims.
func (v *Value) Rank() int { return len(v.Shape) }

// IsInput reports whether v is a graph input.
func (v *Value) IsInput() bool { return v.Producer == nil && v.Init == nil }

// IsInitializer reports whether v is an initializer.
func (v *Value) IsInitializer() bool { return v.Init != nil }

// Known returns the symbolic content of a small int64 vector when the
// builder could track it (see Value.known).
func (v *Value) Known() ([]Dim, bool) { return v.known, v.known != nil }

func (v *Value) String() string {
	return fmt.Sprintf("%s:%s%s", v.name, v.DType, v.Shape)
}

// Node is one ONNX operator application.
type Node struct {
	ID      int
	Op      string
	Name    string
	Inputs  []*Value // nil entries are omitted optional inputs
	Outputs []*Value
	Attrs   Attrs
	// Where is the caller's file:line that created the node, for errors.
	Where string
	// composite is set on the node computing a composite's output (e.g.
	// SiLU): Grad then uses the composite's rule, not this op's.
	composite *composite
	// segment is set on the node computing a Recompute segment's output.
	segment *segment
}

func (n *Node) String() string {
	return fmt.Sprintf("node %s (%s, created at %s)", n.Name, n.Op, n.Where)
}

// Attrs are ONNX node attributes. Allowed value types: int64, float32,
// string, []int64, []float32, *Data (a tensor).
type Attrs map[string]any

// Int returns an int attribute or def.
func (a Attrs) Int(name string, def int64) int64 {
	if v, ok := a[name].(int64); ok {
		return v
	}
	return def
}

// Float returns a float attribute or def.
func (a Attrs) Float(name string, def float32) float32 {
	if v, ok := a[name].(float32); ok {
		return v
	}
	return def
}

// Ints returns an ints attribute, or nil.
func (a Attrs) Ints(name string) []int64 {
	v, _ := a[name].([]int64)
	return v
}

// String returns a string attribute or def.
func (a Attrs) String(name, def string) string {
	if v, ok := a[name].(string); ok {
		return v
	}
	return def
}

// Error is a graph-building error: it names the node (when there is one)
// and where the caller created it.
type Error struct {
	Op    string
	Node  string
	Where string
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		fmt.Fprintf(&b, "%s", e.Op)
		if e.Node != "" {
			fmt.Fprintf(&b, " node %s", e.Node)
		}
		if e.Where != "" {
			fmt.Fprintf(&b, " (at %s)", e.Where)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// fail panics with a graph-building error; Try/Build recover it.
func fail(op, node string, format string, args ...any) {
	panic(&Error{Op: op, Node: node, Where: callerOutsideGraph(), Err: fmt.Errorf(format, args...)})
}

// Try runs fn and converts a graph-building panic into an error. Other
// panics propagate.
func Try(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if ge, ok := r.(*Error); ok {
				err = ge
				return
			}
			panic(r)
		}
	}()
	fn()
	return nil
}

// Build creates a graph and runs fn on it, returning builder errors.
func Build(name string, fn func(g *Graph)) (*Graph, error) {
	g := New(name)
	if err := Try(func() { fn(g) }); err != nil {
		return nil, err
	}
	return g, nil
}

// callerOutsideGraph returns the file:line of the first stack frame outside
// this package (tests of this package count as outside).
func callerOutsideGraph() string {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(2, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		inGraph := strings.Contains(f.Function, "nrgraph/graph.") && !strings.HasSuffix(f.File, "_test.go")
		if !inGraph && !strings.HasPrefix(f.Function, "runtime.") {
			file := f.File
			if i := strings.LastIndex(file, "/"); i >= 0 {
				file = file[i+1:]
			}
			return fmt.Sprintf("%s:%d", file, f.Line)
		}
		if !more {
			return "?"
		}
	}
}

// newValue registers a value; name "" means an automatic name.
func (g *Graph) newValue(name string, dt DType, shape Shape) *Value {
	v := &Value{g: g, id: len(g.values), DType: dt, Shape: shape}
	if name == "" {
		// A file read back may already use "v<id>" for another value (an
		// export leaves out unread nodes, graph.LiveNodes, so ids shift).
		v.autoName = true
		name = fmt.Sprintf("v%d", v.id)
		for i := 0; g.names[name] != nil; i++ {
			name = fmt.Sprintf("v%d_%d", v.id, i)
		}
	}
	if _, dup := g.names[name]; dup {
		fail("", "", "duplicate tensor name %q", name)
	}
	v.name = name
	g.names[name] = v
	g.values = append(g.values, v)
	return v
}

// Input declares a graph input.
func (g *Graph) Input(name string, dt DType, shape Shape) *Value {
	if name == "" {
		fail("Input", "", "graph input needs a name")
	}
	if !dt.Valid() {
		fail("Input", name, "unsupported dtype %s", dt)
	}
	v := g.newValue(name, dt, shape.Clone())
	g.inputs = append(g.inputs, v)
	return v
}

// Initializer declares a weight with its data; the data's dims must be
// static and define the shape.
func (g *Graph) Initializer(name string, data *Data) *Value {
	if name == "" {
		fail("Initializer", "", "initializer needs a name")
	}
	v := g.newValue(name, data.DType, StaticShape(data.Dims))
	v.Init = data
	g.initializers = append(g.initializers, v)
	return v
}

// Output marks v as a graph output called name. An automatically named
// value is renamed; otherwise an Identity node carries the new name.
func (g *Graph) Output(name string, v *Value) *Value {
	g.checkOwn("Output", v)
	if existing, ok := g.names[name]; ok && existing != v {
		fail("Output", name, "name %q is already used by another tensor", name)
	}
	out := v
	switch {
	case v.name == name:
	case v.autoName && v.Producer != nil:
		delete(g.names, v.name)
		v.name, v.autoName = name, false
		g.names[name] = v
	default:
		out = g.addNodeNamed("Identity", []*Value{v}, nil, name)[0]
	}
	for _, o := range g.outputs {
		if o == out {
			fail("Output", name, "%q is already a graph output", name)
		}
	}
	g.outputs = append(g.outputs, out)
	return out
}

// Nodes returns the nodes in topological (creation) order.
func (g *Graph) Nodes() []*Node { return g.nodes }

// Inputs returns the graph inputs in declaration order.
func (g *Graph) Inputs() []*Value { return g.inputs }

// Outputs returns the graph outputs in declaration order.
func (g *Graph) Outputs() []*Value { return g.outputs }

// Initializers returns the initializers in declaration order.
func (g *Graph) Initializers() []*Value { return g.initializers }

// Lookup finds a value by name.
func (g *Graph) Lookup(name string) (*Value, bool) {
	v, ok := g.names[name]
	return v, ok
}

func (g *Graph) checkOwn(op string, vs ...*Value) {
	for _, v := range vs {
		if v != nil && v.g != g {
			fail(op, "", "tensor %s belongs to graph %q, not %q", v.name, v.g.Name, g.Name)
		}
	}
}

// graphOf returns the graph of the first non-nil value.
func graphOf(op string, vs ...*Value) *Graph {
	for _, v := range vs {
		if v != nil {
			return v.g
		}
	}
	fail(op, "", "no input tensors")
	return nil
}

// AddNode appends a node of any registered op and infers its outputs. It is
// the generic path used by the ONNX reader; builders call it too.
func (g *Graph) AddNode(op string, inputs []*Value, attrs Attrs) []*Value {
	return g.addNodeNamed(op, inputs, attrs, "")
}

func (g *Graph) addNodeNamed(op string, inputs []*Value, attrs Attrs, outName string) []*Value {
	g.checkOwn(op, inputs...)
	def, ok := opTable[op]
	if !ok {
		fail(op, "", "%w %q (supported: %s)", ErrUnknownOp, op, strings.Join(SupportedOps(), ", "))
	}
	if attrs == nil {
		attrs = Attrs{}
	}
	n := &Node{ID: len(g.nodes), Op: op, Inputs: inputs, Attrs: attrs, Where: callerOutsideGraph()}
	n.Name = fmt.Sprintf("n%d_%s", n.ID, op)
	if len(inputs) < def.minInputs || (def.maxInputs >= 0 && len(inputs) > def.maxInputs) {
		fail(op, n.Name, "takes %d..%d inputs, got %d", def.minInputs, def.maxInputs, len(inputs))
	}
	for i, in := range inputs {
		if in == nil && i < def.minInputs {
			fail(op, n.Name, "required input %d is missing", i)
		}
	}
	outs, err := def.infer(n)
	if err != nil {
		panic(&Error{Op: op, Node: n.Name, Where: n.Where, Err: fmt.Errorf("%w (inputs: %s)", err, describeInputs(inputs))})
	}
	for i, o := range outs {
		name := ""
		if i == 0 {
			name = outName
		}
		v := g.newValue(name, o.dtype, o.shape)
		v.Producer, v.OutIndex, v.known = n, i, o.known
		n.Outputs = append(n.Outputs, v)
	}
	g.nodes = append(g.nodes, n)
	return n.Outputs
}

func describeInputs(inputs []*Value) string {
	parts := make([]string, len(inputs))
	for i, v := range inputs {
		if v == nil {
			parts[i] = "<none>"
		} else {
			parts[i] = v.String()
		}
	}
	return strings.Join(parts, ", ")
}

// ErrUnknownOp is wrapped by errors about ops the IR does not know.
var ErrUnknownOp = errors.New("unknown op")

// StopGradient returns x marked so that Grad treats it as a constant.
func StopGradient(x *Value) *Value {
	y := Identity(x)
	y.stopGradient = true
	return y
}

// Rename gives v a new unique name (the ONNX reader restores file names
// this way so a round trip is lossless).
func (g *Graph) Rename(v *Value, name string) {
	g.checkOwn("Rename", v)
	if v.name == name {
		return
	}
	if other, dup := g.names[name]; dup {
		if !other.autoName {
			fail("", "", "duplicate tensor name %q", name)
		}
		// An automatic name is free to move out of the way.
		fresh := name
		for i := 0; g.names[fresh] != nil; i++ {
			fresh = fmt.Sprintf("%s_%d", name, i)
		}
		other.name = fresh
		g.names[fresh] = other
	}
	delete(g.names, v.name)
	v.name, v.autoName = name, false
	g.names[name] = v
}

// MarkOutput appends v to the outputs under its current name (reader use).
func (g *Graph) MarkOutput(v *Value) {
	g.checkOwn("MarkOutput", v)
	g.outputs = append(g.outputs, v)
}
