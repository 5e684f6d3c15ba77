package trainer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nrgraph/nrgraph/models/build"
)

const (
	// tmpCheckpointPrefix names the directory a checkpoint is written in
	// before its rename; one left behind was cut by a kill.
	tmpCheckpointPrefix = ".tmp-step-"
	metricsFile         = "metrics.jsonl"
	// lowerLRHint is the remedy for non-finite values: lr is part of the
	// configuration hash, so --resume refuses a lowered one.
	lowerLRHint = "lower --lr and start a new --out (lr is part of the run's configuration, which --resume must match), or check the data"
)

// checkFinite refuses to checkpoint non-finite parameters or moments: the
// loss and gradient norm of a step can be finite while its update
// overflows (lr 1e39), and such a checkpoint would replace the last good
// one.
func (s *stateTensors) checkFinite(step, lastSaved int) error {
	for _, name := range s.names {
		bad, first := 0, -1
		for i, v := range s.cur[name].Float32s() {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				if bad == 0 {
					first = i
				}
				bad++
			}
		}
		if bad > 0 {
			kept := "no checkpoint was written"
			if lastSaved > 0 {
				kept = fmt.Sprintf("the last checkpoint (step %d) is intact", lastSaved)
			}
			return fmt.Errorf("step %d: %s has %d non-finite values (first at index %d): %w; not saved, %s; %s",
				step, name, bad, first, ErrNonFinite, kept, lowerLRHint)
		}
	}
	return nil
}

// configChanges names the hashed settings that differ between a
// checkpoint's configuration and the current one.
func configChanges(old *RunConfig, now RunConfig) string {
	if old == nil {
		return "data, build, batch, lr, schedule or seed changed"
	}
	a, b := jsonFields(old.hashed()), jsonFields(now)
	var diffs []string
	for k, v := range a {
		if w := b[k]; !bytes.Equal(v, w) {
			diffs = append(diffs, fmt.Sprintf("%s %s, now %s", k, v, w))
		}
	}
	for k, w := range b {
		if _, ok := a[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s unset, now %s", k, w))
		}
	}
	if len(diffs) == 0 {
		return "settings of another nrgraph version"
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; ")
}

func jsonFields(c RunConfig) map[string]json.RawMessage {
	raw, _ := json.Marshal(c) // a validated config marshals
	fields := map[string]json.RawMessage{}
	_ = json.Unmarshal(raw, &fields)
	return fields
}

// removeStaleTemps deletes checkpoint temp directories a killed run left
// behind (each can be GBs). Only one trainer writes a run directory.
func removeStaleTemps(root string) error {
	stale, err := filepath.Glob(filepath.Join(root, tmpCheckpointPrefix+"*"))
	if err != nil {
		return err
	}
	for _, dir := range stale {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove the unfinished checkpoint %s: %w", dir, err)
		}
	}
	return nil
}

// truncateMetrics keeps the lines of metrics.jsonl up to step, the step
// training restarts from, so redone steps are not logged twice; a line cut
// by a kill is dropped too.
func truncateMetrics(path string, step int) error {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var kept bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 1<<26)
	for sc.Scan() {
		var m struct {
			Step *int `json:"step"`
		}
		if json.Unmarshal(sc.Bytes(), &m) != nil || m.Step == nil || *m.Step > step {
			continue
		}
		kept.Write(sc.Bytes())
		kept.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if bytes.Equal(kept.Bytes(), raw) {
		return nil
	}
	return build.WriteFileAtomic(path, kept.Bytes())
}
