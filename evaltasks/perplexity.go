package evaltasks

import (
	"fmt"
	"math"
)

// DocumentNLL is one held-out document's negative log-likelihood.
type DocumentNLL struct {
	// NLL is the summed negative log-likelihood of the scored tokens, in nats.
	NLL float64 `json:"nll"`
	// Tokens is how many tokens NLL sums over.
	Tokens int `json:"tokens"`
	// Bytes is the UTF-8 length of the document's text.
	Bytes int `json:"bytes"`
}

// PerplexityResult aggregates held-out text scores (the paper's Tables 1-2
// "perplexity" columns are bits per byte, which stay comparable when the
// extended model's tokenizer differs from the backbone's).
type PerplexityResult struct {
	Documents int     `json:"documents"`
	Tokens    int     `json:"tokens"`
	Bytes     int     `json:"bytes"`
	TotalNLL  float64 `json:"total_nll"`
	// NLLPerToken is TotalNLL / Tokens in nats; Perplexity is its exponential.
	NLLPerToken float64 `json:"nll_per_token"`
	Perplexity  float64 `json:"perplexity"`
	// BitsPerByte is TotalNLL / ln 2 / Bytes.
	BitsPerByte float64 `json:"bits_per_byte"`
}

// AggregatePerplexity pools documents by summing, so long documents weigh
// more: the corpus-level numbers, not a mean of per-document perplexities.
func AggregatePerplexity(docs []DocumentNLL) (PerplexityResult, error) {
	res := PerplexityResult{Documents: len(docs)}
	for i, d := range docs {
		if d.Tokens < 0 || d.Bytes < 0 || d.NLL < 0 || math.IsNaN(d.NLL) || math.IsInf(d.NLL, 0) {
			return res, fmt.Errorf("perplexity: document %d: nll %v over %d tokens, %d bytes", i, d.NLL, d.Tokens, d.Bytes)
		}
		res.TotalNLL += d.NLL
		res.Tokens += d.Tokens
		res.Bytes += d.Bytes
	}
	if res.Tokens == 0 || res.Bytes == 0 {
		return res, fmt.Errorf("perplexity: %d documents hold %d tokens and %d bytes", len(docs), res.Tokens, res.Bytes)
	}
	res.NLLPerToken = res.TotalNLL / float64(res.Tokens)
	res.Perplexity = math.Exp(res.NLLPerToken)
	res.BitsPerByte = res.TotalNLL / math.Ln2 / float64(res.Bytes)
	return res, nil
}

// Window is one forward pass over a long document: the model reads
// ids[Begin:End] and the tokens ids[FirstTarget:End] are scored, each
// predicted from the logits one position earlier.
type Window struct {
	Begin, End, FirstTarget int
}

// PlanWindows splits a document of numTokens tokens into windows of at most
// maxLen tokens advancing by stride, as the Hugging Face perplexity guide's
// strided loop does: every token but the first (which nothing predicts) is
// scored exactly once, and after the first window each scored token sees at
// least maxLen - stride tokens of context. A smaller stride costs more
// passes for more context.
//
// stride must be below maxLen: with stride == maxLen the guide's loop loses
// each window's first token, which has no earlier position in its window to
// be predicted from, so "every token once" needs one token of overlap.
func PlanWindows(numTokens, maxLen, stride int) ([]Window, error) {
	if stride < 1 || stride >= maxLen {
		return nil, fmt.Errorf("plan windows: need 1 <= stride < max length, got max length %d stride %d", maxLen, stride)
	}
	if numTokens < 2 {
		return nil, nil // nothing to predict
	}
	var windows []Window
	prevEnd := 0
	for begin := 0; begin < numTokens; begin += stride {
		end := min(begin+maxLen, numTokens)
		windows = append(windows, Window{Begin: begin, End: end, FirstTarget: max(prevEnd, begin+1)})
		prevEnd = end
		if end == numTokens {
			break
		}
	}
	return windows, nil
}
