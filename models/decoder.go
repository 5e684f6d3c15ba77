package models

import (
	"fmt"
	"math"
	"strings"

	"github.com/nrgraph/nrgraph/graph"
)

// Graph input names of a forward graph.
const (
	InputIDs      = "input_ids"      // int64 [batch, seq]
	AttentionMask = "attention_mask" // float32 [batch, seq]: 1 real token, 0 padding (right-padded)
	Targets       = "targets"        // int64 [batch, seq]: next-token ids
	// PositionIDs and SegmentIDs are inputs of packed graphs
	// (ForwardOptions.Packed) only.
	PositionIDs = "position_ids" // int64 [batch, seq]: each token's position in its own sequence
	SegmentIDs  = "segment_ids"  // int64 [batch, seq]: 0 shared prefix, k > 0 the k-th sequence after it
)

// Symbolic dims of forward graphs.
const (
	Batch = "batch"
	Seq   = "seq"
)

// maskValue is added to disallowed attention logits. Finite (not -inf) so a
// fully padded row yields a uniform softmax instead of NaN.
const maskValue = -1e9

// ForwardOptions customise a forward graph.
type ForwardOptions struct {
	// Trainable reports whether a checkpoint tensor becomes a graph input
	// (trained, fed each step) rather than a frozen initializer.
	Trainable func(name string) bool
	// ComputeDType is the activation dtype: Float32 (default) or Float64
	// (gradient checks). Weights in other dtypes are cast at use.
	ComputeDType graph.DType
	// Extension splices an extension method into every block (adapters,
	// LoRA); nil builds the plain backbone.
	Extension Extension
	// Packed reads PositionIDs and SegmentIDs: a row holds a shared prefix
	// (segment 0) and after it several sequences (segments 1, 2, ...), each
	// attending to the prefix and to itself only, with its own positions, so
	// a question's context is read once for all its choices.
	Packed bool
	// HeadChunkRows > 0 leaves Logits nil when a frozen head has more
	// rows and scores targets over chunks of that many vocabulary rows:
	// Forward.TargetLogProbs and TargetScores then never hold all logits.
	HeadChunkRows int
	// NewRows, when set, gives the vocabulary extension's rows [N, d]
	// (NewEmbedRows, NewHeadRows) appended after those of base, the
	// backbone tensor they extend: ids from vocab_size on read them and the
	// logits gain N columns.
	NewRows func(name, base string) *graph.Value
	// Recompute keeps only each block's input (and its attention half's
	// output) from the forward to the backward pass and re-runs the block's
	// forward inside the backward (graph.Recompute): activation memory of
	// about one half-block plus the block inputs, for one more forward pass
	// of compute. See recomputedBlock.
	Recompute bool
	// FFNChunkTokens > 0 with Recompute and Seq > FFNChunkTokens computes
	// each block's frozen FFN in chunks of that many positions, each
	// recomputed on its own (recomputedBlock). Seq is the sequence length
	// the graph is fed (the training graphs': the build's --seq).
	FFNChunkTokens, Seq int
	// BackbonePrecision int8 runs the blocks' frozen projections as int8
	// products (int8.go); "" or fp32 leaves them in ComputeDType.
	BackbonePrecision BackbonePrecision
	// Int8File, when set, holds the int8 weights shared by every graph of
	// a build; nil quantises into each graph's own initializers.
	Int8File *Int8File
}

// Extension is how extension methods enter the backbone without the
// decoder knowing about them.
type Extension interface {
	// Linear may modify y = x·Wᵀ of the named projection (LoRA); return y
	// to leave it alone.
	Linear(b *BlockContext, name string, x, y *graph.Value) *graph.Value
	// FFN returns what the block adds to the residual stream in place of
	// the frozen FFN's output ffnOut, given the FFN's (normed) input.
	FFN(b *BlockContext, ffnIn, ffnOut *graph.Value) *graph.Value
}

// BlockContext is what an extension knows about the block it is in.
type BlockContext struct {
	Layer  int
	Config Config
	G      *graph.Graph
	DType  graph.DType
	// Ref is a [batch, seq, d] activation for building runtime shapes.
	Ref *graph.Value
}

