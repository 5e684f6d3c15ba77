package models

import (
	"fmt"
	"strings"

	"github.com/nrgraph/nrgraph/graph"
)

// Extra graph inputs of training and scoring graphs.
const (
	// Domain is float32 [batch]: 1 for original-domain (e.g. English)
	// sequences, 0 for new-domain ones. It selects the L1 local loss.
	Domain = "domain"
	// LossMask is float32 [batch, seq]: 1 where the next-token loss counts.
	LossMask = "loss_mask"
)

// Output names of training and scoring graphs.
const (
	LMLossOutput    = "lm_loss"
	LocalLossOutput = "local_loss"
	TargetLogProbs_ = "target_logprobs"  // [batch, seq]
	TargetIsArgmax  = "target_is_argmax" // bool [batch, seq]
)

// Model bundles what a build needs: the backbone and the extension.
type Model struct {
	Config  Config
	Weights Weights
	Ext     ExtensionConfig
	// ComputeDType of activations and trainable tensors (default float32).
	ComputeDType graph.DType
	// HeadChunkRows overrides the training and scoring graphs' LM-head
	// chunk (default HeadChunkRows; tests use small ones).
	HeadChunkRows int
	// Baked, when set, freezes the model for inference: every trainable
	// tensor becomes an initializer holding Baked[name] (trained adapters,
	// finetuned weights), so the graph has no parameter inputs.
	Baked map[string]*graph.Data
	// Packed builds a packed forward (ForwardOptions.Packed).
	Packed bool
	// NewTokenPieces are the vocabulary extension's new tokens (Ext.NewTokens)
	// as ids of the backbone's tokenizer, whose rows initialise theirs
	// (tokenizer.CheckExtension); not needed with Baked.
	NewTokenPieces [][]int
	// Recompute re-runs each block's forward in the training graphs'
	// backward pass instead of holding its activations
	// (ForwardOptions.Recompute; `nrgraph build --recompute`).
	Recompute bool
	// BackbonePrecision of the frozen projections
	// (ForwardOptions.BackbonePrecision; `nrgraph build --backbone-precision`).
	BackbonePrecision BackbonePrecision
	// Int8File shares the int8 weights between the graphs of a build
	// (ForwardOptions.Int8File).
	Int8File *Int8File
	// Seq is the sequence length the training graphs are fed (the build's
	// --seq; 0: not known). With Recompute, their FFNs are computed in
	// chunks of FFNChunkTokens positions (ForwardOptions.FFNChunkTokens).
	Seq int
	// FFNChunkTokens overrides the default FFNChunkTokens (tests use small
	// ones).
	FFNChunkTokens int
}

// FFNChunkTokens is how many positions of a --recompute training graph's
// frozen FFN are recomputed and differentiated at a time: one chunk's
// [tokens, FFN] float32 tensors (Gemma-2B at seq 1024: 16 MiB each, not
// 64) exist at once in the backward pass. Measured on the mid shape at
// seq 1024 (models/decoder.go, recomputedBlock).
const FFNChunkTokens = 256

// Extended is a built forward pass with its extension.
type Extended struct {
	*Forward
	Ext *Extender
	// Trainable lists every trained tensor: the extension's parameters
	// then, for finetuning, the backbone's.
	Trainable []*graph.Value
	// Init holds the initial value of every trainable tensor.
	Init map[string]*graph.Data
}

// BuildExtended adds the extended model's forward pass to g (panics on
// graph errors, as all builders).
func BuildExtended(g *graph.Graph, m Model) *Extended { return buildExtended(g, m, false, false) }

// buildExtended with chunkedHead scores targets over vocabulary chunks
// (ForwardOptions.HeadChunkRows; the training and scoring graphs); train
// builds a training graph's forward (fed m.Seq positions).
func buildExtended(g *graph.Graph, m Model, chunkedHead, train bool) *Extended {
	ext, err := NewExtender(m.Ext, m.Config)
	if err != nil {
		panic(&graph.Error{Op: "Extension", Err: err})
	}
	ext.baked = m.Baked
	opts := ForwardOptions{ComputeDType: m.ComputeDType, Extension: ext, Packed: m.Packed, Recompute: m.Recompute, BackbonePrecision: m.BackbonePrecision, Int8File: m.Int8File}
	if train {
		opts.Seq, opts.FFNChunkTokens = m.Seq, FFNChunkTokens
		if m.FFNChunkTokens > 0 {
			opts.FFNChunkTokens = m.FFNChunkTokens
		}
	}
	if chunkedHead {
		opts.HeadChunkRows = HeadChunkRows
		if m.HeadChunkRows > 0 {
			opts.HeadChunkRows = m.HeadChunkRows
		}
	}
	if m.Ext.NewTokens > 0 {
		dt := m.ComputeDType
		if dt == graph.InvalidDType {
			dt = graph.Float32
		}
		opts.NewRows = func(name, base string) *graph.Value {
			return ext.newRows(g, dt, name, base, m.Weights, m.NewTokenPieces)
		}
	}
	weights := m.Weights
	switch {
	case m.Baked != nil:
		weights = overlay{base: m.Weights, over: m.Baked}
	case m.Ext.Method == Finetune:
		opts.Trainable = func(string) bool { return true }
	}
	f := BuildForward(g, m.Config, weights, opts)
	e := &Extended{Forward: f, Ext: ext, Init: map[string]*graph.Data{}}
	e.Trainable = append(e.Trainable, ext.Params...)
	e.Trainable = append(e.Trainable, f.Trainable...)
	for k, v := range ext.Init {
		e.Init[k] = v
	}
	for _, p := range f.Trainable {
		d, err := m.Weights.Tensor(p.Name())
		if err != nil {
			panic(&graph.Error{Op: "Weights", Node: p.Name(), Err: err})
		}
		e.Init[p.Name()] = d
	}
	return e
}

