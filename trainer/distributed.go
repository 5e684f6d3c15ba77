package trainer

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
)

// stopRequested says whether any rank was asked to stop (SIGINT/SIGTERM
// cancel its ctx): the flag goes through an all-reduce so that every rank
// stops, and rank 0 saves, at the same step.
func (t *Trainer) stopRequested(ctx context.Context) (bool, error) {
	flag := []float64{0}
	if ctx.Err() != nil {
		flag[0] = 1
	}
	if t.comm.Size() > 1 {
		if err := t.comm.AllreduceFloat64(flag, Max); err != nil {
			return false, fmt.Errorf("all-reduce stop flag: %w", err)
		}
	}
	return flag[0] != 0, nil
}

// saveOnLead writes the checkpoint on rank 0; the others wait for it, so a
// rank that stops next never leaves before the checkpoint exists.
func (t *Trainer) saveOnLead() error {
	var err error
	if t.comm.Rank() == 0 {
		err = t.save()
	}
	// Every rank learns whether the save worked, and stops together if not.
	failed := []float64{0}
	if err != nil {
		failed[0] = 1
	}
	if t.comm.Size() > 1 {
		if rerr := t.comm.AllreduceFloat64(failed, Max); rerr != nil {
			return fmt.Errorf("all-reduce save status: %w", rerr)
		}
	}
	if err == nil && failed[0] != 0 {
		return fmt.Errorf("rank 0 could not write the checkpoint (see its log)")
	}
	return err
}

// checkReplicas compares a hash of every rank's state (parameters, moments,
// step and data cursors): replicas apply the same update to the same state,
// so any difference means a rank diverged (another build, a missed or
// non-shared checkpoint, non-deterministic kernels).
func (t *Trainer) checkReplicas() error {
	if t.comm.Size() <= 1 {
		return nil
	}
	h := t.stateHash()
	// max(h) and max(-h) = -min(h) in one call.
	buf := []float64{h, -h}
	if err := t.comm.AllreduceFloat64(buf, Max); err != nil {
		return fmt.Errorf("all-reduce replica hash: %w", err)
	}
	if buf[0] != -buf[1] {
		return fmt.Errorf("step %d: the ranks' training states differ (hash %.0f on rank %d, range [%.0f, %.0f]): check every rank reads the same build and run directory", t.step, h, t.comm.Rank(), -buf[1], buf[0])
	}
	return nil
}

// stateHash is an FNV-1a hash of the state, reduced to 52 bits so that
// float64 carries it exactly.
func (t *Trainer) stateHash() float64 {
	f := fnv.New64a()
	buf := make([]byte, 0, 1<<16)
	flush := func() {
		f.Write(buf)
		buf = buf[:0]
	}
	for _, name := range t.state.names {
		for _, v := range t.state.cur[name].Float32s() {
			if len(buf)+4 > cap(buf) {
				flush()
			}
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
	}
	for _, x := range append([]int64{int64(t.step)}, t.mixer.cursors()...) {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(x))
	}
	flush()
	return float64(f.Sum64() >> 12)
}