// Forward is a built forward pass.
type Forward struct {
	IDs, Mask *graph.Value
	// InputShape is the shape of the per-position inputs: [batch, seq],
	// with seq static (ForwardOptions.Seq) when the FFN is chunked.
	InputShape graph.Shape
	Hidden     *graph.Value // final normed hidden state [batch, seq, d]
	Logits     *graph.Value // [batch, seq, vocab], compute dtype (nil with a chunked head)
	// Params maps HF tensor names to their graph values (inputs for
	// trainable tensors, initializers otherwise).
	Params map[string]*graph.Value
	// Trainable lists the trainable backbone tensors in name order.
	Trainable []*graph.Value
	head      *chunkedHead
}

type builder struct {
	g    *graph.Graph
	c    Config
	w    Weights
	opts ForwardOptions
	dt   graph.DType
	fwd  *Forward
	ids  *graph.Value
	ref  *graph.Value
	// ropes holds the RoPE tables of the global layers (false) and, with
	// LocalRopeTheta, of the local ones (true).
	ropes  map[bool]*ropeTables
	masks  map[int]*graph.Value // window -> additive causal + key-padding mask [batch, 1, seq, seq]
	keyPad *graph.Value         // [batch, 1, 1, seq] additive
	// positions and segments are the packed inputs (nil unless Packed).
	positions, segments *graph.Value
	// newEmbed is the vocabulary extension's embedding rows (nil without).
	newEmbed *graph.Value
	// ffnChunks are the first positions of a recomputed FFN's chunks
	// (recomputedBlock; nil without Recompute).
	ffnChunks []int64
}

// BuildForward adds the decoder's forward pass to g. Like all graph
// builders it panics with a *graph.Error on failure (use graph.Build).
func BuildForward(g *graph.Graph, c Config, w Weights, opts ForwardOptions) *Forward {
	b := &builder{g: g, c: c, w: w, opts: opts, dt: opts.ComputeDType, masks: map[int]*graph.Value{}, ropes: map[bool]*ropeTables{}}
	if b.dt == graph.InvalidDType {
		b.dt = graph.Float32
	}
	b.fwd = &Forward{Params: map[string]*graph.Value{}, InputShape: graph.S(Batch, Seq)}
	if opts.Recompute {
		b.ffnChunks = chunkStarts(opts.Seq, opts.FFNChunkTokens)
	}
	if len(b.ffnChunks) > 1 {
		// The FFN's position chunks are static slices.
		b.fwd.InputShape = graph.S(Batch, opts.Seq)
	}
	shape := b.fwd.InputShape
	b.ids = g.Input(InputIDs, graph.Int64, shape)
	mask := g.Input(AttentionMask, graph.Float32, shape)
	b.fwd.IDs, b.fwd.Mask = b.ids, mask
	if opts.Packed {
		b.positions = g.Input(PositionIDs, graph.Int64, shape)
		b.segments = g.Input(SegmentIDs, graph.Int64, shape)
	}

	h := b.embed() // [batch, seq, d]
	if c.EmbedScale {
		// HF Gemma multiplies by sqrt(d) rounded to the activation dtype.
		h = graph.Mul(h, graph.ScalarLike(h, roundTo(b.dt, math.Sqrt(float64(c.Hidden)))))
	}
	b.ref = h
	b.keyPad = graph.Mul(graph.Sub(graph.ScalarLike(mask, 1), mask), graph.ScalarLike(mask, maskValue))
	b.keyPad = graph.Cast(graph.Unsqueeze(b.keyPad, 1, 2), b.dt)

	for layer := 0; layer < c.Layers; layer++ {
		if opts.Recompute {
			h = b.recomputedBlock(layer, h)
		} else {
			h = b.block(layer, h)
		}
	}
	h = b.rmsNorm(h, "model.norm.weight")
	b.fwd.Hidden = h
	b.lmHead(h, opts.HeadChunkRows)
	return b.fwd
}

// roundTo rounds x to the precision of dt (HF computes the Gemma embedding
// normaliser in the activation dtype).
func roundTo(dt graph.DType, x float64) float64 {
	if dt == graph.Float32 {
		return float64(float32(x))
	}
	return x
}

