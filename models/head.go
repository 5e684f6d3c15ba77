package models

import (
	"fmt"

	"github.com/nrgraph/nrgraph/graph"
)

// HeadChunkRows is how many vocabulary rows of a frozen LM head the
// training and scoring graphs multiply at a time. The head of a large
// vocabulary is the biggest single weight (Gemma: 262,144 x 2048, 1 GB in
// bf16): whole, its float32 cast alone is 2 GB and the logits of 2,000
// scored tokens another 2 GB, plus as much again for the log-softmax.
// In chunks, only one chunk's float32 weight and logits exist at a time
// (16,384 rows: 128 MB of weight, 2,000 tokens' logits 131 MB), and the
// log-softmax is a running log-sum-exp over the chunks. 16,384 rather
// than 32,768 rows: scoring 2,239 tokens of a Gemma-shaped 287M model
// peaked at 1,586 MB instead of 2,032 MB, in the same time.
const HeadChunkRows = 16384

// chunkedHead is a frozen LM head split into row chunks, each its own
// initializer (a region of the checkpoint file, mapped in place) cast to
// the compute dtype where it is used.
type chunkedHead struct {
	weights []*graph.Value // [rows_k, d] compute dtype
	offsets []int64        // first vocabulary id of each chunk
	softcap float64
}

// lmHead adds the logits or, with chunkRows > 0 and a frozen head of
// more rows, the chunked head that TargetLogProbs / TargetScores use.
func (b *builder) lmHead(h *graph.Value, chunkRows int) {
	c := b.c
	name := "lm_head.weight"
	if c.Tied {
		name = "model.embed_tokens.weight"
	}
	trainable := b.opts.Trainable != nil && b.opts.Trainable(name)
	if chunkRows <= 0 || trainable || c.Vocab <= chunkRows {
		logits := b.withNewLogits(h, b.linearW(h, b.param(name), int64(c.Vocab)))
		if c.FinalSoftcap > 0 {
			logits = softcap(logits, c.FinalSoftcap)
		}
		b.fwd.Logits = logits
		return
	}
	data, err := b.w.Tensor(name)
	if err != nil {
		panic(&graph.Error{Op: "Weights", Node: name, Err: err})
	}
	head := &chunkedHead{softcap: c.FinalSoftcap}
	for from := int64(0); from < int64(c.Vocab); from += int64(chunkRows) {
		to := min(from+int64(chunkRows), int64(c.Vocab))
		rows, err := data.Rows(from, to)
		if err != nil {
			panic(&graph.Error{Op: "Weights", Node: name, Err: err})
		}
		w := b.g.Initializer(fmt.Sprintf("%s.rows_%d_%d", name, from, to), rows)
		head.weights = append(head.weights, b.compute(w))
		head.offsets = append(head.offsets, from)
	}
	if rows := b.newHeadRows(); rows != nil {
		head.weights = append(head.weights, rows)
		head.offsets = append(head.offsets, int64(c.Vocab))
	}
	b.fwd.head = head
}

// TargetLogProbs returns log p(target) per position [batch, seq].
func (f *Forward) TargetLogProbs(targets *graph.Value) *graph.Value {
	logp, _ := f.targetScores(targets, false)
	return logp
}

// TargetScores returns log p(target) per position [batch, seq] and
// whether the target has the highest logit there (lm-eval's is_greedy).
func (f *Forward) TargetScores(targets *graph.Value) (logp, isMax *graph.Value) {
	return f.targetScores(targets, true)
}

