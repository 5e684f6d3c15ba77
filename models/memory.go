package models

import (
	"fmt"
	"strings"
)

// MemoryEstimate predicts the peak resident memory of training and
// scoring a build, by component, in bytes. It is arithmetic on the config
// (no graph is built), so `nrgraph plan` answers before anything is
// written; `make bench-scale` compares it with measured peaks.
//
// A training step peaks at one of two moments (traced with ONNX Runtime's
// profiler and a liveness replay of its schedule at the mid and Gemma-2B
// shapes): where the backward pass starts, with every held activation
// and one LM head chunk's recomputed logits alive and few gradients yet;
// or where it ends, with every gradient alive — global-norm clipping needs them all
// before the first update, as PyTorch's .grad does — beside the last
// block's backward work and one weight's float32 cast. TrainPeak counts
// the larger; Gemma-2B at seq 256 peaks at the end, mid at the start.
type MemoryEstimate struct {
	Seq        int `json:"seq"`
	MicroBatch int `json:"micro_batch"`
	// FrozenWeights: the frozen backbone in its stored dtype (mapped from
	// the checkpoint, cast to float32 per use).
	FrozenWeights int64 `json:"frozen_weights"`
	// Trainable parameters (float32), their AdamW moments and gradients.
	Trainable int64 `json:"trainable"`
	Optimizer int64 `json:"optimizer"`
	Gradients int64 `json:"gradients"`
	// Activations held from the forward to the backward pass for one
	// micro-batch, and what activation recomputation (--recompute: only
	// the block inputs plus one block's) holds. Recompute says which of
	// the two TrainPeak counts.
	Activations          int64 `json:"activations"`
	ActivationsRecompute int64 `json:"activations_recompute"`
	Recompute            bool  `json:"recompute,omitempty"`
	// BackbonePrecision int8 counts the blocks' frozen projections as their
	// int8 copies (WithInt8Backbone); empty for the stored dtype.
	BackbonePrecision BackbonePrecision `json:"backbone_precision,omitempty"`
	// Int8Transposed: with an int8 backbone, the training graphs' second
	// copy of every quantised projection, transposed for the backward
	// product (DynamicQuantizeMatMul has no transposed-B form; ONNX
	// Runtime folds the Transpose into a constant and pre-packs it).
	Int8Transposed int64 `json:"int8_transposed,omitempty"`
	// Block: one block's activations, alive while the last block is
	// differentiated; Segment: with --recompute, the largest part of a
	// block recomputed at once (an attention half, an FFN chunk, an
	// adapter).
	Block   int64 `json:"block"`
	Segment int64 `json:"recompute_segment"`
	// Logits: one vocabulary chunk's float32 weight, logits and their exp
	// and gradient (the backward recomputes each chunk's logits,
	// models/head.go).
	Logits int64 `json:"logits"`
	// Transient: the largest per-use float32 cast of a frozen weight and
	// the runtime's own footprint (ONNX Runtime, Go, allocator slack).
	Transient int64 `json:"transient"`
	// TrainPeak and ScorePeak: what is alive at once at the peak moment,
	// plus allocator slack; ScoreTokens is the scored window the scoring
	// peak is for (batch 1).
	TrainPeak   int64 `json:"train_peak"`
	ScoreTokens int   `json:"score_tokens"`
	ScorePeak   int64 `json:"score_peak"`
}

// runtimeBase is what a training or scoring process holds besides the
// model: the ONNX Runtime library, Go and malloc's heap (fitted to the
// embedded 7M model's step, 230 MiB measured, whose own tensors are few).
const runtimeBase = 110 << 20

// allocSlack is the share of the step's working memory (all but the
// mapped weights and the trainer's state buffers) that the process holds
// beyond the tensors alive at the peak: malloc's heap below the 1 MB mmap
// threshold, ONNX Runtime's per-node buffers, Go. Measured as peak RSS
// minus the live peak of ORT's schedule replayed from its profile: 13% at
// Gemma-2B seq 256 (283 of 2,117 MiB), about 30% at the mid shape.
const allocSlack = 0.25