// param returns a checkpoint tensor as a graph value in the compute dtype:
// a Cast of its own per call, so each use's float32 copy is freed after it.
func (b *builder) param(name string) *graph.Value { return b.compute(b.stored(name)) }

// stored returns a checkpoint tensor's graph value in its stored dtype
// (trained tensors: the compute dtype).
func (b *builder) stored(name string) *graph.Value {
	if v, ok := b.fwd.Params[name]; ok {
		return v
	}
	d, err := b.w.Tensor(name)
	if err != nil {
		panic(&graph.Error{Op: "Weights", Node: name, Err: err})
	}
	var v *graph.Value
	if b.opts.Trainable != nil && b.opts.Trainable(name) {
		dt := b.dt // trained copies live in the compute dtype (float32 master weights)
		v = b.g.Input(name, dt, graph.StaticShape(d.Dims))
		b.fwd.Trainable = append(b.fwd.Trainable, v)
	} else {
		v = b.g.Initializer(name, d)
	}
	b.fwd.Params[name] = v
	return v
}

func (b *builder) compute(v *graph.Value) *graph.Value { return graph.Cast(v, b.dt) }

func (b *builder) linearW(x, w *graph.Value, out int64) *graph.Value { return Linear(x, w, out) }

// Linear computes x·Wᵀ for an HF [out, in] weight as one GEMM over the
// flattened batch (no transposed copy of W, and a GEMM-only gradient).
func Linear(x, w *graph.Value, out int64) *graph.Value {
	in := x.Shape[x.Rank()-1].MustStatic()
	flat := graph.Reshape(x, -1, in)
	y := graph.Gemm(flat, w, nil, graph.GemmOptions{TransB: true})
	target := append(x.Shape[:x.Rank()-1].Clone(), graph.D(out))
	return graph.ReshapeLike(y, target, x)
}

// linearBias is Linear plus a bias [out], added inside the GEMM.
func linearBias(x, w, bias *graph.Value, out int64) *graph.Value {
	in := x.Shape[x.Rank()-1].MustStatic()
	y := graph.Gemm(graph.Reshape(x, -1, in), w, bias, graph.GemmOptions{TransB: true})
	return graph.ReshapeLike(y, append(x.Shape[:x.Rank()-1].Clone(), graph.D(out)), x)
}

// linear is a named projection of the block, open to extensions (LoRA);
// with bias, the checkpoint's NAME.bias (NAME without .weight) is added.
func (b *builder) linear(bc *BlockContext, x *graph.Value, name string, out int64, bias bool) *graph.Value {
	y := b.quantizedLinear(x, name)
	switch {
	case y != nil && bias:
		y = graph.Add(y, b.param(strings.TrimSuffix(name, ".weight")+".bias"))
	case y != nil:
	case bias:
		y = linearBias(x, b.param(name), b.param(strings.TrimSuffix(name, ".weight")+".bias"), out)
	default:
		y = b.linearW(x, b.param(name), out)
	}
	if b.opts.Extension != nil {
		y = b.opts.Extension.Linear(bc, name, x, y)
	}
	return y
}

// rmsNorm: x / sqrt(mean(x²) + eps) * w   (Gemma: * (1 + w)).
func (b *builder) rmsNorm(x *graph.Value, name string) *graph.Value {
	w := b.param(name)
	ms := graph.ReduceMean(graph.Mul(x, x), []int{-1}, true)
	normed := graph.Mul(x, graph.Reciprocal(graph.Sqrt(graph.Add(ms, graph.ScalarLike(x, b.c.RMSEps)))))
	if b.c.NormPlusOne {
		w = graph.Add(w, graph.ScalarLike(w, 1))
	}
	return graph.Mul(normed, w)
}

func softcap(x *graph.Value, cap float64) *graph.Value {
	return graph.Mul(graph.Tanh(graph.Div(x, graph.ScalarLike(x, cap))), graph.ScalarLike(x, cap))
}

