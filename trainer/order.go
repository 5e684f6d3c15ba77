package trainer

import (
	"fmt"
	"math/bits"
	"slices"
)

// DataOrder is the order in which the trainer reads each corpus's windows
// (seq+1 tokens starting every seq tokens: a row's inputs and its shifted
// targets).
type DataOrder string

// The data orders.
const (
	// Shuffled visits the windows in a seeded pseudo-random permutation,
	// a new one each epoch: corpora are usually stored grouped by source
	// (the demo's fr_train opens with 2.7 MB of man pages), so reading
	// them in order trains a short run on one source only.
	Shuffled DataOrder = "shuffled"
	// Sequential reads from the start and wraps around: the only order
	// before --data-order existed, kept so old checkpoints resume.
	Sequential DataOrder = "sequential"
)

// DataOrders lists every data order.
var DataOrders = []DataOrder{Shuffled, Sequential}

func (o DataOrder) validate() error {
	if slices.Contains(DataOrders, o) {
		return nil
	}
	return fmt.Errorf("--data-order %q: want shuffled or sequential", o)
}

// windowCount is how many windows a corpus of n tokens holds at stride
// seq: every token is an input once per epoch, the last window wrapping
// to the corpus start as the sequential reader does.
func windowCount(n int64, seq int) int64 {
	return (n + int64(seq) - 1) / int64(seq)
}

// feistelRounds: four rounds of a keyed pseudo-random function make a
// pseudo-random permutation (Luby-Rackoff); six leave a margin for the
// simple round function.
const feistelRounds = 6

// windowPermutation is a keyed bijection of [0, n): a balanced Feistel
// network over the smallest even number of bits that covers n, with cycle
// walking (re-applying it until the value falls below n; the domain is
// under 4n, so under four applications on average). It is stateless: a
// position's window is computed, not looked up, so the loader's state is
// (epoch, index) whatever the corpus size, where a permutation array for a
// billion-token corpus would take tens of MB in memory and in every
// checkpoint.
type windowPermutation struct {
	n        uint64
	halfBits uint
	keys     [feistelRounds]uint64
}

// newWindowPermutation keys the permutation of one corpus (stream) in one
// epoch from the run's seed.
func newWindowPermutation(n int64, seed, stream, epoch uint64) windowPermutation {
	p := windowPermutation{n: uint64(n)}
	width := uint(bits.Len64(p.n - 1)) // bits of the largest value, n-1
	p.halfBits = max(1, (width+1)/2)
	key := mix64(seed ^ mix64(stream<<48^epoch))
	for i := range p.keys {
		key = mix64(key + 0x9e3779b97f4a7c15)
		p.keys[i] = key
	}
	return p
}

// at returns the window visited i-th (0 <= i < n).
func (p windowPermutation) at(i uint64) uint64 {
	x := p.feistel(i)
	for x >= p.n { // cycle walking: stays on i's cycle, so it ends in [0, n)
		x = p.feistel(x)
	}
	return x
}

func (p windowPermutation) feistel(x uint64) uint64 {
	mask := uint64(1)<<p.halfBits - 1
	left, right := x>>p.halfBits, x&mask
	for _, k := range p.keys {
		left, right = right, left^(mix64(right^k)&mask)
	}
	return left<<p.halfBits | right
}

// mix64 is SplitMix64's finalizer: a fast bijective 64-bit mixer whose
// every output bit depends on every input bit.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
