package models

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand"
	"sort"
	"strings"

	"github.com/nrgraph/nrgraph/graph"
)

// The extension methods of the paper (Section 3, Section 4.1 baselines,
// ablations of Tables 4-6 and 9) are options of one mechanism: a GLU
// adapter beside each frozen FFN with an optional block gate and local
// loss, or LoRA on the FFN matrices, or plain finetuning.

// Method is an extension method; its value is the --method name.
type Method string

// The methods.
const (
	NeutralResidues Method = "neutral-residues"
	SigmoidGate     Method = "sigmoid-gate"
	Adapters        Method = "adapters"
	LoRA            Method = "lora"
	Finetune        Method = "finetune"
)

// Methods lists every method in the order of the paper's tables.
var Methods = []Method{Finetune, LoRA, Adapters, SigmoidGate, NeutralResidues}

// Init is how the adapter's input and gate matrices are initialised.
type Init string

// The initialisations.
const (
	// InitLowVar draws N(0, 1/(d·L)): the paper's (Section 3.2).
	InitLowVar Init = "lowvar"
	// InitHe draws N(0, 2/d): vanilla adapters.
	InitHe Init = "he"
	// InitNone: the method has no adapter matrices (LoRA, finetuning).
	InitNone Init = ""
)

// Gate is the block gate that scales each adapter's output.
type Gate string

// The gates.
const (
	GateReLU    Gate = "relu"
	GateSigmoid Gate = "sigmoid"
	GateNone    Gate = "none"
)

// LocalLoss is the auxiliary loss on adapter outputs or gates.
type LocalLoss string

// The local losses.
const (
	// LocalLossL1 pushes adapter outputs of original-domain tokens to zero.
	LocalLossL1 LocalLoss = "l1"
	// LocalLossCE trains a sigmoid gate as a per-layer domain classifier.
	LocalLossCE   LocalLoss = "ce"
	LocalLossNone LocalLoss = "none"
)

func joinNames[T ~string](names []T) string {
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = string(n)
	}
	return strings.Join(s, ", ")
}

// ExtensionConfig selects a method and its knobs.
type ExtensionConfig struct {
	Method Method
	// Capacity is the fraction of backbone parameters added (paper: 0.2).
	Capacity float64
	// Alpha weighs the local loss (paper: 0.01).
	Alpha     float64
	Init      Init
	Gate      Gate
	LocalLoss LocalLoss
	// LoRAAlpha sets LoRA's scaling α/r (0: α = r, scaling 1).
	LoRAAlpha float64
	// Seed for initialisation.
	Seed int64
	// GatesOff builds the extended model with every adapter switched off:
	// exactly the backbone (the provable-neutrality switch).
	GatesOff bool
	// NewTokens is how many tokens vocabulary extension appends after the
	// backbone's vocab_size (0: none), each with a trainable embedding row
	// and, untied, an output row; they count in Capacity.
	NewTokens int `json:",omitempty"`
}

// DefaultExtension returns the method's preset (the paper's settings);
// callers override knobs for ablations.
func DefaultExtension(method Method) (ExtensionConfig, error) {
	e := ExtensionConfig{Method: method, Capacity: 0.2, Alpha: 0.01, Seed: 1}
	switch method {
	case NeutralResidues:
		e.Init, e.Gate, e.LocalLoss = InitLowVar, GateReLU, LocalLossL1
	case SigmoidGate:
		e.Init, e.Gate, e.LocalLoss = InitLowVar, GateSigmoid, LocalLossCE
	case Adapters:
		e.Init, e.Gate, e.LocalLoss = InitHe, GateNone, LocalLossNone
	case LoRA, Finetune:
		e.Init, e.Gate, e.LocalLoss = InitNone, GateNone, LocalLossNone
	default:
		return e, fmt.Errorf("unknown method %q (want one of %s)", method, joinNames(Methods))
	}
	return e, nil
}

