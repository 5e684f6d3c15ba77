package models

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/internal/gradcheck"
)

// A packed row — a shared prefix, then each continuation as its own
// segment with positions restarting after the prefix — gives every token
// the logits it has in its own unpacked row, for every architecture,
// including Gemma 2's sliding window (3 here, shorter than the rows).
func TestPackedForwardMatchesUnpackedRows(t *testing.T) {
	prefix := []int64{1, 5, 9, 2, 33}
	continuations := [][]int64{{7, 11, 3, 8}, {20}, {4, 4}}
	// Unpacked: prefix + continuation[:len-1] per row, right-padded.
	width := 0
	for _, c := range continuations {
		width = max(width, len(prefix)+len(c)-1)
	}
	var ids, mask []float64
	for _, c := range continuations {
		row := append(append([]int64{}, prefix...), c[:len(c)-1]...)
		for i := 0; i < width; i++ {
			if i < len(row) {
				ids, mask = append(ids, float64(row[i])), append(mask, 1)
			} else {
				ids, mask = append(ids, 0), append(mask, 0)
			}
		}
	}
	// Packed: prefix[:4] once, then per continuation prefix[4] + continuation[:len-1].
	var pIDs, pPos, pSeg []float64
	for i := 0; i < len(prefix)-1; i++ {
		pIDs, pPos, pSeg = append(pIDs, float64(prefix[i])), append(pPos, float64(i)), append(pSeg, 0)
	}
	for k, c := range continuations {
		inputs := append([]int64{prefix[len(prefix)-1]}, c[:len(c)-1]...)
		for i, id := range inputs {
			pIDs, pPos, pSeg = append(pIDs, float64(id)), append(pPos, float64(len(prefix)-1+i)), append(pSeg, float64(k+1))
		}
	}
	pMask := make([]float64, len(pIDs))
	for i := range pMask {
		pMask[i] = 1
	}
	unpackedDims, packedDims := []int64{int64(len(continuations)), int64(width)}, []int64{1, int64(len(pIDs))}

	for name, c := range tinyConfigs() {
		t.Run(name, func(t *testing.T) {
			w, _ := randomCheckpoint(c, 3, false)
			logitsGraph := func(packed bool) *graph.Graph {
				g, err := graph.Build("logits", func(g *graph.Graph) {
					f := BuildForward(g, c, w, ForwardOptions{ComputeDType: graph.Float64, Packed: packed})
					g.Output("logits", f.Logits)
				})
				require.NoError(t, err)
				return g
			}
			unpacked, err := gradcheck.Run(logitsGraph(false), map[string]gradcheck.Feed{
				InputIDs: {Shape: unpackedDims, Data: ids}, AttentionMask: {Shape: unpackedDims, Data: mask}})
			require.NoError(t, err)
			packed, err := gradcheck.Run(logitsGraph(true), map[string]gradcheck.Feed{
				InputIDs: {Shape: packedDims, Data: pIDs}, AttentionMask: {Shape: packedDims, Data: pMask},
				PositionIDs: {Shape: packedDims, Data: pPos}, SegmentIDs: {Shape: packedDims, Data: pSeg}})
			require.NoError(t, err)
			vocab := int(c.Vocab)
			at := func(data []float64, row, pos, rowLen int) []float64 {
				start := (row*rowLen + pos) * vocab
				return data[start : start+vocab]
			}
			packedPos := len(prefix) - 1
			for k, cont := range continuations {
				for i := 0; i < len(cont); i++ {
					want := at(unpacked["logits"].Data, k, len(prefix)-1+i, width)
					got := at(packed["logits"].Data, 0, packedPos+i, len(pIDs))
					assert.InDeltaSlice(t, want, got, 1e-9, "continuation %d token %d", k, i)
				}
				packedPos += len(cont)
			}
			for i := 0; i < len(prefix)-1; i++ {
				assert.InDeltaSlice(t, at(unpacked["logits"].Data, 0, i, width), at(packed["logits"].Data, 0, i, len(pIDs)), 1e-9, "prefix token %d", i)
			}
		})
	}
}
