package trainer

import (
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/data"
	"github.com/nrgraph/nrgraph/internal/testfixture"
	"github.com/nrgraph/nrgraph/models/build"
)

// permutationOf lists the windows a permutation visits, in order.
func permutationOf(n int64, seed, stream, epoch uint64) []uint64 {
	p := newWindowPermutation(n, seed, stream, epoch)
	out := make([]uint64, n)
	for i := range out {
		out[i] = p.at(uint64(i))
	}
	return out
}

func TestWindowPermutationVisitsEachWindowOnce(t *testing.T) {
	for _, n := range []int64{1, 2, 3, 4, 5, 7, 8, 13, 16, 31, 64, 97, 127, 128, 1000, 1024, 4099, 1<<16 + 1} {
		for _, seed := range []uint64{1, 7, 1 << 40} {
			for epoch := uint64(0); epoch < 3; epoch++ {
				seen := make([]bool, n)
				for i, w := range permutationOf(n, seed, 0, epoch) {
					if w >= uint64(n) || seen[w] {
						t.Fatalf("n %d seed %d epoch %d: position %d visits window %d again or outside [0, n)", n, seed, epoch, i, w)
					}
					seen[w] = true
				}
			}
		}
	}
}

func TestWindowPermutationIsKeyed(t *testing.T) {
	for _, n := range []int64{16, 97, 1000, 4099} {
		base := permutationOf(n, 1, 0, 0)
		identity := make([]uint64, n)
		for i := range identity {
			identity[i] = uint64(i)
		}
		assert.NotEqual(t, identity, base, "n %d: not shuffled", n)
		assert.NotEqual(t, base, permutationOf(n, 1, 0, 1), "n %d: epoch 1 repeats epoch 0", n)
		assert.NotEqual(t, base, permutationOf(n, 2, 0, 0), "n %d: seeds 1 and 2 give one order", n)
		assert.NotEqual(t, base, permutationOf(n, 1, 1, 0), "n %d: both corpora share one order", n)
		assert.Equal(t, base, permutationOf(n, 1, 0, 0), "n %d: not deterministic", n)
	}
	// Far from the identity: a uniformly random permutation of n has one
	// fixed point on average, and rank correlation ~0 (sd 1/sqrt(n-1)).
	const n = 4099
	for seed := uint64(1); seed <= 5; seed++ {
		p := permutationOf(n, seed, 0, 0)
		fixed, sum := 0, 0.0
		for i, w := range p {
			if uint64(i) == w {
				fixed++
			}
			sum += (float64(i) - (n-1)/2.0) * (float64(w) - (n-1)/2.0)
		}
		rho := sum / (float64(n) * (float64(n)*float64(n) - 1) / 12)
		assert.LessOrEqual(t, fixed, 6, "seed %d: %d fixed points", seed, fixed)
		assert.Less(t, rho*rho, 16.0/(n-1), "seed %d: rank correlation %.3f", seed, rho)
	}
}