// Validate checks the knob combination.
func (e ExtensionConfig) Validate() error {
	if e.Method != LoRA && e.Method != Finetune && !e.usesAdapter() {
		return fmt.Errorf("unknown method %q", e.Method)
	}
	if e.usesAdapter() || e.Method == LoRA {
		if e.Capacity <= 0 || e.Capacity > 4 {
			return fmt.Errorf("capacity %g out of range (0, 4]", e.Capacity)
		}
	}
	if e.usesAdapter() {
		if e.Init != InitLowVar && e.Init != InitHe {
			return fmt.Errorf("init %q: want lowvar or he", e.Init)
		}
		if e.Gate != GateReLU && e.Gate != GateSigmoid && e.Gate != GateNone {
			return fmt.Errorf("gate %q: want relu, sigmoid or none", e.Gate)
		}
		switch e.LocalLoss {
		case LocalLossNone, LocalLossL1:
		case LocalLossCE:
			if e.Gate != GateSigmoid {
				return fmt.Errorf("local loss ce trains the gate as a classifier and needs --gate sigmoid (got %q)", e.Gate)
			}
		default:
			return fmt.Errorf("local loss %q: want l1, ce or none", e.LocalLoss)
		}
	} else if e.LocalLoss != LocalLossNone && e.LocalLoss != "" {
		return fmt.Errorf("method %s has no adapters for a local loss", e.Method)
	}
	if e.Alpha < 0 {
		return fmt.Errorf("alpha %g must be >= 0", e.Alpha)
	}
	if e.NewTokens < 0 {
		return fmt.Errorf("%d new tokens: want 0 (no vocabulary extension) or more", e.NewTokens)
	}
	return nil
}

func (e ExtensionConfig) usesAdapter() bool {
	return e.Method == NeutralResidues || e.Method == SigmoidGate || e.Method == Adapters
}

// AdapterHidden is the GLU adapter's hidden size for a capacity c:
// per layer the adapter adds 3·d·h weights (input, gate, output) plus the
// block gate's d (+1 bias), so h = round((c·P/L − d − 1) / (3d)), P the
// backbone's parameter count. Returns at least 1.
func AdapterHidden(m Config, capacity float64) int {
	d := float64(m.Hidden)
	h := math.Round((capacity*float64(m.NumParams())/float64(m.Layers) - d - 1) / (3 * d))
	return max(1, int(h))
}

// LoRARank is LoRA's rank for a capacity c: LoRA on gate, up and down adds
// 3·r·(d + F) per layer, so r = round(c·P / (3·L·(d + F))). At least 1.
func LoRARank(m Config, capacity float64) int {
	r := math.Round(capacity * float64(m.NumParams()) / float64(3*m.Layers*(m.Hidden+m.Intermediate)))
	return max(1, int(r))
}

// Extender implements Extension for one ExtensionConfig; after the forward
// graph is built it holds the new parameters and per-layer gate/adapter
// outputs for the losses and metrics.
type Extender struct {
	Ext    ExtensionConfig
	Model  Config
	Hidden int // adapter hidden size (adapter methods)
	Rank   int // LoRA rank
	// Params are the extension's trainable tensors (graph inputs) in
	// creation order; Init holds their initial values.
	Params []*graph.Value
	Init   map[string]*graph.Data
	// Per layer: gate values [batch, seq, 1] (nil without a gate), gate
	// logits (sigmoid gate), and gated adapter outputs [batch, seq, d].
	Gates, GateLogits, Outputs []*graph.Value
	// baked holds inference values: parameters become initializers.
	baked map[string]*graph.Data
}

// NewExtender validates e for model m.
func NewExtender(e ExtensionConfig, m Config) (*Extender, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	x := &Extender{Ext: e, Model: m, Init: map[string]*graph.Data{}}
	capacity, err := e.blockCapacity(m)
	if err != nil {
		return nil, err
	}
	if e.usesAdapter() {
		x.Hidden = AdapterHidden(m, capacity)
	}
	if e.Method == LoRA {
		x.Rank = LoRARank(m, capacity)
	}
	return x, nil
}

// blockCapacity is the part of Capacity left for adapters or LoRA once
// vocabulary extension's new rows are counted: the total added stays
// Capacity of the backbone, so runs with and without extension compare at
// the same budget.
func (e ExtensionConfig) blockCapacity(m Config) (float64, error) {
	if e.NewTokens == 0 || !e.usesAdapter() && e.Method != LoRA {
		return e.Capacity, nil
	}
	rows, total := VocabRowParams(m, e.NewTokens), float64(m.NumParams())
	left := e.Capacity - float64(rows)/total
	// Adapters or LoRA need at least a tenth of what the extension takes.
	if left*total < 0.1*float64(rows) {
		return 0, fmt.Errorf("--extend-vocab %d adds %d parameters (%.1f%% of the backbone), leaving too little of --capacity %g for the %s blocks: raise --capacity or lower --extend-vocab",
			e.NewTokens, rows, 100*float64(rows)/total, e.Capacity, e.Method)
	}
	return left, nil
}