// objective adds targets/loss-mask/domain inputs and returns the total loss
// (LM loss + α·local loss) with the metric outputs named. Every term is a
// per-token mean; with countsAsInputs its denominators are the count inputs
// (LossTokens, ...) of the whole optimizer batch, so micro-batch losses add
// up to the batch's (see TokenCounts), else they are counted in the graph.
func objective(g *graph.Graph, e *Extended, alpha float64, countsAsInputs bool) (loss *graph.Value, metrics []*graph.Value) {
	targets := g.Input(Targets, graph.Int64, e.InputShape)
	lossMask := g.Input(LossMask, graph.Float32, e.InputShape)
	domain := g.Input(Domain, graph.Float32, graph.S(Batch))
	var counts TokenCounts
	if countsAsInputs {
		counts = countInputs(g)
	} else {
		counts = batchCounts(lossMask, e.Mask, domain, len(e.Ext.Outputs) > 0)
	}
	lm := graph.Neg(PerToken(MaskedSum(e.TargetLogProbs(targets), lossMask), counts.Loss))
	loss = lm
	lmOut := graph.Identity(lm)
	g.Rename(lmOut, LMLossOutput)
	metrics = append(metrics, lmOut)
	local := e.Ext.LocalLoss(domain, e.Mask, counts)
	if local == nil {
		local = graph.ScalarLike(lm, 0)
	} else if alpha > 0 {
		loss = graph.Add(lm, graph.Mul(local, graph.ScalarLike(local, alpha)))
	}
	localOut := graph.Identity(local)
	g.Rename(localOut, LocalLossOutput)
	metrics = append(metrics, localOut)
	metrics = append(metrics, domainMetrics(g, e, domain, counts)...)
	return loss, metrics
}

// domainMetrics: mean gate value and mean |adapter output| over the real
// tokens of each domain (0 when the method has none).
func domainMetrics(g *graph.Graph, e *Extended, domain *graph.Value, counts TokenCounts) []*graph.Value {
	dt := e.Hidden.DType
	mask := graph.Cast(e.Mask, dt)
	dom := graph.Unsqueeze(graph.Cast(domain, dt), 1)
	type tokens struct{ mask, count *graph.Value }
	perDomain := map[string]tokens{
		"orig": {graph.Mul(mask, dom), counts.Orig},
		"new":  {graph.Mul(mask, graph.Sub(graph.ScalarLike(dom, 1), dom)), counts.New},
	}
	gates, l1 := layerStack(e.Ext.Gates, false), layerStack(e.Ext.Outputs, true)
	var out []*graph.Value
	for _, name := range []string{"orig", "new"} {
		for _, metric := range []struct {
			prefix   string
			perLayer *graph.Value
		}{{"gate_mean_", gates}, {"adapter_l1_", l1}} {
			var v *graph.Value
			if metric.perLayer == nil {
				v = graph.Scalar(g, dt, 0)
			} else {
				d := perDomain[name]
				v = PerToken(MaskedSum(graph.ReduceMean(metric.perLayer, []int{-1}, false), d.mask), d.count)
			}
			v = graph.Identity(v)
			g.Rename(v, metric.prefix+name)
			out = append(out, v)
		}
	}
	return out
}

