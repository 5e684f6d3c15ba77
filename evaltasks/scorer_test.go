package evaltasks

import (
	"errors"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

// cacheVocabulary is the add-one smoothing constant of cacheScorer.
const cacheVocabulary = 64

// cacheScorer is a tiny deterministic language model whose log-likelihoods
// can be computed by hand: each character's probability is
// (occurrences so far in context+continuation + 1) / (characters so far + 64),
// and a "token" is a whitespace-separated word (a lone space is one token). It depends on the context, so
// PMI and few-shot prompts change its answers, unlike a plain unigram model.
type cacheScorer struct {
	calls [][]Request
	// failAfter makes call number failAfter (1-based) return an error.
	failAfter int
	// dropOne makes every call return one result too few.
	dropOne bool
}

func (s *cacheScorer) LogLikelihoods(reqs []Request) ([]Result, error) {
	s.calls = append(s.calls, reqs)
	if s.failAfter > 0 && len(s.calls) == s.failAfter {
		return nil, errors.New("device lost")
	}
	out := make([]Result, len(reqs))
	for i, req := range reqs {
		out[i] = Result{LogLikelihood: cacheLogLikelihood(req.Context, req.Continuation), NumTokens: max(1, len(strings.Fields(req.Continuation)))}
	}
	if s.dropOne {
		out = out[:len(out)-1]
	}
	return out, nil
}

func cacheLogLikelihood(context, continuation string) float64 {
	history := context
	total := 0.0
	for _, r := range continuation {
		seen := strings.Count(history, string(r))
		total += math.Log(float64(seen+1) / float64(utf8.RuneCountInString(history)+cacheVocabulary))
		history += string(r)
	}
	return total
}

func TestCacheScorerByHand(t *testing.T) {
	tests := []struct {
		name, context, continuation string
		want                        float64
	}{
		// ' ' unseen in "ab" (2 chars): 1/66; then 'b' seen once in "ab " (3 chars): 2/67.
		{"two characters", "ab", " b", math.Log(1.0/66) + math.Log(2.0/67)},
		// 'é' counts as one character of history.
		{"accented history", "é", "é", math.Log(2.0 / 65)},
		{"empty continuation", "abc", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, cacheLogLikelihood(tt.context, tt.continuation), 1e-12)
		})
	}
}