// AddedParams counts the extension's parameters (finetune: only the
// vocabulary extension's rows).
func (x *Extender) AddedParams() int64 {
	d, f, L := int64(x.Model.Hidden), int64(x.Model.Intermediate), int64(x.Model.Layers)
	switch {
	case x.Ext.usesAdapter():
		gate := int64(0)
		if x.Ext.Gate != GateNone {
			gate = d + 1
		}
		return L*(3*d*int64(x.Hidden)+gate) + x.vocabRows()
	case x.Ext.Method == LoRA:
		return L*3*int64(x.Rank)*(d+f) + x.vocabRows()
	}
	return x.vocabRows()
}

func (x *Extender) vocabRows() int64 { return VocabRowParams(x.Model, x.Ext.NewTokens) }

// param declares a trainable extension tensor with its initial value:
// N(0, variance) (or zeros when variance is 0), or Kaiming-uniform
// U(±bound) when uniformBound > 0. Values derive from the seed and the
// name only, so a rebuild reproduces them exactly.
func (x *Extender) param(g *graph.Graph, dt graph.DType, name string, shape []int64, variance, uniformBound float64) *graph.Value {
	n := graph.NumElements(shape)
	h := fnv.New64a()
	h.Write([]byte(name))
	seed := x.Ext.Seed ^ int64(h.Sum64())
	return x.declare(g, dt, name, shape, func() ([]byte, error) {
		r := rand.New(rand.NewSource(seed))
		raw := make([]byte, 4*n)
		for i := int64(0); i < n; i++ {
			v := 0.0
			switch {
			case uniformBound > 0:
				v = (2*r.Float64() - 1) * uniformBound
			case variance > 0:
				v = r.NormFloat64() * math.Sqrt(variance)
			}
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(v)))
		}
		return raw, nil
	})
}

// declare adds a trainable extension tensor, initialised by init (float32
// bytes, made on first use: building a graph for a multi-billion-parameter
// backbone must not draw hundreds of millions of numbers), or in inference
// graphs its baked value.
func (x *Extender) declare(g *graph.Graph, dt graph.DType, name string, shape []int64, init func() ([]byte, error)) *graph.Value {
	if v, ok := g.Lookup(name); ok {
		return v
	}
	if x.baked != nil {
		d, ok := x.baked[name]
		if !ok {
			panic(&graph.Error{Op: "Extension", Node: name, Err: fmt.Errorf("no trained value for %q", name)})
		}
		return graph.Cast(g.Initializer(name, d), dt)
	}
	v := g.Input(name, dt, graph.StaticShape(shape))
	x.Params = append(x.Params, v)
	x.Init[name] = graph.LazyData(graph.Float32, shape, init)
	return v
}

// inVariance is the variance of the adapter's input and gate matrices.
func (x *Extender) inVariance() float64 {
	d := float64(x.Model.Hidden)
	if x.Ext.Init == InitHe {
		return 2 / d
	}
	return 1 / (d * float64(x.Model.Layers))
}

// Linear implements Extension: LoRA adds (α/r)·x·Aᵀ·Bᵀ to the FFN
// projections (A Kaiming-uniform, B zero, so the model is unchanged at init).
func (x *Extender) Linear(b *BlockContext, name string, in, y *graph.Value) *graph.Value {
	if x.Ext.Method != LoRA || x.Ext.GatesOff || !strings.Contains(name, ".mlp.") {
		return y
	}
	base := strings.TrimSuffix(name, ".weight")
	inDim := in.Shape[in.Rank()-1].MustStatic()
	outDim := y.Shape[y.Rank()-1].MustStatic()
	r := int64(x.Rank)
	// PEFT's default init: kaiming_uniform_(a=sqrt(5)) -> bound 1/sqrt(in).
	a := x.param(b.G, b.DType, base+".lora_A.weight", []int64{r, inDim}, 0, 1/math.Sqrt(float64(inDim)))
	bm := x.param(b.G, b.DType, base+".lora_B.weight", []int64{outDim, r}, 0, 0)
	alpha := x.Ext.LoRAAlpha
	if alpha == 0 {
		alpha = float64(r)
	}
	delta := Linear(Linear(in, a, r), bm, outDim)
	return graph.Add(y, graph.Mul(delta, graph.ScalarLike(delta, alpha/float64(r))))
}