// positionCorpus is one shard whose token i is i (a vocabulary wide
// enough for the position), so a row's first token names its window.
func positionCorpus(t *testing.T, tokens int) *data.Corpus {
	stem := filepath.Join(t.TempDir(), "pos")
	w, err := data.CreateShard(stem, "test-tokenizer", 1<<16)
	require.NoError(t, err)
	doc := make([]int, tokens)
	for i := range doc {
		doc[i] = i
	}
	require.NoError(t, w.AddDocument(doc, tokens))
	require.NoError(t, w.Close())
	c, err := data.OpenCorpus([]string{stem})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// firstTokens draws rows of seq and returns each row's first token.
func firstTokens(t *testing.T, m *Mixer, rows, seq int) []int64 {
	b := build.NewBatch(rows, seq)
	require.NoError(t, m.Fill(b))
	out := make([]int64, rows)
	for r := range out {
		out[r] = b.IDs[r*seq]
	}
	return out
}

// Shuffled: each epoch starts every window (0, seq, 2·seq, ...; the last
// one wrapping) exactly once, in a new order.
func TestShuffledEpochsVisitEveryWindowOnce(t *testing.T) {
	const seq = 8
	for _, tokens := range []int{9, 16, 17, 8*97 + 5, 8 * 128} {
		c := positionCorpus(t, tokens)
		m, err := NewMixer(c, nil, MixerOptions{Seed: 3, Order: Shuffled, Seq: seq})
		require.NoError(t, err)
		n := (tokens + seq - 1) / seq
		var want []int64
		for w := 0; w < n; w++ {
			want = append(want, int64(w*seq))
		}
		var epochs [][]int64
		for e := 0; e < 3; e++ {
			b := build.NewBatch(n, seq)
			require.NoError(t, m.Fill(b))
			got := make([]int64, n)
			for r := range got {
				got[r] = b.IDs[r*seq]
				for k := 0; k < seq; k++ { // seq+1 consecutive tokens, wrapping at the end
					require.Equal(t, (got[r]+int64(k))%int64(tokens), b.IDs[r*seq+k])
					require.Equal(t, (got[r]+int64(k)+1)%int64(tokens), b.Targets[r*seq+k])
				}
			}
			epochs = append(epochs, slices.Clone(got))
			slices.Sort(got)
			require.Equal(t, want, got, "%d tokens, epoch %d", tokens, e)
		}
		if n > 3 {
			assert.NotEqual(t, epochs[0], epochs[1], "%d tokens: epochs 0 and 1 in one order", tokens)
			assert.NotEqual(t, epochs[1], epochs[2], "%d tokens: epochs 1 and 2 in one order", tokens)
		}
	}
}

// sourceCorpus is 4 sources of 1,600 tokens stored one after the other
// (token = source), as the demo's fr_train stores man pages, then help.
func sourceCorpus(t *testing.T) *data.Corpus {
	stem := filepath.Join(t.TempDir(), "sources")
	testfixture.WriteShard(t, stem, 6400, func(i int) int { return i / 1600 })
	c, err := data.OpenCorpus([]string{stem})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// The first tenth of an epoch draws from every source about in proportion;
// read in order (the only order before --data-order) it saw the first
// source alone.
func TestShuffledRowsSpanTheCorpus(t *testing.T) {
	c := sourceCorpus(t)
	count := func(order DataOrder) [4]int {
		m, err := NewMixer(c, nil, MixerOptions{Seed: 1, Order: order, Seq: 16})
		require.NoError(t, err)
		var n [4]int
		for _, tok := range firstTokens(t, m, 40, 16) { // 40 of 400 windows
			n[tok]++
		}
		return n
	}
	assert.Equal(t, [4]int{40, 0, 0, 0}, count(Sequential))
	for s, k := range count(Shuffled) {
		// Hypergeometric: 10 expected, sd ~2.8.
		assert.InDelta(t, 10, k, 8, "source %d: %d of 40 rows", s, k)
	}
}

// drawHash draws batches of 5 x 8 and hashes what the trainer sees.
func drawHash(t *testing.T, m *Mixer, batches int) uint64 {
	b := build.NewBatch(5, 8)
	h := fnv.New64a()
	for i := 0; i < batches; i++ {
		require.NoError(t, m.Fill(b))
		for _, v := range b.IDs {
			h.Write(binary.LittleEndian.AppendUint64(nil, uint64(v)))
		}
		for _, v := range b.Targets {
			h.Write(binary.LittleEndian.AppendUint64(nil, uint64(v)))
		}
		for _, v := range b.Domain {
			h.Write(binary.LittleEndian.AppendUint32(nil, uint32(v)))
		}
	}
	return h.Sum64()
}

// goldenCorpora are the corpora the golden hashes below were drawn from.
func goldenCorpora(t *testing.T) (a, b *data.Corpus) {
	dir := t.TempDir()
	testfixture.WriteShard(t, filepath.Join(dir, "a"), 1001, func(i int) int { return (i * 7 / 3) % testfixture.Vocab })
	testfixture.WriteShard(t, filepath.Join(dir, "b"), 333, func(i int) int { return (i*i + 1) % testfixture.Vocab })
	a, err := data.OpenCorpus([]string{filepath.Join(dir, "a")})
	require.NoError(t, err)
	b, err = data.OpenCorpus([]string{filepath.Join(dir, "b")})
	require.NoError(t, err)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// The hashes, and the state after 30 batches, are what the loader before
// --data-order produced (NewMixer(a, b, 0.25, 7) at commit 588c6fb): the
// sequential order and an old checkpoint's cursor reproduce it exactly.
const (
	oldFirst30   = 0x3229565ae8e11386
	oldNext30    = 0x4342f19b4e13de31
	oldStateAt30 = `{"new_pos":872,"orig_pos":328,"rng":"cGNnOhJQrbN7JXhWN0IiTuisiRc="}`
)

func TestSequentialIsTheOldLoader(t *testing.T) {
	a, b := goldenCorpora(t)
	opts := MixerOptions{P: 0.25, Seed: 7, Order: Sequential, Seq: 8}
	m, err := NewMixer(a, b, opts)
	require.NoError(t, err)
	assert.Equal(t, uint64(oldFirst30), drawHash(t, m, 30))
	assert.Equal(t, uint64(oldNext30), drawHash(t, m, 30))

	var old MixerState
	require.NoError(t, json.Unmarshal([]byte(oldStateAt30), &old))
	resumed, err := NewMixer(a, b, opts)
	require.NoError(t, err)
	require.NoError(t, resumed.Restore(old))
	assert.Equal(t, uint64(oldNext30), drawHash(t, resumed, 30), "an old checkpoint resumes as before")

	opts.Order = Shuffled
	shuffled, err := NewMixer(a, b, opts)
	require.NoError(t, err)
	assert.EqualError(t, shuffled.Restore(old), "the checkpoint read its data in sequential order, this run in shuffled: pass --data-order sequential")
	assert.NotEqual(t, uint64(oldFirst30), drawHash(t, shuffled, 30), "shuffled reads another order")
}

// A state saved mid-epoch, through JSON as in a checkpoint, resumes the
// same rows (across the next epoch boundaries of both corpora) as the
// mixer that never stopped.
func TestShuffledStateRoundTrip(t *testing.T) {
	a, b := goldenCorpora(t) // 126 and 42 windows of 8
	opts := MixerOptions{P: 0.25, Seed: 7, Order: Shuffled, Seq: 8}
	for _, stop := range []int{1, 7, 25} { // batches of 5 rows before the save
		m, err := NewMixer(a, b, opts)
		require.NoError(t, err)
		drawHash(t, m, stop)
		st, err := m.State()
		require.NoError(t, err)
		raw, err := json.Marshal(st)
		require.NoError(t, err)
		var back MixerState
		require.NoError(t, json.Unmarshal(raw, &back))
		resumed, err := NewMixer(a, b, opts)
		require.NoError(t, err)
		require.NoError(t, resumed.Restore(back))
		assert.Equal(t, drawHash(t, m, 80), drawHash(t, resumed, 80), "saved after %d batches: %s", stop, raw)
	}
	m, err := NewMixer(a, b, opts)
	require.NoError(t, err)
	drawHash(t, m, 60) // 300 rows: past the end of both corpora's first epoch
	st, err := m.State()
	require.NoError(t, err)
	assert.Positive(t, st.NewWindows.Epoch)
	assert.Positive(t, st.OrigWindows.Epoch)
	assert.Equal(t, int64(126), st.NewWindows.Windows)
}

func TestShuffledStateRefusesChangedData(t *testing.T) {
	a, b := goldenCorpora(t)
	m, err := NewMixer(a, b, MixerOptions{P: 0.25, Seed: 7, Order: Shuffled, Seq: 8})
	require.NoError(t, err)
	drawHash(t, m, 3)
	st, err := m.State()
	require.NoError(t, err)
	st.NewWindows.Windows = 130
	assert.ErrorContains(t, m.Restore(st), "--new: the checkpoint's shuffled order covers 130 windows (at epoch 0, window ")
	assert.ErrorContains(t, m.Restore(st), "the shards now hold 126 windows of 8 tokens: the data changed since the checkpoint")
	st.NewWindows = nil
	assert.ErrorContains(t, m.Restore(st), "--new: the checkpoint has no shuffled-order cursor")
}

// Held-out scoring spreads its budget evenly over the set (the first
// windows alone were one source of a set stored grouped by source), and
// scores every window once the budget covers them.
func TestHeldOutWindowsSpanTheSet(t *testing.T) {
	for _, tc := range []struct {
		tokens      int64
		seq, budget int
		want        []int64
	}{
		{tokens: 161, seq: 16, budget: 4, want: []int64{0, 32, 80, 112}},                            // 10 windows
		{tokens: 161, seq: 16, budget: 10, want: []int64{0, 16, 32, 48, 64, 80, 96, 112, 128, 144}}, // all
		{tokens: 161, seq: 16, budget: 64, want: []int64{0, 16, 32, 48, 64, 80, 96, 112, 128, 144}},
		{tokens: 160, seq: 16, budget: 64, want: []int64{0, 16, 32, 48, 64, 80, 96, 112, 128}}, // the last window lacks its target
		{tokens: 17, seq: 16, budget: 8, want: []int64{0}},
	} {
		assert.Equal(t, tc.want, HeldOutStarts(tc.tokens, tc.seq, tc.budget), "%d tokens, seq %d, budget %d", tc.tokens, tc.seq, tc.budget)
	}
	// 4 sources of 1,600 tokens stored in turn (400 windows of 16, the
	// last one's target a token beyond): 16 rows read 4 from each.
	var perSource [4]int
	for _, s := range HeldOutStarts(6401, 16, 16) {
		perSource[s/1600]++
	}
	assert.Equal(t, [4]int{4, 4, 4, 4}, perSource)
}
