package models

import (
	"fmt"
	"strings"
)

// MemoryEstimate predicts the peak resident memory of training and
// scoring a build, by component, in bytes. It is arithmetic on the config
// (no graph is built), so `nrgraph plan` answers before anything is
// written; `make bench-scale` compares it with measured peaks.
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
	// Logits: the LM head's held exp-logits for the backward (training)
	// plus one vocabulary chunk's float32 weight and logits.
	Logits int64 `json:"logits"`
	// Transient: the largest per-use float32 cast of a frozen weight and
	// the runtime's own footprint (ONNX Runtime, Go, allocator slack).
	Transient int64 `json:"transient"`
	// TrainPeak and ScorePeak sum what is alive at once; ScoreTokens is the
	// scored window the scoring peak is for (batch 1).
	TrainPeak   int64 `json:"train_peak"`
	ScoreTokens int   `json:"score_tokens"`
	ScorePeak   int64 `json:"score_peak"`
}

// runtimeBase is what a training or scoring process holds besides the
// model: the ONNX Runtime library, Go and the allocators' slack (measured:
// ~90 MB for the embedded 7M model's process).
const runtimeBase = 90 << 20

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
	// Floats one block holds for its backward per token: residual and norm
	// outputs (4d), the projections and their RoPE'd copies (2q + 3kv),
	// attention context and output (q + d), the GLU's gate, up and product
	// (3f), the adapter's (3h) and its output (d); plus the attention
	// scores and probabilities, 2·heads·seq per token.
	perToken := 4*d + 3*q + 3*kv + d + 3*f + 3*h + d + 2*heads*int64(seq)
	tokens := int64(seq * microBatch)
	layer := 4 * tokens * perToken
	e.Activations = int64(c.Layers) * layer
	// Recomputing blocks holds each block's input, and the adapter's
	// output where the L1 local loss reads it, plus one block's.
	held := d
	if ext.LocalLoss == LocalLossL1 && ext.usesAdapter() {
		held += d
	}
	e.ActivationsRecompute = int64(c.Layers)*4*tokens*held + layer
	vocab := int64(ext.ExtendedVocab(c)) // vocabulary extension adds logits
	rows := min(vocab, HeadChunkRows)
	chunk := 4*rows*d + 2*4*tokens*rows
	e.Logits = 4*tokens*vocab + chunk
	e.Transient = 4*max(f*d, q*d) + runtimeBase

	e.TrainPeak = e.FrozenWeights + e.Trainable + e.Optimizer + e.Gradients + e.Activations + e.Logits + e.Transient
	st := int64(scoreTokens)
	scoreChunk := 4*rows*d + 2*4*st*rows
	// Scoring holds the trainable tensors as float32 inputs, no optimizer
	// or gradients, and one block's activations at a time.
	e.ScorePeak = e.FrozenWeights + e.Trainable + 4*st*perToken - 4*st*2*heads*int64(seq) + 4*2*heads*st*st + scoreChunk + e.Transient
	return e, nil
}

// WithRecompute is the estimate for graphs built with --recompute: the
// training peak counts ActivationsRecompute instead of Activations.
func (e MemoryEstimate) WithRecompute() MemoryEstimate {
	if !e.Recompute {
		e.Recompute = true
		e.TrainPeak += e.ActivationsRecompute - e.Activations
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
	for _, row := range []struct {
		name string
		b    int64
	}{
		{"frozen weights (stored dtype)", e.FrozenWeights},
		{"trainable parameters (fp32)", e.Trainable},
		{"optimizer state (AdamW m, v)", e.Optimizer},
		{"gradients", e.Gradients},
		{"activations per micro-batch", e.Activations},
		{"  with --recompute", e.ActivationsRecompute},
		{"logits (held + one head chunk)", e.Logits},
		{"transient casts + runtime", e.Transient},
	} {
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
