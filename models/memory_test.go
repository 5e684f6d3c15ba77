package models

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEstimateMemoryComponents: the parameter-sized components follow
// from the parameter counts (bf16 frozen backbone, float32 trainable
// tensors, two AdamW moments, one gradient each), finetuning trains the
// whole backbone, and the peaks are the sums of their parts.
func TestEstimateMemoryComponents(t *testing.T) {
	c := tinyConfigs()["gemma-mqa"]
	c.DType = "bfloat16"
	nr, _ := DefaultExtension(NeutralResidues)
	x, err := NewExtender(nr, c)
	require.NoError(t, err)
	added := x.AddedParams()
	require.Positive(t, added)
	e, err := EstimateMemory(c, nr, 16, 2, 32)
	require.NoError(t, err)
	assert.Equal(t, 2*c.NumParams(), e.FrozenWeights)
	assert.Equal(t, 4*added, e.Trainable)
	assert.Equal(t, 8*added, e.Optimizer)
	assert.Equal(t, 4*added, e.Gradients)
	// The peak is the state plus the larger of the backward pass's start
	// (held activations and logits) and end (every gradient, the last
	// block, a weight cast), with the arena's slack on top.
	state := e.FrozenWeights + e.Trainable + e.Optimizer + runtimeBase
	start, end := e.Activations+e.Logits, e.Gradients+e.Block+e.Transient-runtimeBase
	assert.Equal(t, state+max(start, end)*5/4, e.TrainPeak)
	assert.Less(t, e.ActivationsRecompute, e.Activations)
	assert.Less(t, e.ScorePeak, e.TrainPeak)
	// --recompute counts the recomputed activations instead.
	r := e.WithRecompute()
	assert.True(t, r.Recompute)
	assert.Equal(t, state+max(e.ActivationsRecompute+e.Logits, end)*5/4, r.TrainPeak)
	assert.Equal(t, r, r.WithRecompute())

	// Twice the tokens per micro-batch: more activations, same state.
	e2, err := EstimateMemory(c, nr, 16, 4, 32)
	require.NoError(t, err)
	assert.Equal(t, e.Optimizer, e2.Optimizer)
	assert.Greater(t, e2.Activations, e.Activations)

	ft, _ := DefaultExtension(Finetune)
	f, err := EstimateMemory(c, ft, 16, 2, 32)
	require.NoError(t, err)
	assert.Zero(t, f.FrozenWeights)
	assert.Equal(t, 4*c.NumParams(), f.Trainable)
	assert.Equal(t, 8*c.NumParams(), f.Optimizer)
}
