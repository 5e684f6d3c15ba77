package evaltasks

import "fmt"

// WindowScheme chooses how a document longer than the model's window is cut
// into forward passes for perplexity.
type WindowScheme string

const (
	// WindowsRolling is lm-eval's loglikelihood_rolling (get_rolling_token_windows
	// with context_len 1 + make_disjoint_window): disjoint windows, each
	// predicting up to a full window of new tokens, the first token of each
	// later window predicted from the one token before it. The default, so
	// bits per byte compare with lm-eval's.
	WindowsRolling WindowScheme = "rolling"
	// WindowsStrided is the Hugging Face guide's strided loop with stride
	// half the window (nrgraph's earlier scheme): more context per token,
	// twice the passes.
	WindowsStrided WindowScheme = "strided"
)

// ParseWindowScheme checks a --ppl-windows value.
func ParseWindowScheme(name string) (WindowScheme, error) {
	return parseNamed("perplexity window scheme", name, WindowsRolling, WindowsStrided)
}

// PlanDocumentWindows plans a document's forward passes under scheme, each
// window at most maxLen tokens (the model reads maxLen-1 positions).
func PlanDocumentWindows(scheme WindowScheme, numTokens, maxLen int) ([]Window, error) {
	switch scheme {
	case WindowsRolling, "":
		return PlanRollingWindows(numTokens, maxLen)
	case WindowsStrided:
		return PlanWindows(numTokens, maxLen, max(1, (maxLen-1)/2))
	}
	return nil, fmt.Errorf("plan windows: unknown scheme %q", scheme)
}

// PlanRollingWindows splits ids[0:numTokens] — ids[0] being the prefix token
// (BOS) that lm-eval prepends, the rest the document — like lm-eval's rolling
// loglikelihood: the first window predicts ids[1:maxLen] from ids[0:maxLen-1];
// each later one predicts the next maxLen-1 tokens, reading a full maxLen
// tokens ending at its last target, so every window but the last has exactly
// one token of context and the last has as many as fit. Every token after
// the prefix is scored once.
func PlanRollingWindows(numTokens, maxLen int) ([]Window, error) {
	if maxLen < 2 {
		return nil, fmt.Errorf("plan rolling windows: max length %d leaves no token to predict", maxLen)
	}
	if numTokens < 2 {
		return nil, nil
	}
	predict := maxLen - 1 // lm-eval's max_seq_len - context_len + 1 with context_len 1
	end := min(maxLen, numTokens)
	windows := []Window{{Begin: 0, End: end, FirstTarget: 1}}
	for end < numTokens {
		next := min(end+predict, numTokens)
		windows = append(windows, Window{Begin: next - maxLen, End: next, FirstTarget: end})
		end = next
	}
	return windows, nil
}
