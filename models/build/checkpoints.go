package build

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nrgraph/nrgraph/export"
)

// The layout of a training run's output directory: checkpoints/step-NNNNNNNN
// each holding the state tensors and the trainer's JSON.
const (
	CheckpointsDir = "checkpoints"
	StateFile      = "state.safetensors"
	TrainerFile    = "trainer.json"
)

// HashBytes is the hex sha256 used for every fingerprint nrgraph records.
func HashBytes(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// WriteFileAtomic writes a file so that a crash leaves the old one or the new one.
func WriteFileAtomic(path string, data []byte) error { return export.WriteFileAtomic(path, data) }

// Hash identifies a build by its manifest.
func (m *Manifest) Hash() string {
	raw, _ := json.Marshal(m)
	return HashBytes(raw)
}

// ListCheckpoints returns complete checkpoint directories, oldest first.
func ListCheckpoints(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "step-") {
			continue
		}
		dir := filepath.Join(root, e.Name())
		if _, err := os.Stat(filepath.Join(dir, TrainerFile)); err != nil {
			continue // incomplete
		}
		out = append(out, dir)
	}
	sort.Strings(out)
	return out, nil
}

// LatestCheckpoint is the newest complete checkpoint under root, or "".
func LatestCheckpoint(root string) (string, error) {
	all, err := ListCheckpoints(root)
	if err != nil || len(all) == 0 {
		return "", err
	}
	return all[len(all)-1], nil
}

// CheckpointStateFile resolves what a user passes as --checkpoint: a run
// directory (its latest checkpoint), a checkpoint directory or a state file;
// and checks the checkpoint was trained on m, the build in buildDir.
func CheckpointStateFile(path string, m *Manifest, buildDir string) (string, error) {
	file := filepath.Join(path, StateFile)
	if latest, err := LatestCheckpoint(filepath.Join(path, CheckpointsDir)); err == nil && latest != "" {
		file = filepath.Join(latest, StateFile)
	} else if strings.HasSuffix(path, ".safetensors") {
		file = path
	}
	return file, checkProvenance(file, m, buildDir)
}

// checkProvenance refuses a checkpoint trained on another build: the
// tensor names and shapes of, say, a ReLU-gate and a sigmoid-gate build
// are the same, so only the build hash in trainer.json beside the state
// file tells them apart. A bare state file without trainer.json is taken
// as it is.
func checkProvenance(stateFile string, m *Manifest, buildDir string) error {
	path := filepath.Join(filepath.Dir(stateFile), TrainerFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var st struct {
		BuildHash string `json:"build_hash"`
		Config    *struct {
			Build string `json:"build"`
		} `json:"config"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if st.BuildHash == m.Hash() {
		return nil
	}
	trainedOn := "another build"
	if st.Config != nil && st.Config.Build != "" {
		trainedOn = "build " + st.Config.Build
	}
	return fmt.Errorf("%s was trained on %s, not %s (build hash %s, this build's %s): pass the --build it was trained with",
		filepath.Dir(stateFile), trainedOn, buildDir, short(st.BuildHash), short(m.Hash()))
}

// short abbreviates a hash for messages.
func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
