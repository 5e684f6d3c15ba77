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
// new-domain corpus. Each corpus is read as one packed token stream (seq+1
// tokens per row: inputs and shifted targets), wrapping around at the end.
// Its whole state (cursors and RNG) is serialisable for exact resume.
type Mixer struct {
	New, Orig *data.Corpus
	P         float64
	pcg       *rand.PCG
	rng       *rand.Rand
	NewPos    int64
	OrigPos   int64
	buf       []int64
}

// NewMixer validates its inputs; orig may be nil only when p == 0.
func NewMixer(newC, orig *data.Corpus, p float64, seed uint64) (*Mixer, error) {
	if newC == nil {
		return nil, fmt.Errorf("no new-domain corpus")
	}
	if p < 0 || p > 1 {
		return nil, fmt.Errorf("mixing ratio p=%g outside [0, 1]", p)
	}
	if p > 0 && orig == nil {
		return nil, fmt.Errorf("p=%g needs an original-domain corpus (--orig)", p)
	}
	if orig != nil && orig.TokenizerHash() != newC.TokenizerHash() {
		return nil, fmt.Errorf("new and original corpora were tokenized differently (%s vs %s)", data.ShortHash(newC.TokenizerHash()), data.ShortHash(orig.TokenizerHash()))
	}
	pcg := rand.NewPCG(seed, 0x6e72677261706821) // "nrgraph!"
	return &Mixer{New: newC, Orig: orig, P: p, pcg: pcg, rng: rand.New(pcg)}, nil
}

// Fill draws b.Rows sequences into b.
func (m *Mixer) Fill(b *build.Batch) error {
	if cap(m.buf) < b.Seq+1 {
		m.buf = make([]int64, b.Seq+1)
	}
	buf := m.buf[:b.Seq+1]
	for r := 0; r < b.Rows; r++ {
		orig := m.P > 0 && m.rng.Float64() < m.P
		if orig {
			if err := m.Orig.Read(m.OrigPos, buf); err != nil {
				return fmt.Errorf("--orig: %w", err)
			}
			m.OrigPos = (m.OrigPos + int64(b.Seq)) % m.Orig.Len()
			b.Domain[r] = 1
		} else {
			if err := m.New.Read(m.NewPos, buf); err != nil {
				return fmt.Errorf("--new: %w", err)
			}
			m.NewPos = (m.NewPos + int64(b.Seq)) % m.New.Len()
			b.Domain[r] = 0
		}
		copy(b.IDs[r*b.Seq:], buf[:b.Seq])
		copy(b.Targets[r*b.Seq:], buf[1:])
	}
	return nil
}

// MixerState is the serialisable state of a Mixer.
type MixerState struct {
	NewPos  int64  `json:"new_pos"`
	OrigPos int64  `json:"orig_pos"`
	RNG     []byte `json:"rng"`
}

// State captures the mixer for a checkpoint.
func (m *Mixer) State() (MixerState, error) {
	rng, err := m.pcg.MarshalBinary()
	return MixerState{NewPos: m.NewPos, OrigPos: m.OrigPos, RNG: rng}, err
}

// Restore resumes from a checkpointed state.
func (m *Mixer) Restore(s MixerState) error {
	if err := m.pcg.UnmarshalBinary(s.RNG); err != nil {
		return fmt.Errorf("restore data-loader RNG: %w", err)
	}
	m.NewPos, m.OrigPos = s.NewPos, s.OrigPos
	return nil
}

// String for logs.
func (s MixerState) String() string {
	b, _ := json.Marshal(s)
	return string(b)
}