// FFN implements Extension: ffnOut + gate(x) · W_out(σ(W_gate x) ⊙ W_in x),
// the GLU adapter in parallel with the frozen FFN (paper Figure 2).
func (x *Extender) FFN(b *BlockContext, ffnIn, ffnOut *graph.Value) *graph.Value {
	if !x.Ext.usesAdapter() || x.Ext.GatesOff {
		return ffnOut
	}
	d, h := int64(x.Model.Hidden), int64(x.Hidden)
	p := fmt.Sprintf("model.layers.%d.adapter.", b.Layer)
	v := x.inVariance()
	wIn := x.param(b.G, b.DType, p+"w_in.weight", []int64{h, d}, v, 0)
	wGate := x.param(b.G, b.DType, p+"w_gate.weight", []int64{h, d}, v, 0)
	wOut := x.param(b.G, b.DType, p+"w_out.weight", []int64{d, h}, 0, 0)
	hidden := graph.Mul(Activation(x.Model.Act, Linear(ffnIn, wGate, h)), Linear(ffnIn, wIn, h))
	out := Linear(hidden, wOut, d)
	switch x.Ext.Gate {
	case GateReLU, GateSigmoid:
		gw := x.param(b.G, b.DType, p+"block_gate.weight", []int64{1, d}, v, 0)
		gb := x.param(b.G, b.DType, p+"block_gate.bias", []int64{1}, 0, 0)
		logit := graph.Add(Linear(ffnIn, gw, 1), gb) // [batch, seq, 1]
		var gate *graph.Value
		if x.Ext.Gate == GateReLU {
			gate = graph.Relu(logit)
		} else {
			gate = graph.Sigmoid(logit)
		}
		x.Gates = append(x.Gates, gate)
		x.GateLogits = append(x.GateLogits, logit)
		out = graph.Mul(out, gate)
	}
	x.Outputs = append(x.Outputs, out)
	return graph.Add(ffnOut, out)
}

// LocalLoss is the method's auxiliary loss (nil when there is none).
// domain is float [batch]: 1 for original-domain sequences, 0 for new.
// tokenMask is float [batch, seq] (1 for real tokens); counts are the
// token counts the means divide by (of the whole optimizer batch).
//
//	l1: mean over layers of Σ|a| / (d · #original-domain tokens): only
//	    original-domain tokens are pushed towards neutral outputs.
//	ce: mean over layers and all tokens of BCE(gate, new-domain), the gate
//	    as a per-layer domain classifier.
func (x *Extender) LocalLoss(domain, tokenMask *graph.Value, counts TokenCounts) *graph.Value {
	if len(x.Outputs) == 0 {
		return nil
	}
	dt := x.Outputs[0].DType
	mask := graph.Cast(tokenMask, dt)
	dom := graph.Unsqueeze(graph.Cast(domain, dt), 1) // [batch, 1]
	var total *graph.Value
	add := func(v *graph.Value) {
		if total == nil {
			total = v
		} else {
			total = graph.Add(total, v)
		}
	}
	switch x.Ext.LocalLoss {
	case LocalLossL1:
		origMask := graph.Mul(mask, dom) // [batch, seq]
		for _, out := range x.Outputs {
			perToken := graph.ReduceMean(graph.Abs(out), []int{-1}, false) // Σ|a|/d
			add(PerToken(MaskedSum(perToken, origMask), counts.Orig))
		}
	case LocalLossCE:
		target := graph.Sub(graph.ScalarLike(dom, 1), dom) // 1: new domain (adapter on)
		tokens := counts.All()
		for _, z := range x.GateLogits {
			z2 := graph.Squeeze(z, 2) // [batch, seq]
			// BCE with logits, stable: softplus(z) - y·z, softplus(z) = relu(z) + log(1 + exp(-|z|)).
			softplus := graph.Add(graph.Relu(z2), graph.Log(graph.Add(graph.ScalarLike(z2, 1), graph.Exp(graph.Neg(graph.Abs(z2))))))
			add(PerToken(MaskedSum(graph.Sub(softplus, graph.Mul(target, z2)), mask), tokens))
		}
	default:
		return nil
	}
	return graph.Div(total, graph.ScalarLike(total, float64(len(x.Outputs))))
}

// ParamNames lists the extension's parameter names, sorted.
func (x *Extender) ParamNames() []string {
	names := make([]string, 0, len(x.Params))
	for _, p := range x.Params {
		names = append(names, p.Name())
	}
	sort.Strings(names)
	return names
}