// attentionMask is the additive mask of the attention scores: causal
// (and i - j < window when window > 0) plus key padding, combined once
// per graph so each layer adds one small mask, not two.
func (b *builder) attentionMask(window int) *graph.Value {
	if m, ok := b.masks[window]; ok {
		return m
	}
	seq := graph.DimOf(b.ids, 1)
	ones := graph.Expand(graph.Scalar(b.g, b.dt, 1), graph.Concat(0, seq, seq))
	allowed := graph.Trilu(ones, 0, false)
	if b.segments != nil {
		allowed = b.packedAllowed(allowed, window)
	} else if window > 0 {
		allowed = graph.Sub(allowed, graph.Trilu(ones, int64(-window), false))
	}
	m := graph.Mul(graph.Sub(graph.ScalarLike(allowed, 1), allowed), graph.ScalarLike(allowed, maskValue))
	m = graph.Add(m, b.keyPad)
	b.masks[window] = m
	return m
}

// packedAllowed narrows the causal pattern [seq, seq] of a packed row to
// [batch, 1, seq, seq]: query i sees key j <= i when j is in the shared
// prefix or in i's own segment, and, with a sliding window, when their
// positions (not their places in the row) are under window apart.
func (b *builder) packedAllowed(causal *graph.Value, window int) *graph.Value {
	segQ, segK := graph.Unsqueeze(b.segments, 2), graph.Unsqueeze(b.segments, 1) // [batch, seq, 1], [batch, 1, seq]
	same := graph.Cast(graph.Equal(segQ, segK), b.dt)
	shared := graph.Cast(graph.Equal(segK, graph.ScalarLike(segK, 0)), b.dt)
	allowed := graph.Mul(causal, graph.Max(same, shared)) // [batch, seq, seq]
	if window > 0 {
		distance := graph.Sub(graph.Unsqueeze(b.positions, 2), graph.Unsqueeze(b.positions, 1))
		allowed = graph.Mul(allowed, graph.Cast(graph.Less(distance, graph.ScalarLike(distance, float64(window))), b.dt))
	}
	return graph.Unsqueeze(allowed, 1)
}

func (b *builder) block(layer int, x *graph.Value) *graph.Value {
	bc := b.blockContext(layer)
	x = b.attentionHalf(bc, x)
	ffnIn := b.ffnNorm(bc, x)
	return graph.Add(x, b.extendedFFN(bc, ffnIn, b.frozenFFN(bc, ffnIn)))
}

func (b *builder) blockContext(layer int) *BlockContext {
	return &BlockContext{Layer: layer, Config: b.c, G: b.g, DType: b.dt, Ref: b.ref}
}

func (bc *BlockContext) prefix() string { return fmt.Sprintf("model.layers.%d.", bc.Layer) }

// attentionHalf is x + attention(norm(x)).
func (b *builder) attentionHalf(bc *BlockContext, x *graph.Value) *graph.Value {
	p := bc.prefix()
	attn := b.attention(bc, b.rmsNorm(x, p+"input_layernorm.weight"), p)
	if b.c.PostNorms {
		attn = b.rmsNorm(attn, p+"post_attention_layernorm.weight")
	}
	return graph.Add(x, attn)
}

// ffnNorm is the FFN's input norm.
func (b *builder) ffnNorm(bc *BlockContext, x *graph.Value) *graph.Value {
	if b.c.PostNorms {
		return b.rmsNorm(x, bc.prefix()+"pre_feedforward_layernorm.weight")
	}
	return b.rmsNorm(x, bc.prefix()+"post_attention_layernorm.weight")
}

// frozenFFN is the backbone's GLU FFN of the normed input (and its post
// norm): a function of each position alone.
func (b *builder) frozenFFN(bc *BlockContext, ffnIn *graph.Value) *graph.Value {
	p := bc.prefix()
	gate := b.linear(bc, ffnIn, p+"mlp.gate_proj.weight", int64(b.c.Intermediate), false)
	up := b.linear(bc, ffnIn, p+"mlp.up_proj.weight", int64(b.c.Intermediate), false)
	ffn := b.linear(bc, graph.Mul(Activation(b.c.Act, gate), up), p+"mlp.down_proj.weight", int64(b.c.Hidden), false)
	if b.c.PostNorms {
		ffn = b.rmsNorm(ffn, p+"post_feedforward_layernorm.weight")
	}
	return ffn
}

// extendedFFN is what the block adds to the residual stream after
// attention: the frozen FFN's output with the extension beside it.
func (b *builder) extendedFFN(bc *BlockContext, ffnIn, ffn *graph.Value) *graph.Value {
	if b.opts.Extension == nil {
		return ffn
	}
	return b.opts.Extension.FFN(bc, ffnIn, ffn)
}

