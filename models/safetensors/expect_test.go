package safetensors

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExpect(t *testing.T) {
	dir := t.TempDir()
	_, err := WriteSharded(dir, []Tensor{
		f32Tensor(t, "model.embed_tokens.weight", []int64{4, 2}, make([]float32, 8)...),
		f32Tensor(t, "model.layers.0.mlp.up_proj.weight", []int64{2, 3}, make([]float32, 6)...),
		{Name: "model.norm.weight", DType: BF16, Shape: []int64{2}, Data: make([]byte, 4)},
		f32Tensor(t, "rotary.inv_freq", []int64{1}, 0),
	}, nil, 32)
	require.NoError(t, err)
	c, err := Open(dir)
	require.NoError(t, err)
	defer c.Close()
	shard := func(i int) string { return filepath.Join(dir, ShardFileName(i, 2)) }

	floats := []DType{F32, BF16}
	good := []Spec{
		{Name: "model.embed_tokens.weight", Shape: []int64{-1, 2}, DTypes: floats}, // any vocabulary size
		{Name: "model.layers.0.mlp.up_proj.weight", Shape: []int64{2, 3}},
		{Name: "model.norm.weight", Shape: []int64{2}, DTypes: floats},
		{Name: "rotary.inv_freq", Shape: []int64{1}},
		{Name: "lm_head.weight", Shape: []int64{4, 2}, Optional: true}, // tied embeddings
	}
	require.NoError(t, c.Expect(good))

	err = c.Expect([]Spec{
		{Name: "model.embed_tokens.weight", Shape: []int64{5, 2}},
		{Name: "model.layers.0.mlp.up_proj.weight", Shape: []int64{3, 2}, DTypes: []DType{F16}},
		{Name: "model.norm.weight", Shape: []int64{2}, DTypes: []DType{F32}},
		{Name: "model.layers.1.mlp.up_proj.weight", Shape: []int64{2, 3}},
		{Name: "lm_head.weight", Shape: []int64{4, 2}},
	})
	var expectErr *ExpectError
	require.ErrorAs(t, err, &expectErr)
	assert.Equal(t, []string{"lm_head.weight", "model.layers.1.mlp.up_proj.weight"}, specNames(expectErr.Missing))
	require.Len(t, expectErr.Extra, 1)
	assert.Equal(t, "rotary.inv_freq", expectErr.Extra[0].Name)
	require.Len(t, expectErr.Mismatched, 3)
	assert.Equal(t, "checkpoint "+filepath.Join(dir, IndexFileName)+" does not match the model: 2 missing, 1 unexpected, 3 mismatched tensors"+
		"\n  missing tensor \"lm_head.weight\" (want shape [4 2])"+
		"\n  missing tensor \"model.layers.1.mlp.up_proj.weight\" (want shape [2 3])"+
		"\n  unexpected tensor \"rotary.inv_freq\" F32[1] in "+shard(2)+
		"\n  tensor \"model.embed_tokens.weight\" in "+shard(1)+": shape [4 2], want [5 2]"+
		"\n  tensor \"model.layers.0.mlp.up_proj.weight\" in "+shard(2)+": shape [2 3], want [3 2]; dtype F32, want one of [F16]"+
		"\n  tensor \"model.norm.weight\" in "+shard(2)+": dtype BF16, want one of [F32]",
		err.Error())

	assert.ErrorContains(t, c.Expect([]Spec{good[0], good[0]}), `spec for tensor "model.embed_tokens.weight" given twice`)
}

func specNames(specs []Spec) []string {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	return names
}
