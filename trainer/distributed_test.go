package trainer

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/models"
)

// twoRanks is rank 0 of a simulated 2-rank job: other supplies what rank 1
// contributes to each float64 all-reduce.
type twoRanks struct {
	Single
	other func(buf []float64) []float64
}

func (c twoRanks) Size() int { return 2 }

func (c twoRanks) AllreduceFloat64(buf []float64, op ReduceOp) error {
	theirs := c.other(append([]float64{}, buf...))
	for i := range buf {
		switch op {
		case Sum:
			buf[i] += theirs[i]
		case Max:
			buf[i] = max(buf[i], theirs[i])
		case Min:
			buf[i] = min(buf[i], theirs[i])
		}
	}
	return nil
}

func TestReplicaCheckAndStopFlag(t *testing.T) {
	f := newFixture(t, models.NeutralResidues)
	tr, err := New(f.config(filepath.Join(t.TempDir(), "run"), 2), false, io.Discard)
	require.NoError(t, err)
	defer tr.Close()

	same := func(buf []float64) []float64 { return buf }
	tr.comm = twoRanks{other: same}
	require.NoError(t, tr.checkReplicas())
	h := tr.stateHash()
	tr.comm = twoRanks{other: func([]float64) []float64 { return []float64{h + 1, -(h + 1)} }}
	assert.ErrorContains(t, tr.checkReplicas(), "training states differ")
	// One changed parameter changes the hash.
	tr.state.cur[tr.state.names[0]].Float32s()[0] += 1e-7
	assert.NotEqual(t, h, tr.stateHash())

	// A signal on rank 1 only stops rank 0 too.
	tr.comm = twoRanks{other: func([]float64) []float64 { return []float64{1} }}
	stop, err := tr.stopRequested(context.Background())
	require.NoError(t, err)
	assert.True(t, stop)
	tr.comm = twoRanks{other: func([]float64) []float64 { return []float64{0} }}
	stop, err = tr.stopRequested(context.Background())
	require.NoError(t, err)
	assert.False(t, stop)
}

// TestResumeWithAnotherMicroBatch: the micro-batch changes rounding, not
// the objective, so a run may resume with another one (or another number
// of ranks, whose slices are micro-batches).
func TestResumeWithAnotherMicroBatch(t *testing.T) {
	f := newFixture(t, models.NeutralResidues)
	cfg := f.config(filepath.Join(t.TempDir(), "run"), 2)
	train(t, cfg, false).Close()
	cfg.Steps, cfg.MicroBatch = 4, 2
	assert.Equal(t, 4, train(t, cfg, true).Step())
}