// layerStack concatenates per-layer [batch, seq, k] values into
// [batch, seq, layers]; with meanAbs each is first reduced to mean |x|.
func layerStack(perLayer []*graph.Value, meanAbs bool) *graph.Value {
	if len(perLayer) == 0 {
		return nil
	}
	parts := make([]*graph.Value, len(perLayer))
	for i, v := range perLayer {
		if meanAbs {
			v = graph.ReduceMean(graph.Abs(v), []int{-1}, true)
		}
		parts[i] = v
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return graph.Concat(-1, parts...)
}

// TrainVariant selects what a training graph does with the gradients.
type TrainVariant int

const (
	// FusedStep computes gradients and applies AdamW in one graph.
	FusedStep TrainVariant = iota
	// GradientsOnly outputs the gradients of one micro-batch's share of the
	// optimizer batch's loss (its masked sums over the whole batch's token
	// counts, which are inputs): the shares' gradients, losses and metrics
	// sum to the batch's, across micro-batches and ranks.
	GradientsOnly
)

// BuildTrainGraph builds a training graph for m. Inputs: input_ids,
// attention_mask, targets, loss_mask, domain, the trainable tensors (and
// for FusedStep: step, lr, Adam moments). Outputs: loss, lm_loss,
// local_loss, per-domain gate/adapter metrics, grad_norm and updated state
// (FusedStep) or gradients (GradientsOnly, which also takes the token
// counts LossTokens, OrigTokens and NewTokens of the optimizer batch).
func BuildTrainGraph(m Model, opt graph.AdamW, variant TrainVariant) (*graph.Graph, *Extended, error) {
	var e *Extended
	g, err := graph.Build("train_"+string(m.Ext.Method), func(g *graph.Graph) {
		e = buildExtended(g, m, true, true)
		if len(e.Trainable) == 0 {
			panic(&graph.Error{Op: "TrainStep", Err: fmt.Errorf("method %s has no trainable tensors", m.Ext.Method)})
		}
		loss, metrics := objective(g, e, m.Ext.Alpha, variant == GradientsOnly)
		spec := graph.TrainSpec{Loss: loss, Metrics: metrics, Params: e.Trainable, Opt: opt, Decay: decayed}
		if variant == FusedStep {
			graph.AddTrainStep(g, spec)
		} else {
			graph.AddGradientStep(g, spec)
		}
	})
	return g, e, err
}

// decayed: weight decay applies to matrices, not to norms, biases or gates'
// biases (vectors).
func decayed(name string) bool {
	return !(strings.HasSuffix(name, "norm.weight") || strings.HasSuffix(name, ".bias"))
}

// BuildApplyGraph builds the update-only graph matching a GradientsOnly
// training graph.
func BuildApplyGraph(e *Extended, opt graph.AdamW) (*graph.Graph, error) {
	infos := make([]graph.ParamInfo, len(e.Trainable))
	for i, p := range e.Trainable {
		infos[i] = graph.ParamInfo{Name: p.Name(), DType: p.DType, Shape: p.Shape}
	}
	return graph.BuildApply(infos, graph.TrainSpec{Opt: opt, Decay: decayed})
}

// BuildScoreGraph builds the forward graph the evaluator and benchmarks
// run: per-token log-probs of the targets and whether each target is the
// model's top choice, nothing else (ONNX Runtime computes every output of
// a graph whether or not a run asks for it). The trainable tensors are
// inputs (fed from a checkpoint), so one compiled graph scores any
// checkpoint of the build.
func BuildScoreGraph(m Model) (*graph.Graph, *Extended, error) {
	var e *Extended
	g, err := graph.Build("score_"+string(m.Ext.Method), func(g *graph.Graph) {
		e = buildExtended(g, m, true, false)
		targets := g.Input(Targets, graph.Int64, e.InputShape)
		// Whether the target is the model's top choice (lm-eval's is_greedy).
		target, isMax := e.TargetScores(targets)
		g.Output(TargetLogProbs_, target)
		g.Output(TargetIsArgmax, isMax)
	})
	return g, e, err
}

// BuildLogitsGraph builds the self-contained inference graph exported for
// other runtimes: logits [batch, seq, vocab] from input_ids and
// attention_mask, with m.Baked holding the trained tensors.
func BuildLogitsGraph(m Model) (*graph.Graph, error) {
	if m.Baked == nil {
		m.Baked = map[string]*graph.Data{}
	}
	return graph.Build("logits", func(g *graph.Graph) {
		e := BuildExtended(g, m)
		g.Output("logits", e.Logits)
	})
}

// BuildBackboneLogitsGraph is the plain backbone's inference graph: no
// extension at all, every tensor an initializer. Exports without adapters
// (--no-adapters, --gates off, merged LoRA, finetuned weights) use it, and
// it is the reference the neutrality tests compare extended models with.
func BuildBackboneLogitsGraph(c Config, w Weights) (*graph.Graph, error) {
	return graph.Build("logits", func(g *graph.Graph) {
		g.Output("logits", BuildForward(g, c, w, ForwardOptions{}).Logits)
	})
}

// Overlay serves the tensors in over (trained or merged values) and the
// rest from base.
func Overlay(base Weights, over map[string]*graph.Data) Weights {
	return overlay{base: base, over: over}
}

// overlay serves some tensors from over (trained values) and the rest from
// the checkpoint.
type overlay struct {
	base Weights
	over map[string]*graph.Data
}

func (o overlay) Tensor(name string) (*graph.Data, error) {
	if d, ok := o.over[name]; ok {
		return d, nil
	}
	return o.base.Tensor(name)
}

func (o overlay) Names() []string { return o.base.Names() }
