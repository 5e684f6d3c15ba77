package evaltasks

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAggregatePerplexity(t *testing.T) {
	// 8 ln2 nats over 4 tokens and 4 bytes: 2 ln2 nats per token (perplexity
	// 4) and 8 bits over 4 bytes (2 bits per byte). Pooling, not averaging:
	// the per-document bits per byte are 1 and 3, whose mean would be 2 only
	// by coincidence of equal sizes, so the sizes differ here.
	docs := []DocumentNLL{
		{NLL: 2 * math.Ln2, Tokens: 1, Bytes: 3},
		{NLL: 6 * math.Ln2, Tokens: 3, Bytes: 1},
	}
	got, err := AggregatePerplexity(docs)
	require.NoError(t, err)
	assert.Equal(t, 2, got.Documents)
	assert.Equal(t, 4, got.Tokens)
	assert.Equal(t, 4, got.Bytes)
	assert.InDelta(t, 8*math.Ln2, got.TotalNLL, 1e-12)
	assert.InDelta(t, 2*math.Ln2, got.NLLPerToken, 1e-12)
	assert.InDelta(t, 4, got.Perplexity, 1e-12)
	assert.InDelta(t, 2, got.BitsPerByte, 1e-12)

	for name, bad := range map[string][]DocumentNLL{
		"empty":        nil,
		"no tokens":    {{NLL: 1, Tokens: 0, Bytes: 0}},
		"negative nll": {{NLL: -1, Tokens: 1, Bytes: 1}},
		"nan":          {{NLL: math.NaN(), Tokens: 1, Bytes: 1}},
	} {
		_, err := AggregatePerplexity(bad)
		assert.Error(t, err, name)
	}
}

