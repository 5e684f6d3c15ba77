package trained

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSample(t *testing.T) {
	logits := []float32{0.1, 2.5, -1, 2.4}
	r := rand.New(rand.NewPCG(1, 2))
	assert.Equal(t, 1, sample(logits, 0, 0, r))
	assert.Equal(t, 1, sample(logits, 1, 1, r)) // top-1 sampling is greedy
	counts := map[int]int{}
	for i := 0; i < 2000; i++ {
		counts[sample(logits, 1, 2, r)]++
	}
	assert.Zero(t, counts[0]+counts[2], "sampled outside the top 2")
	// p(1)/p(3) = e^0.1 ≈ 1.105
	assert.InDelta(t, math.Exp(0.1), float64(counts[1])/float64(counts[3]), 0.15)
}
