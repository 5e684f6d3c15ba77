package trainer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nrgraph/nrgraph/models/build"
)

// trainerState is the non-tensor part of a checkpoint.
type trainerState struct {
	Step       int        `json:"step"`
	ConfigHash string     `json:"config_hash"`
	BuildHash  string     `json:"build_hash"`
	Mixer      MixerState `json:"mixer"`
	Version    string     `json:"nrgraph_version"`
	// Config is what ConfigHash covers, so a refused resume can name the
	// settings that changed (absent in checkpoints of older versions).
	Config *RunConfig `json:"config,omitempty"`
}

// save writes checkpoints/step-NNNNNNNN atomically: everything goes into a
// temp directory (files fsynced), which is renamed into place; only then are
// old checkpoints pruned. A crash at any point leaves the previous
// checkpoint loadable.
func (t *Trainer) save() error {
	root := filepath.Join(t.Cfg.Out, build.CheckpointsDir)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	if err := t.state.checkFinite(t.step, t.lastSaved); err != nil {
		return err
	}
	final := filepath.Join(root, fmt.Sprintf("step-%08d", t.step))
	tmp, err := os.MkdirTemp(root, tmpCheckpointPrefix)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	tensors := map[string][]float32{}
	for _, name := range t.state.names {
		tensors[name] = t.state.cur[name].Float32s()
	}
	if err := build.WriteTensors(filepath.Join(tmp, build.StateFile), tensors, t.state.shapes, map[string]string{"step": strconv.Itoa(t.step)}); err != nil {
		return err
	}
	ms, err := t.mixer.State()
	if err != nil {
		return err
	}
	hash, err := t.Cfg.Hash()
	if err != nil {
		return err
	}
	hashed := t.Cfg.hashed()
	st := trainerState{Step: t.step, ConfigHash: hash, BuildHash: t.Manifest.Hash(), Mixer: ms, Version: build.Version, Config: &hashed}
	raw, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := build.WriteFileAtomic(filepath.Join(tmp, build.TrainerFile), raw); err != nil {
		return err
	}
	if err := os.RemoveAll(final); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	syncDir(root)
	t.lastSaved = t.step
	return pruneCheckpoints(root, t.Cfg.KeepLast)
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

func pruneCheckpoints(root string, keep int) error {
	all, err := build.ListCheckpoints(root)
	if err != nil {
		return err
	}
	for len(all) > keep && keep > 0 {
		if err := os.RemoveAll(all[0]); err != nil {
			return err
		}
		all = all[1:]
	}
	return nil
}

// restore loads a checkpoint after checking it belongs to this run.
func (t *Trainer) restore(dir string) error {
	raw, err := os.ReadFile(filepath.Join(dir, build.TrainerFile))
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	var st trainerState
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("resume: %s: %w", filepath.Join(dir, build.TrainerFile), err)
	}
	hash, err := t.Cfg.Hash()
	if err != nil {
		return err
	}
	if st.ConfigHash != hash {
		return fmt.Errorf("resume: %s was written with a different configuration (%s); these cannot change across a resume: restore them, or start a new --out%s",
			dir, configChanges(st.Config, t.Cfg.hashed()), sequentialHint(st, t.Cfg))
	}
	if st.BuildHash != t.Manifest.Hash() {
		return fmt.Errorf("resume: %s was trained on another build than %s", dir, t.Cfg.Build)
	}
	if err := t.state.loadFile(filepath.Join(dir, build.StateFile), true); err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	if err := t.mixer.Restore(st.Mixer); err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	t.step, t.lastSaved = st.Step, st.Step
	fmt.Fprintf(t.Log, "resuming from %s (step %d)\n", dir, st.Step)
	return nil
}

// loadInit sets the parameters from the build's initial weights; moments
// start at zero.
func (s *stateTensors) loadInit(path string) error {
	return s.loadFile(path, false)
}

// loadFile reads tensors by name straight into the state; withMoments
// requires every state tensor.
func (s *stateTensors) loadFile(path string, withMoments bool) error {
	seen := map[string]bool{}
	err := build.ReadTensorsInto(path, func(name string, n int) []float32 {
		t, ok := s.cur[name]
		if !ok {
			return nil
		}
		seen[name] = true
		return t.Float32s()
	})
	if err != nil {
		return err
	}
	for _, name := range s.names {
		if seen[name] {
			continue
		}
		if !withMoments && isMoment(name) {
			clear(s.cur[name].Float32s())
			continue
		}
		return fmt.Errorf("%s: tensor %q missing", path, name)
	}
	return nil
}

func isMoment(name string) bool {
	return strings.HasSuffix(name, ".adam_m") || strings.HasSuffix(name, ".adam_v")
}

// sequentialHint names the flag that resumes a checkpoint that read its
// data in order (every checkpoint of a version before --data-order) when
// the run now asks for the default shuffled order.
func sequentialHint(st trainerState, now RunConfig) string {
	if st.Mixer.Order == Shuffled || now.DataOrder != Shuffled {
		return ""
	}
	sequential := now
	sequential.DataOrder = Sequential
	if hash, err := sequential.Hash(); err != nil || hash != st.ConfigHash {
		return "" // something else changed too: configChanges names it
	}
	return "; it read its data in sequential order, as every checkpoint before --data-order did: add --data-order sequential to resume it"
}
