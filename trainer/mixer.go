package trainer

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/nrgraph/nrgraph/data"
	"github.com/nrgraph/nrgraph/models/build"
)

// Mixer draws training sequences: each row comes from the original-domain
// corpus with probability P (the paper's p; 0.1 by default), else from the
// new-domain corpus. Each corpus is cut into windows of seq+1 tokens
// (inputs and shifted targets) every seq tokens, read in Order (see
// DataOrder). Its whole state (cursors and RNG) is serialisable for exact
// resume.
type Mixer struct {
	New, Orig *data.Corpus
	P         float64
	Order     DataOrder
	seq       int
	seed      uint64
	pcg       *rand.PCG
	rng       *rand.Rand
	new, orig corpusCursor
	buf       []int64
}

// MixerOptions configure a Mixer.
type MixerOptions struct {
	P     float64 // probability of an original-domain row
	Seed  uint64  // the run's seed: domain draws and the shuffled order
	Order DataOrder
	Seq   int // the build's sequence length
}

// corpusCursor is where reading one corpus stands: the next token in
// sequential order, or the epoch and the windows drawn in it when
// shuffled.
type corpusCursor struct {
	c      *data.Corpus
	stream uint64 // keys the corpus's permutation apart from the other's
	pos    int64
	epoch  int64
	index  int64
	// perm is the permutation of permEpoch, kept between draws.
	perm      windowPermutation
	permEpoch int64
}

// NewMixer validates its inputs; orig may be nil only when o.P == 0.
func NewMixer(newC, orig *data.Corpus, o MixerOptions) (*Mixer, error) {
	if newC == nil {
		return nil, fmt.Errorf("no new-domain corpus")
	}
	if o.P < 0 || o.P > 1 {
		return nil, fmt.Errorf("mixing ratio p=%g outside [0, 1]", o.P)
	}
	if o.P > 0 && orig == nil {
		return nil, fmt.Errorf("p=%g needs an original-domain corpus (--orig)", o.P)
	}
	if orig != nil && orig.TokenizerHash() != newC.TokenizerHash() {
		return nil, fmt.Errorf("new and original corpora were tokenized differently (%s vs %s)", data.ShortHash(newC.TokenizerHash()), data.ShortHash(orig.TokenizerHash()))
	}
	if err := o.Order.validate(); err != nil {
		return nil, err
	}
	if o.Seq <= 0 {
		return nil, fmt.Errorf("sequence length %d must be positive", o.Seq)
	}
	pcg := rand.NewPCG(o.Seed, 0x6e72677261706821) // "nrgraph!"
	m := &Mixer{New: newC, Orig: orig, P: o.P, Order: o.Order, seq: o.Seq, seed: o.Seed, pcg: pcg, rng: rand.New(pcg)}
	m.new = corpusCursor{c: newC, stream: 0}
	m.orig = corpusCursor{c: orig, stream: 1}
	return m, nil
}

// Fill draws b.Rows sequences into b.
func (m *Mixer) Fill(b *build.Batch) error {
	if b.Seq != m.seq {
		return fmt.Errorf("batch of sequence length %d, the data loader cuts windows of %d", b.Seq, m.seq)
	}
	if cap(m.buf) < b.Seq+1 {
		m.buf = make([]int64, b.Seq+1)
	}
	buf := m.buf[:b.Seq+1]
	for r := 0; r < b.Rows; r++ {
		cur, flag, domain := &m.new, "--new", float32(0)
		if m.P > 0 && m.rng.Float64() < m.P {
			cur, flag, domain = &m.orig, "--orig", 1
		}
		if err := cur.c.Read(m.next(cur), buf); err != nil {
			return fmt.Errorf("%s: %w", flag, err)
		}
		b.Domain[r] = domain
		copy(b.IDs[r*b.Seq:], buf[:b.Seq])
		copy(b.Targets[r*b.Seq:], buf[1:])
	}
	return nil
}

// next returns the first token of cur's next window and advances cur.
func (m *Mixer) next(cur *corpusCursor) int64 {
	if m.Order == Sequential {
		pos := cur.pos
		cur.pos = (cur.pos + int64(m.seq)) % cur.c.Len()
		return pos
	}
	n := windowCount(cur.c.Len(), m.seq)
	if cur.perm.n != uint64(n) || cur.permEpoch != cur.epoch {
		cur.perm, cur.permEpoch = newWindowPermutation(n, m.seed, cur.stream, uint64(cur.epoch)), cur.epoch
	}
	w := int64(cur.perm.at(uint64(cur.index)))
	if cur.index++; cur.index == n {
		cur.epoch, cur.index = cur.epoch+1, 0
	}
	return w * int64(m.seq)
}

