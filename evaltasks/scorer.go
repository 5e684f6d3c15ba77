package evaltasks

// Request asks for log P(Continuation | Context).
//
// Implementations should tokenize the pair as lm-evaluation-harness does, so
// scores are comparable with published numbers: move trailing whitespace of
// Context to the front of Continuation, encode Context and
// Context+Continuation, and score the tokens of the latter past the former.
// A context longer than the model's window is truncated on the left.
type Request struct {
	Context      string
	Continuation string
}

// Result is the model's answer to one Request.
type Result struct {
	// LogLikelihood is the natural-log probability of the continuation,
	// summed over its tokens.
	LogLikelihood float64
	// NumTokens is the number of continuation tokens (acc_per_token divides by it).
	NumTokens int
	// IsGreedy reports whether every continuation token was the model's argmax.
	IsGreedy bool
	// ContextTokensDropped counts context tokens cut on the left to fit the
	// model's window; Run warns about them (lm-eval truncates silently).
	ContextTokensDropped int
}

// Scorer is what a model must provide to be evaluated. Run sends the
// requests of several documents per call; the requests of one document are
// contiguous, in choice order, and share an identical Context, so an
// implementation can encode that context once (or batch the choices as rows
// sharing a prefix). PMI's unconditional requests (Context "Answer:") come
// in calls of their own, each distinct continuation once per Run. Results
// must come back in request order.
type Scorer interface {
	LogLikelihoods(reqs []Request) ([]Result, error)
}
