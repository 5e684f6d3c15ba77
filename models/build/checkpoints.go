package build

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
// directory (its latest checkpoint), a checkpoint directory or a state file.
func CheckpointStateFile(path string) (string, error) {
	if latest, err := LatestCheckpoint(filepath.Join(path, CheckpointsDir)); err == nil && latest != "" {
		return filepath.Join(latest, StateFile), nil
	}
	if strings.HasSuffix(path, ".safetensors") {
		return path, nil
	}
	return filepath.Join(path, StateFile), nil
}