// recomputedBlock is block as Recompute segments: the attention half; the
// frozen FFN, in chunks of FFNChunkTokens positions; and the extension
// beside it. Each segment's activations exist only while the backward
// pass differentiates it, so the step's activation peak is the block
// inputs plus the largest segment's recomputed forward and backward.
// Measured on the mid shape (8 layers, d 1024, FFN 8192, seq 1024), from
// ONNX Runtime's profile of the step: with the whole block one segment,
// its backward held the recomputed attention probabilities beside eight
// [1024, 8192] float32 FFN tensors (the GLU's inputs, its GELU's backward
// temporaries): 290 MiB of the block's working set. As three kinds of
// segment, the peak is the attention half's backward (three [8, 1024,
// 1024] tensors) and the step's activation memory (its peak at seq 1024
// minus at seq 64) fell from 388 to 209 MiB, 5.6x below holding them
// (1,179 MiB).
//
// The chunks share the half-block's input and are ordered by data: chunk
// c reads its slice plus 0·Σ(chunk c-1's output), a zero that carries a
// gradient, so in the backward pass chunk c-1's recomputation (which
// waits for its output's gradient, checkpoint.go) starts only after chunk
// c's backward has finished, and one chunk's tensors exist at a time.
func (b *builder) recomputedBlock(layer int, x *graph.Value) *graph.Value {
	bc := b.blockContext(layer)
	x = graph.Recompute(x, func(x *graph.Value) *graph.Value { return b.attentionHalf(bc, x) })
	var chunks []*graph.Value
	starts := b.ffnChunks
	for i, from := range starts {
		to := int64(b.opts.Seq)
		if i+1 < len(starts) {
			to = starts[i+1]
		}
		var after *graph.Value
		if i > 0 {
			after = graph.ZeroFrom(chunks[i-1])
		}
		chunks = append(chunks, graph.Recompute(x, func(x *graph.Value) *graph.Value {
			if len(starts) > 1 {
				x = graph.Slice(x, []int64{from}, []int64{to}, []int{1}, nil)
			}
			if after != nil {
				x = graph.Add(x, after)
			}
			return b.frozenFFN(bc, b.ffnNorm(bc, x))
		}))
	}
	ffn := chunks[0]
	if len(chunks) > 1 {
		ffn = graph.Concat(1, chunks...)
	}
	return graph.Recompute(x, func(x *graph.Value) *graph.Value {
		return graph.Add(x, b.extendedFFN(bc, b.ffnNorm(bc, x), ffn))
	})
}

// chunkStarts are the first positions of seq's chunks of (about) tokens
// each: one chunk, at 0, unless both are known and seq is longer.
func chunkStarts(seq, tokens int) []int64 {
	n := 1
	if tokens > 0 && seq > tokens {
		n = (seq + tokens - 1) / tokens
	}
	starts := make([]int64, n)
	for i := range starts {
		starts[i] = int64(i * seq / n)
	}
	return starts
}