func TestPlanWindowsByHand(t *testing.T) {
	tests := []struct {
		name                      string
		numTokens, maxLen, stride int
		want                      []Window
	}{
		{"strided", 10, 4, 2, []Window{{0, 4, 1}, {2, 6, 4}, {4, 8, 6}, {6, 10, 8}}},
		{"short document", 3, 8, 4, []Window{{0, 3, 1}}},
		{"one token of overlap", 7, 3, 2, []Window{{0, 3, 1}, {2, 5, 3}, {4, 7, 5}}},
		{"last window shorter", 9, 4, 3, []Window{{0, 4, 1}, {3, 7, 4}, {6, 9, 7}}},
		{"nothing to predict", 1, 4, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PlanWindows(tt.numTokens, tt.maxLen, tt.stride)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// hfScoredPositions transcribes the Hugging Face perplexity guide's loop:
// labels outside the last trg_len positions are -100, and the model's
// internal shift drops each window's first label. It returns every position
// whose token contributes to the loss, in order.
func hfScoredPositions(seqLen, maxLength, stride int) []int {
	var scored []int
	prevEndLoc := 0
	for beginLoc := 0; beginLoc < seqLen; beginLoc += stride {
		endLoc := min(beginLoc+maxLength, seqLen)
		trgLen := endLoc - prevEndLoc
		for pos := beginLoc; pos < endLoc; pos++ {
			masked := pos-beginLoc < (endLoc-beginLoc)-trgLen
			if !masked && pos != beginLoc { // shift: position 0 of a window has no prediction
				scored = append(scored, pos)
			}
		}
		prevEndLoc = endLoc
		if endLoc == seqLen {
			break
		}
	}
	return scored
}

func TestPlanWindowsScoresEveryTokenOnce(t *testing.T) {
	for numTokens := 0; numTokens <= 40; numTokens++ {
		for maxLen := 2; maxLen <= 12; maxLen++ {
			for stride := 1; stride < maxLen; stride++ {
				windows, err := PlanWindows(numTokens, maxLen, stride)
				require.NoError(t, err)
				var scored []int
				for w, win := range windows {
					require.LessOrEqual(t, win.End-win.Begin, maxLen)
					require.Greater(t, win.FirstTarget, win.Begin, "the first target is predicted from inside the window")
					if w > 0 {
						require.GreaterOrEqual(t, win.FirstTarget-win.Begin, maxLen-stride, "context of later windows")
					}
					for pos := win.FirstTarget; pos < win.End; pos++ {
						scored = append(scored, pos)
					}
				}
				var want []int
				for pos := 1; pos < numTokens; pos++ {
					want = append(want, pos)
				}
				require.Equal(t, want, scored, "n=%d L=%d S=%d: tokens 1..n-1 once, in order", numTokens, maxLen, stride)
				if numTokens >= 2 {
					require.Equal(t, hfScoredPositions(numTokens, maxLen, stride), scored, "n=%d L=%d S=%d: same as the HF guide", numTokens, maxLen, stride)
				}
			}
		}
	}
}

func TestPlanWindowsRejects(t *testing.T) {
	for _, tt := range []struct{ maxLen, stride int }{{4, 4}, {4, 0}, {4, 5}, {1, 1}} {
		_, err := PlanWindows(10, tt.maxLen, tt.stride)
		assert.ErrorContains(t, err, "need 1 <= stride < max length", "L=%d S=%d", tt.maxLen, tt.stride)
	}
}

// TestPlanRollingWindowsByHand works lm-eval's get_rolling_token_windows +
// make_disjoint_window out on paper for a 9-token document after BOS (ids
// 0..9) and max_seq_len 3 (so windows of 4 ids: 3 inputs, 3 targets):
//
//	window 1: ([BOS] + t[0:2], t[0:3])         -> ids 0..3, targets 1,2,3
//	window 2: (t[2:5], t[3:6]) -> disjoint (t[2:3], t[3:6]) -> ids 3..6, targets 4,5,6
//	window 3: (t[5:8], t[6:9]) -> disjoint (t[5:6], t[6:9]) -> ids 6..9, targets 7,8,9
//
// and with 8 tokens the last window predicts 2 tokens from 2 of context:
//
//	window 3: (t[4:7], t[6:8]) -> disjoint (t[4:6], t[6:8]) -> ids 5..8, targets 7,8
func TestPlanRollingWindowsByHand(t *testing.T) {
	got, err := PlanRollingWindows(10, 4)
	require.NoError(t, err)
	assert.Equal(t, []Window{{0, 4, 1}, {3, 7, 4}, {6, 10, 7}}, got)
	got, err = PlanRollingWindows(9, 4)
	require.NoError(t, err)
	assert.Equal(t, []Window{{0, 4, 1}, {3, 7, 4}, {5, 9, 7}}, got)
	got, err = PlanRollingWindows(3, 4)
	require.NoError(t, err)
	assert.Equal(t, []Window{{0, 3, 1}}, got, "a short document is one pass")
	got, err = PlanRollingWindows(1, 4)
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = PlanRollingWindows(10, 1)
	assert.ErrorContains(t, err, "no token to predict")

	strided, err := PlanDocumentWindows(WindowsStrided, 10, 4)
	require.NoError(t, err)
	want, err := PlanWindows(10, 4, 1)
	require.NoError(t, err)
	assert.Equal(t, want, strided, "the earlier scheme: stride half the 3 predicted positions")
	_, err = ParseWindowScheme("sliding")
	assert.ErrorContains(t, err, `unknown perplexity window scheme "sliding"`)
}

// Every token after the prefix is scored exactly once, whatever the length.
func TestPlanRollingWindowsScoresEveryTokenOnce(t *testing.T) {
	for numTokens := 2; numTokens < 40; numTokens++ {
		for maxLen := 2; maxLen < 12; maxLen++ {
			windows, err := PlanRollingWindows(numTokens, maxLen)
			require.NoError(t, err)
			seen := make([]int, numTokens)
			for _, w := range windows {
				assert.LessOrEqual(t, w.End-w.Begin, maxLen)
				assert.GreaterOrEqual(t, w.Begin, 0)
				assert.Greater(t, w.FirstTarget, w.Begin, "a target needs a position before it")
				for i := w.FirstTarget; i < w.End; i++ {
					seen[i]++
				}
			}
			for i := 1; i < numTokens; i++ {
				require.Equal(t, 1, seen[i], "tokens %d, max length %d, token %d", numTokens, maxLen, i)
			}
		}
	}
}
