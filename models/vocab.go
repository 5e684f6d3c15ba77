package models

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/nrgraph/nrgraph/graph"
)

// Vocabulary extension (`nrgraph build --extend-vocab`): N new tokens get
// embedding rows, and output rows, appended after the backbone's
// vocab_size. They are trainable tensors of their own, so the original rows
// stay frozen (or train as before, with finetuning) and text that uses no
// new token goes through exactly the backbone's embedding and the
// backbone's logits over its vocabulary.
const (
	// NewEmbedRows is the new tokens' embedding [N, d]; tied models use it
	// as their output rows too.
	NewEmbedRows = "model.embed_tokens.new_rows"
	// NewHeadRows is the new tokens' output rows [N, d] of untied models.
	NewHeadRows = "lm_head.new_rows"
)

// VocabRowParams counts the parameters n new tokens add: an embedding row
// each and, untied, an output row.
func VocabRowParams(c Config, n int) int64 {
	rows := int64(n) * int64(c.Hidden)
	if !c.Tied {
		rows *= 2
	}
	return rows
}

// ExtendedVocab is the vocabulary size with the extension's tokens.
func (e ExtensionConfig) ExtendedVocab(c Config) int { return c.Vocab + e.NewTokens }

// newRows declares the trainable rows name [N, d] (or takes their baked
// value), each initialised as the mean of the rows of base (the backbone
// tensor they extend) at the new token's pieces: its ids under the old
// tokenizer. A new token then starts out as what the backbone read or
// predicted for its pieces on average.
func (x *Extender) newRows(g *graph.Graph, dt graph.DType, name, base string, w Weights, pieces [][]int) *graph.Value {
	n, d := int64(x.Ext.NewTokens), int64(x.Model.Hidden)
	return x.declare(g, dt, name, []int64{n, d}, func() ([]byte, error) {
		if len(pieces) != int(n) {
			return nil, fmt.Errorf("%s: %d new tokens but the pieces of %d (build with the extended tokenizer)", name, n, len(pieces))
		}
		table, err := w.Tensor(base)
		if err != nil {
			return nil, err
		}
		raw := make([]byte, 4*n*d)
		for k, ids := range pieces {
			mean, err := meanRows(table, ids)
			if err != nil {
				return nil, fmt.Errorf("%s: new token %d: %w", name, k, err)
			}
			for j, v := range mean {
				binary.LittleEndian.PutUint32(raw[4*(int64(k)*d+int64(j)):], math.Float32bits(float32(v)))
			}
		}
		return raw, nil
	})
}

// meanRows averages rows ids of table, reading only those rows.
func meanRows(table *graph.Data, ids []int) ([]float64, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("no pieces")
	}
	var sum []float64
	for _, id := range ids {
		row, err := table.Rows(int64(id), int64(id)+1)
		if err != nil {
			return nil, err
		}
		vals, err := row.Float64s()
		if err != nil {
			return nil, err
		}
		if sum == nil {
			sum = make([]float64, len(vals))
		}
		for j, v := range vals {
			sum[j] += v
		}
	}
	for j := range sum {
		sum[j] /= float64(len(ids))
	}
	return sum, nil
}

// embed gathers the input embeddings; with new rows, ids from vocab_size
// on read them and the others the backbone's table, selected per position
// (both gathers read clipped ids, so neither goes out of range), so an old
// id's vector is the backbone's bit for bit.
func (b *builder) embed() *graph.Value {
	// Rows are gathered in the stored dtype and then cast: casting the
	// whole table first would make a float32 copy of every row (2 GB for
	// Gemma's vocabulary) to read seq of them.
	table := b.stored("model.embed_tokens.weight")
	if b.opts.NewRows == nil {
		return b.compute(graph.Gather(table, b.ids, 0))
	}
	b.newEmbed = b.opts.NewRows(NewEmbedRows, "model.embed_tokens.weight")
	v, n := float64(b.c.Vocab), float64(b.newEmbed.Shape[0].MustStatic())
	ids := b.ids
	oldIDs := graph.Clip(ids, graph.ScalarLike(ids, 0), graph.ScalarLike(ids, v-1))
	newIDs := graph.Clip(graph.Sub(ids, graph.ScalarLike(ids, v)), graph.ScalarLike(ids, 0), graph.ScalarLike(ids, n-1))
	isNew := graph.Unsqueeze(graph.Not(graph.Less(ids, graph.ScalarLike(ids, v))), 2) // [batch, seq, 1]
	old := b.compute(graph.Gather(table, oldIDs, 0))
	return graph.Where(isNew, b.compute(graph.Gather(b.newEmbed, newIDs, 0)), old)
}

// newHeadRows is the new tokens' output rows (nil without extension): the
// new embedding rows when tied, as the backbone ties its own.
func (b *builder) newHeadRows() *graph.Value {
	switch {
	case b.opts.NewRows == nil:
		return nil
	case b.c.Tied:
		return b.compute(b.newEmbed)
	}
	return b.compute(b.opts.NewRows(NewHeadRows, "lm_head.weight"))
}

// withNewLogits appends the new tokens' logits to the backbone's: those
// over the old vocabulary are computed exactly as without extension.
func (b *builder) withNewLogits(h, logits *graph.Value) *graph.Value {
	rows := b.newHeadRows()
	if rows == nil {
		return logits
	}
	return graph.Concat(-1, logits, Linear(h, rows, rows.Shape[0].MustStatic()))
}

// WithNewRows folds n trained new rows (NewEmbedRows, NewHeadRows in
// trained) into the backbone's own tensors, for exports whose readers know
// nothing of the extension (a Hugging Face checkpoint, the plain logits
// graph): it returns the config with vocab_size V+n and the embedding (and
// untied LM head) [V+n, d] in float32, the trained or else w's rows first.
func WithNewRows(c Config, w Weights, trained map[string]*graph.Data, n int) (Config, map[string]*graph.Data, error) {
	out := map[string]*graph.Data{}
	tensors := map[string]string{"model.embed_tokens.weight": NewEmbedRows}
	if !c.Tied {
		tensors["lm_head.weight"] = NewHeadRows
	}
	for name, rowsName := range tensors {
		base, ok := trained[name]
		if !ok {
			var err error
			if base, err = w.Tensor(name); err != nil {
				return c, nil, err
			}
		}
		rows, ok := trained[rowsName]
		if !ok || len(rows.Dims) != 2 || rows.Dims[0] != int64(n) {
			return c, nil, fmt.Errorf("vocabulary extension: %d new tokens but no trained %s [%d, %d]", n, rowsName, n, c.Hidden)
		}
		var raw []byte
		for _, d := range []*graph.Data{base, rows} {
			f32, err := ConvertWeight(d, graph.Float32)
			if err != nil {
				return c, nil, fmt.Errorf("%s: %w", name, err)
			}
			b, err := f32.Bytes()
			if err != nil {
				return c, nil, err
			}
			raw = append(raw, b...)
		}
		merged, err := graph.RawData(graph.Float32, []int64{int64(c.Vocab + n), int64(c.Hidden)}, raw)
		if err != nil {
			return c, nil, err
		}
		out[name] = merged
	}
	c.Vocab += n
	return c, out, nil
}