// EstimateMemory predicts the memory of training c extended by ext at seq
// x microBatch tokens per micro-batch, and of scoring scoreTokens tokens
// at once.
func EstimateMemory(c Config, ext ExtensionConfig, seq, microBatch int, scoreTokens int) (MemoryEstimate, error) {
	x, err := NewExtender(ext, c)
	if err != nil {
		return MemoryEstimate{}, err
	}
	e := MemoryEstimate{Seq: seq, MicroBatch: microBatch, ScoreTokens: scoreTokens}
	backbone := c.NumParams()
	trainable := x.AddedParams()
	frozen := backbone
	if ext.Method == Finetune {
		trainable, frozen = backbone+x.vocabRows(), 0 // every tensor, the new rows too
	}
	e.FrozenWeights = frozen * storedBytes(c.DType)
	e.Trainable = 4 * trainable
	e.Optimizer = 2 * 4 * trainable
	e.Gradients = 4 * trainable

	d, f, h := int64(c.Hidden), int64(c.Intermediate), int64(x.Hidden)
	q, kv, heads := int64(c.Heads*c.HeadDim), int64(c.KVHeads*c.HeadDim), int64(c.Heads)
	if ext.Method == LoRA {
		h = 3 * int64(x.Rank)
	}
	// Floats one block holds for its backward per token. A frozen
	// projection's rule needs only its weight (the gradient of its input),
	// not its input: what stays are the two norms' inputs and outputs (4d),
	// the RoPE'd query and key and the value (q + 2kv), the attention
	// probabilities (heads·seq), the GLU's gate and up (2f; the activation
	// and product are recomputed), the adapter's three (3h) and its output
	// (d). Trained projections (finetuning, LoRA) hold their inputs too:
	// the attention context and the GLU product (q + f). Counting every
	// intermediate instead overestimated the held-activations step at seq
	// 1024 by 22-31% (mid and Gemma-2B shapes).
	perToken := 4*d + q + 2*kv + heads*int64(seq) + 2*f + 3*h + d
	if ext.Method == Finetune || ext.Method == LoRA {
		perToken += q + f
	}
	tokens := int64(seq * microBatch)
	e.Block = 4 * tokens * perToken
	e.Activations = int64(c.Layers) * e.Block
	// Recomputing blocks (recomputedBlock) holds each block's input and
	// its attention half's output, and the adapter's output where the L1
	// local loss reads it, plus the largest segment being differentiated:
	// the attention half, one FFN chunk (norm, gate and up) or the adapter.
	held := 2 * d
	if ext.LocalLoss == LocalLossL1 && ext.usesAdapter() {
		held += d
	}
	chunk := min(tokens, int64(FFNChunkTokens*microBatch))
	e.Segment = 4 * max(tokens*(2*d+q+2*kv+heads*int64(seq)), chunk*(2*d+2*f), tokens*(3*h+d))
	e.ActivationsRecompute = int64(c.Layers)*4*tokens*held + e.Segment
	vocab := int64(ext.ExtendedVocab(c)) // vocabulary extension adds logits
	rows := min(vocab, HeadChunkRows)
	e.Logits = 4*rows*d + 3*4*tokens*rows
	e.Transient = 4*max(f*d, q*d) + runtimeBase
	e.TrainPeak = e.trainPeak()

	st := int64(scoreTokens)
	// Scoring holds the trainable tensors as float32 inputs, no optimizer
	// or gradients, and one phase of one block's forward at a time (or
	// the LM head's): attention, with the residual and norm values (3d),
	// projections (2q + 2kv) and the scores and probabilities
	// (2·heads·tokens per token); the GLU's gate, up and product (3f) and
	// the adapter's (3h); or one head chunk's weight, logits and exp.
	// Adding the three phases up overestimated scoring 2,239 tokens by
	// 33% at the mid shape and 12% at Gemma-2B (1,901 vs 1,427 and 8,359
	// vs 7,454 MiB).
	attention := 4*st*(3*d+2*q+2*kv) + 4*2*heads*st*st
	ffn := 4 * st * (3*d + 3*f + 3*h)
	head := 4*rows*d + 2*4*st*rows
	work := withSlack(max(attention, ffn, head) + e.Transient - runtimeBase)
	e.ScorePeak = e.FrozenWeights + e.Trainable + runtimeBase + work
	return e, nil
}

// trainPeak is the step's peak with its activations held from the
// forward to the backward pass (ActivationsRecompute with Recompute): the
// larger of the backward pass's start and end.
func (e MemoryEstimate) trainPeak() int64 {
	acts := e.Activations
	block := e.Block
	if e.Recompute {
		acts, block = e.ActivationsRecompute, e.Segment
	}
	start := acts + e.Logits
	end := e.Gradients + block + e.Transient - runtimeBase
	return e.FrozenWeights + e.Int8Transposed + e.Trainable + e.Optimizer + runtimeBase + withSlack(max(start, end))
}

func withSlack(work int64) int64 { return work + int64(allocSlack*float64(work)) }