// attention: grouped-query attention with RoPE, causal (optionally
// sliding-window) and key-padding masks, optional logit soft-capping.
// Heads are laid out [batch, H, seq, hd]; with grouped queries (fewer KV
// heads than query heads) the queries are viewed as [batch, KV, G, seq, hd]
// so each KV head broadcasts over its group inside MatMul instead of being
// copied. Every transpose stays 4-D: ONNX Runtime's 5-D transposes ran at
// a fifth of the speed of the 4-D ones in the training step.
func (b *builder) attention(bc *BlockContext, h *graph.Value, p string) *graph.Value {
	c := b.c
	hd, heads, kv := int64(c.HeadDim), int64(c.Heads), int64(c.KVHeads)
	group := heads / kv
	q := b.linear(bc, h, p+"self_attn.q_proj.weight", heads*hd, c.QKVBias)
	k := b.linear(bc, h, p+"self_attn.k_proj.weight", kv*hd, c.QKVBias)
	v := b.linear(bc, h, p+"self_attn.v_proj.weight", kv*hd, c.QKVBias)
	q, k = graph.Reshape(q, 0, 0, heads, hd), graph.Reshape(k, 0, 0, kv, hd)
	if c.QKNorm {
		q, k = b.rmsNorm(q, p+"self_attn.q_norm.weight"), b.rmsNorm(k, p+"self_attn.k_norm.weight")
	}

	tables := b.ropeFor(c.LocalRopeTheta > 0 && c.SlidingLayers[bc.Layer])
	q = b.rope(graph.Transpose(q, 0, 2, 1, 3), tables.cosQ, tables.sinQ) // [b, H, s, hd], scaled
	k = b.rope(graph.Transpose(k, 0, 2, 1, 3), tables.cos, tables.sin)   // [b, KV, s, hd]
	v = graph.Transpose(graph.Reshape(v, 0, 0, kv, hd), 0, 2, 1, 3)      // [b, KV, s, hd]
	window := 0
	if c.IsSliding(bc.Layer) {
		window = c.SlidingWindow
	}
	mask := b.attentionMask(window) // [b, 1, s, s]
	if group > 1 {
		q = graph.Reshape(q, 0, kv, group, -1, hd) // [b, KV, G, s, hd]
		k, v, mask = graph.Unsqueeze(k, 2), graph.Unsqueeze(v, 2), graph.Unsqueeze(mask, 1)
	}
	r := k.Rank()
	perm := []int{0, 1, 2, 3, 4}[:r]
	perm[r-2], perm[r-1] = r-1, r-2
	scores := graph.MatMul(q, graph.Transpose(k, perm...)) // the query scale is in cosQ/sinQ
	if c.AttnSoftcap > 0 {
		scores = softcap(scores, c.AttnSoftcap)
	}
	probs := graph.Softmax(graph.Add(scores, mask), -1)
	ctx := graph.MatMul(probs, v)
	if group > 1 {
		ctx = graph.Reshape(ctx, 0, heads, -1, hd) // [b, H, s, hd]
	}
	ctx = graph.Reshape(graph.Transpose(ctx, 0, 2, 1, 3), 0, 0, heads*hd)
	return b.linear(bc, ctx, p+"self_attn.o_proj.weight", int64(c.Hidden), c.OutBias)
}

// Activation applies the backbone's FFN activation: SiLU x·σ(x), GELU
// 0.5x(1 + erf(x/√2)), or its tanh approximation
// 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))).
func Activation(name Act, x *graph.Value) *graph.Value {
	switch name {
	case ActSiLU:
		return graph.SiLU(x)
	case ActGELU:
		// ONNX Runtime has no float64 Erf kernel: float64 graphs (gradient
		// checks) take erf in float32.
		erf := graph.Cast(graph.Erf(graph.Cast(graph.Mul(x, graph.ScalarLike(x, 1/math.Sqrt2)), graph.Float32)), x.DType)
		return graph.Mul(graph.Mul(graph.ScalarLike(x, 0.5), x), graph.Add(graph.ScalarLike(x, 1), erf))
	case ActGELUTanh:
		return graph.GELUTanh(x)
	}
	panic(&graph.Error{Op: "Activation", Err: fmt.Errorf("unknown activation %q", name)})
}

// TargetLogProbs returns log p(targets) per position [batch, seq] via
// LogSoftmax + GatherElements (cheaper in ORT than SoftmaxCrossEntropyLoss,
// and its gradient is softmax - onehot).
func TargetLogProbs(logits, targets *graph.Value) *graph.Value {
	target, _ := targetAndLogProbs(logits, targets)
	return target
}

// targetAndLogProbs also returns the full log-softmax (for is-argmax).
func targetAndLogProbs(logits, targets *graph.Value) (target, logp *graph.Value) {
	logp = graph.LogSoftmax(logits, -1)
	return graph.Squeeze(graph.GatherElements(logp, graph.Unsqueeze(targets, 2), 2), 2), logp
}

// MaskedMean is sum(x·mask)/max(sum(mask), 1) over all positions; padded
// positions contribute exactly zero (to the value and the gradient).
func MaskedMean(x, mask *graph.Value) *graph.Value {
	return PerToken(MaskedSum(x, mask), graph.ReduceSum(graph.Cast(mask, x.DType), nil, false))
}
