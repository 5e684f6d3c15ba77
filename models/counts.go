package models

import "github.com/nrgraph/nrgraph/graph"

// Token-count inputs of the gradient graph (float32 scalars). Every loss
// term and metric is a per-token mean over the whole optimizer batch; a
// gradient graph sees one micro-batch (on one rank), so it divides its
// masked sums by these counts of the whole batch, which the trainer feeds.
// The micro-batches' losses, metrics and gradients then add up to the full
// batch's exactly (up to float32 rounding), whatever the split: a
// micro-batch without original-domain rows adds 0 instead of pulling the
// average down (issue 16). Counts are exact in float32 up to 2^24 tokens.
const (
	LossTokens = "loss_tokens" // Σ loss_mask
	OrigTokens = "orig_tokens" // Σ attention_mask over original-domain rows
	NewTokens  = "new_tokens"  // Σ attention_mask over new-domain rows
)

// TokenCounts holds the denominators of the objective's per-token means:
// computed from the batch itself in a full-batch graph, graph inputs in a
// micro-batch gradient graph.
type TokenCounts struct {
	Loss, Orig, New *graph.Value
}

// batchCounts counts the tokens of the graph's own batch (per domain only
// when perDomain: a method without adapter outputs has no use for them).
func batchCounts(lossMask, tokenMask, domain *graph.Value, perDomain bool) TokenCounts {
	all := func(x *graph.Value) *graph.Value { return graph.ReduceSum(x, nil, false) }
	c := TokenCounts{Loss: all(lossMask)}
	if perDomain {
		origRows := graph.Unsqueeze(domain, 1)
		newRows := graph.Sub(graph.ScalarLike(origRows, 1), origRows)
		c.Orig, c.New = all(graph.Mul(tokenMask, origRows)), all(graph.Mul(tokenMask, newRows))
	}
	return c
}

// countInputs declares the count inputs of a gradient graph.
func countInputs(g *graph.Graph) TokenCounts {
	in := func(name string) *graph.Value { return g.Input(name, graph.Float32, graph.Shape{}) }
	return TokenCounts{Loss: in(LossTokens), Orig: in(OrigTokens), New: in(NewTokens)}
}

// All counts the real tokens of both domains.
func (c TokenCounts) All() *graph.Value { return graph.Add(c.Orig, c.New) }

// MaskedSum is sum(x·mask) over all positions; masked positions contribute
// exactly zero (to the value and the gradient).
func MaskedSum(x, mask *graph.Value) *graph.Value {
	return graph.ReduceSum(graph.Mul(x, graph.Cast(mask, x.DType)), nil, false)
}

// PerToken divides a masked sum by a token count, clamped at 1 so that an
// empty set of tokens gives 0, not NaN.
func PerToken(sum, count *graph.Value) *graph.Value {
	n := graph.Cast(count, sum.DType)
	return graph.Div(sum, graph.Max(n, graph.ScalarLike(n, 1)))
}