// WithRecompute is the estimate for graphs built with --recompute: the
// training peak counts ActivationsRecompute instead of Activations.
func (e MemoryEstimate) WithRecompute() MemoryEstimate {
	if !e.Recompute {
		e.Recompute = true
		e.TrainPeak = e.trainPeak()
	}
	return e
}

// WithInt8Backbone is the estimate for builds with --backbone-precision
// int8: the blocks' frozen projections are held as uint8 copies with a
// float32 scale per output channel (models/int8.go), and the stored-dtype
// projections are no longer read (the mapped pages are the int8 file's);
// DynamicQuantizeMatMul reads the uint8 weight directly, so no projection
// is cast to float32 per use either. Finetuning trains every projection:
// nothing changes. Training holds a second, transposed int8 copy for the
// backward pass (Int8Transposed): at the mid shape the step measured
// 1,771 MiB, 214 MiB (one int8 copy, 210 MiB) above the estimate without
// it, and no less than the bf16 backbone's 1,763 MiB.
func (e MemoryEstimate) WithInt8Backbone(c Config, ext ExtensionConfig) MemoryEstimate {
	if e.BackbonePrecision == PrecisionInt8 || ext.Method == Finetune {
		return e
	}
	d, f := int64(c.Hidden), int64(c.Intermediate)
	q, kv := int64(c.Heads*c.HeadDim), int64(c.KVHeads*c.HeadDim)
	layers := int64(c.Layers)
	params := layers * (2*d*q + 2*d*kv + 3*d*f)
	outputs := layers * (q + 2*kv + d + 2*f + d)
	frozen := e.FrozenWeights - params*storedBytes(c.DType) + params + 4*outputs
	transient := int64(runtimeBase)
	e.ScorePeak += (frozen - e.FrozenWeights) + withSlack(transient-e.Transient)
	e.FrozenWeights, e.Transient, e.Int8Transposed = frozen, transient, params
	e.BackbonePrecision = PrecisionInt8
	e.TrainPeak = e.trainPeak()
	return e
}

// WithBuildOptions is the estimate for a build made with --recompute
// and --backbone-precision as given (what nrgraph build records, plan
// prints and the benchmarks compare with).
func (e MemoryEstimate) WithBuildOptions(c Config, ext ExtensionConfig, recompute bool, precision BackbonePrecision) MemoryEstimate {
	if recompute {
		e = e.WithRecompute()
	}
	if precision == PrecisionInt8 {
		e = e.WithInt8Backbone(c, ext)
	}
	return e
}

func storedBytes(dtype string) int64 {
	switch dtype {
	case "bfloat16", "float16":
		return 2
	case "float64":
		return 8
	}
	return 4
}

// String lays the estimate out as a table in GB.
func (e MemoryEstimate) String() string {
	gb := func(b int64) string { return fmt.Sprintf("%7.2f GB", float64(b)/(1<<30)) }
	var s strings.Builder
	fmt.Fprintf(&s, "memory estimate (seq %d x micro-batch %d):\n", e.Seq, e.MicroBatch)
	frozenLabel := "frozen weights (stored dtype)"
	if e.BackbonePrecision == PrecisionInt8 {
		frozenLabel = "frozen weights (int8 blocks)"
	}
	for _, row := range []struct {
		name      string
		b         int64
		ifNonZero bool
	}{
		{frozenLabel, e.FrozenWeights, false},
		{"trainable parameters (fp32)", e.Trainable, false},
		{"optimizer state (AdamW m, v)", e.Optimizer, false},
		{"gradients", e.Gradients, false},
		{"int8 backward copies", e.Int8Transposed, true},
		{"activations per micro-batch", e.Activations, false},
		{"  of which one block", e.Block, false},
		{"activations with --recompute", e.ActivationsRecompute, false},
		{"  of which one segment", e.Segment, false},
		{"logits (held + one head chunk)", e.Logits, false},
		{"transient casts + runtime", e.Transient, false},
	} {
		if row.ifNonZero && row.b == 0 {
			continue
		}
		fmt.Fprintf(&s, "  %-32s %s\n", row.name, gb(row.b))
	}
	peak := "training step peak"
	if e.Recompute {
		peak += " (--recompute)"
	}
	fmt.Fprintf(&s, "  %-32s %s\n", peak, gb(e.TrainPeak))
	fmt.Fprintf(&s, "  %-32s %s\n", fmt.Sprintf("scoring peak (%d tokens)", e.ScoreTokens), gb(e.ScorePeak))
	return s.String()
}