func (f *Forward) targetScores(targets *graph.Value, withMax bool) (logp, isMax *graph.Value) {
	if f.head == nil {
		target, all := targetAndLogProbs(f.Logits, targets)
		if withMax {
			isMax = graph.Not(graph.Less(target, graph.ReduceMax(all, []int{-1}, false)))
		}
		return target, isMax
	}
	// Per chunk k: logits_k = h·W_kᵀ, its max m_k and s_k = Σ exp(logits_k
	// - m_k); the target's logit comes from the chunk holding it. A running
	// log-sum-exp combines them: with M the largest max so far, total =
	// Σ_k s_k·exp(m_k - M), and log Σ exp(all logits) = M + log(total).
	// The shifts only keep exp in range: any value gives the same result,
	// so no gradient flows through them (StopGradient) and the backward of
	// each chunk is softmax_k - onehot_k, as for LogSoftmax.
	//
	// Each chunk's product reads the hidden state plus 0·(the previous
	// chunk's running results): the same values, but a data dependency
	// that makes ONNX Runtime finish a chunk before it starts the next.
	// Without it, its topological order ran every chunk's product (and
	// max) first and held all the logits at once: +2.4 GB scoring 2,240
	// tokens of the Gemma-2B shape.
	h := f.Hidden
	d := h.Shape[h.Rank()-1].MustStatic()
	flat := graph.Reshape(h, -1, d)       // [T, d]
	ids := graph.Reshape(targets, -1, 1)  // [T, 1]
	var target, shift, total *graph.Value // [T, 1]
	for k := range f.head.weights {
		var after *graph.Value
		if k > 0 {
			after = graph.StopGradient(graph.Mul(graph.ScalarLike(total, 0), graph.Add(total, target)))
		}
		t, m, sum, idx, local := f.head.chunk(k, flat, after, ids)
		if k == 0 {
			target, shift, total = t, m, sum
			continue
		}
		target = graph.Where(graph.Equal(idx, local), t, target)
		next := graph.Max(shift, m)
		total = graph.Add(graph.Mul(total, graph.Exp(graph.Sub(shift, next))), graph.Mul(sum, graph.Exp(graph.Sub(m, next))))
		shift = next
	}
	lse := graph.Add(shift, graph.Log(total))
	shape := f.InputShape
	logp = graph.ReshapeLike(graph.Sub(target, lse), shape, targets)
	if withMax {
		isMax = graph.ReshapeLike(graph.Not(graph.Less(target, shift)), shape, targets)
	}
	return logp, isMax
}

// chunk computes, for vocabulary chunk k, each token's target logit t
// (whatever chunk holds the target: idx is its clipped row in chunk k,
// local the unclipped one), the chunk's max m and Σ exp(logits - m), all
// [T, 1], from flat [T, d] (+ after, the ordering dependency).
//
// The chunk is a Recompute segment: its backward pass recomputes the
// chunk's logits from flat instead of holding them. Exp's rule reads its
// output, so each chunk's [T, rows] float32 exp stayed alive from the
// forward to the backward pass: the whole vocabulary's worth, 268 MB for
// 256 tokens of Gemma's 262,144 (1 GB at seq 1024), for the cost of one
// more head product in the backward pass. The three results leave the
// segment as one [T, 3] tensor (a segment has one output) so that no
// reader outside it holds the logits.
func (c *chunkedHead) chunk(k int, flat, after, ids *graph.Value) (t, m, sum, idx, local *graph.Value) {
	w := c.weights[k]
	rows := w.Shape[0].MustStatic()
	local = graph.Sub(ids, graph.ScalarLike(ids, float64(c.offsets[k])))
	idx = graph.Clip(local, graph.ScalarLike(ids, 0), graph.ScalarLike(ids, float64(rows-1)))
	packed := graph.Recompute(flat, func(x *graph.Value) *graph.Value {
		if after != nil {
			x = graph.Add(x, after)
		}
		logits := graph.Gemm(x, w, nil, graph.GemmOptions{TransB: true}) // [T, rows]
		if c.softcap > 0 {
			logits = softcap(logits, c.softcap)
		}
		m := graph.StopGradient(graph.ReduceMax(logits, []int{-1}, true))
		sum := graph.ReduceSum(graph.Exp(graph.Sub(logits, m)), []int{-1}, true)
		return graph.Concat(1, graph.GatherElements(logits, idx, 1), m, sum)
	})
	parts := graph.Split(packed, 1, 1, 1, 1)
	return parts[0], parts[1], parts[2], idx, local
}
