package evaltasks

import "math"

// pyRandom reproduces CPython's random.Random for an integer seed: the
// MT19937 generator seeded through init_by_array with the seed's 32-bit
// words, getrandbits, _randbelow and sample's two algorithms. lm-eval draws
// few-shot examples with random.Random(1234).sample, so matching its
// examples means matching this generator bit for bit.
type pyRandom struct {
	mt  [mtN]uint32
	mti int
}

const (
	mtN         = 624
	mtM         = 397
	mtUpperMask = 0x80000000
	mtLowerMask = 0x7fffffff
)

// newPyRandom is random.Random(seed) for a non-negative integer seed.
func newPyRandom(seed uint64) *pyRandom {
	// random_seed(): the absolute value's 32-bit words, least significant
	// first; zero is the one-word key [0].
	key := []uint32{uint32(seed)}
	if hi := uint32(seed >> 32); hi != 0 {
		key = append(key, hi)
	}
	r := &pyRandom{}
	r.initByArray(key)
	return r
}

func (r *pyRandom) initGenrand(s uint32) {
	r.mt[0] = s
	for i := 1; i < mtN; i++ {
		r.mt[i] = 1812433253*(r.mt[i-1]^(r.mt[i-1]>>30)) + uint32(i)
	}
	r.mti = mtN
}

func (r *pyRandom) initByArray(key []uint32) {
	r.initGenrand(19650218)
	i, j := 1, 0
	for k := max(mtN, len(key)); k > 0; k-- {
		r.mt[i] = (r.mt[i] ^ ((r.mt[i-1] ^ (r.mt[i-1] >> 30)) * 1664525)) + key[j] + uint32(j)
		i++
		j++
		if i >= mtN {
			r.mt[0] = r.mt[mtN-1]
			i = 1
		}
		if j >= len(key) {
			j = 0
		}
	}
	for k := mtN - 1; k > 0; k-- {
		r.mt[i] = (r.mt[i] ^ ((r.mt[i-1] ^ (r.mt[i-1] >> 30)) * 1566083941)) - uint32(i)
		i++
		if i >= mtN {
			r.mt[0] = r.mt[mtN-1]
			i = 1
		}
	}
	r.mt[0] = 0x80000000 // MSB is 1, assuring a non-zero initial array
}

// uint32 is genrand_uint32: the next tempered 32-bit output.
func (r *pyRandom) uint32() uint32 {
	mag01 := [2]uint32{0, 0x9908b0df}
	if r.mti >= mtN {
		var kk int
		for kk = 0; kk < mtN-mtM; kk++ {
			y := (r.mt[kk] & mtUpperMask) | (r.mt[kk+1] & mtLowerMask)
			r.mt[kk] = r.mt[kk+mtM] ^ (y >> 1) ^ mag01[y&1]
		}
		for ; kk < mtN-1; kk++ {
			y := (r.mt[kk] & mtUpperMask) | (r.mt[kk+1] & mtLowerMask)
			r.mt[kk] = r.mt[kk+(mtM-mtN)] ^ (y >> 1) ^ mag01[y&1]
		}
		y := (r.mt[mtN-1] & mtUpperMask) | (r.mt[0] & mtLowerMask)
		r.mt[mtN-1] = r.mt[mtM-1] ^ (y >> 1) ^ mag01[y&1]
		r.mti = 0
	}
	y := r.mt[r.mti]
	r.mti++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// randBelow is _randbelow_with_getrandbits(n): getrandbits(n.bit_length())
// until the draw is below n. getrandbits(k) for k <= 32 keeps the top k bits
// of one output; pools here are far below 2^32.
func (r *pyRandom) randBelow(n int) int {
	if n <= 0 || n > math.MaxUint32 {
		panic("pyRandom.randBelow: n out of range")
	}
	k := 0
	for v := n; v > 0; v >>= 1 {
		k++
	}
	for {
		if v := int(r.uint32() >> (32 - k)); v < n {
			return v
		}
	}
}

// sample is random.sample(range(n), k): k distinct indices in draw order,
// by the same two algorithms CPython picks between (a shrinking pool for
// small populations, rejection from a set for large ones), since they
// consume the generator differently.
func (r *pyRandom) sample(n, k int) []int {
	if k < 0 || k > n {
		panic("pyRandom.sample: sample larger than population or negative")
	}
	result := make([]int, k)
	setsize := 21 // size of a small set minus size of an empty list
	if k > 5 {
		setsize += int(math.Pow(4, math.Ceil(math.Log(float64(k*3))/math.Log(4)))) // table size for big sets
	}
	if n <= setsize {
		pool := make([]int, n)
		for i := range pool {
			pool[i] = i
		}
		for i := 0; i < k; i++ {
			j := r.randBelow(n - i)
			result[i] = pool[j]
			pool[j] = pool[n-i-1] // move the non-selected item into the vacancy
		}
		return result
	}
	selected := map[int]bool{}
	for i := 0; i < k; i++ {
		j := r.randBelow(n)
		for selected[j] {
			j = r.randBelow(n)
		}
		selected[j] = true
		result[i] = j
	}
	return result
}