// cursors lists every position the mixer holds, for the replica check.
func (m *Mixer) cursors() []int64 {
	return []int64{m.new.pos, m.orig.pos, m.new.epoch, m.new.index, m.orig.epoch, m.orig.index}
}

// MixerState is the serialisable state of a Mixer.
type MixerState struct {
	NewPos  int64  `json:"new_pos"`
	OrigPos int64  `json:"orig_pos"`
	RNG     []byte `json:"rng"`
	// Order is absent from checkpoints written before shuffling existed,
	// which read in sequential order.
	Order DataOrder `json:"order,omitempty"`
	// NewWindows and OrigWindows are the shuffled order's cursors.
	NewWindows  *WindowCursor `json:"new_windows,omitempty"`
	OrigWindows *WindowCursor `json:"orig_windows,omitempty"`
}

// WindowCursor is where a shuffled corpus stands: Index windows of Epoch
// drawn. Windows is the corpus's window count then: the permutation is
// drawn over it, so a corpus that changed size cannot resume exactly.
type WindowCursor struct {
	Epoch   int64 `json:"epoch"`
	Index   int64 `json:"index"`
	Windows int64 `json:"windows"`
}

// State captures the mixer for a checkpoint.
func (m *Mixer) State() (MixerState, error) {
	rng, err := m.pcg.MarshalBinary()
	s := MixerState{RNG: rng, Order: m.Order}
	if m.Order == Sequential {
		s.NewPos, s.OrigPos = m.new.pos, m.orig.pos
		return s, err
	}
	s.NewWindows = m.windowCursor(&m.new)
	s.OrigWindows = m.windowCursor(&m.orig)
	return s, err
}

func (m *Mixer) windowCursor(cur *corpusCursor) *WindowCursor {
	if cur.c == nil {
		return nil
	}
	return &WindowCursor{Epoch: cur.epoch, Index: cur.index, Windows: windowCount(cur.c.Len(), m.seq)}
}

// Restore resumes from a checkpointed state.
func (m *Mixer) Restore(s MixerState) error {
	order := s.Order
	if order == "" {
		order = Sequential
	}
	if order != m.Order {
		return fmt.Errorf("the checkpoint read its data in %s order, this run in %s: pass --data-order %s", order, m.Order, order)
	}
	if m.Order == Shuffled {
		for _, c := range []struct {
			flag  string
			cur   *corpusCursor
			saved *WindowCursor
		}{{"--new", &m.new, s.NewWindows}, {"--orig", &m.orig, s.OrigWindows}} {
			if err := m.restoreWindows(c.flag, c.cur, c.saved); err != nil {
				return err
			}
		}
	}
	if err := m.pcg.UnmarshalBinary(s.RNG); err != nil {
		return fmt.Errorf("restore data-loader RNG: %w", err)
	}
	m.new.pos, m.orig.pos = s.NewPos, s.OrigPos
	return nil
}

// restoreWindows sets cur from saved, refusing a corpus whose window count
// changed since the checkpoint.
func (m *Mixer) restoreWindows(flag string, cur *corpusCursor, saved *WindowCursor) error {
	if cur.c == nil {
		return nil
	}
	if saved == nil {
		return fmt.Errorf("%s: the checkpoint has no shuffled-order cursor for this corpus", flag)
	}
	n := windowCount(cur.c.Len(), m.seq)
	if saved.Windows != n || saved.Index < 0 || saved.Index >= n || saved.Epoch < 0 {
		return fmt.Errorf("%s: the checkpoint's shuffled order covers %d windows (at epoch %d, window %d), the shards now hold %d windows of %d tokens: the data changed since the checkpoint; restore it, or start a new --out",
			flag, saved.Windows, saved.Epoch, saved.Index, n, m.seq)
	}
	cur.epoch, cur.index = saved.Epoch, saved.Index
	return nil
}

// String for logs.
func (s MixerState) String() string {
	b, _ := json.Marshal(s)
	return string(b)
}
