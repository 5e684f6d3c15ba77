package experiments

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nrgraph/nrgraph/export"
	"github.com/nrgraph/nrgraph/models"
)

// settingsFile records in each build and run directory the settings that
// made it; a directory is reused only for exactly these settings.
const settingsFile = "repro-settings.json"

// buildSettings decide a build's contents.
type buildSettings struct {
	// Model is the content hash of the backbone directory's files.
	Model     string                 `json:"model"`
	Extension models.ExtensionConfig `json:"extension"`
	Seq       int                    `json:"seq"`
	// BackbonePrecision is set for int8 builds only.
	BackbonePrecision models.BackbonePrecision `json:"backbone_precision,omitempty"`
}

// runSettings decide a run's result: the build, the data (content
// hashes of the tokenized corpora) and every training knob repro sets.
type runSettings struct {
	Build      buildSettings `json:"build"`
	NewTrain   string        `json:"new_train"`
	OrigTrain  string        `json:"orig_train,omitempty"` // only read when p > 0
	P          float64       `json:"p"`
	LR         float64       `json:"lr"`
	Steps      int           `json:"steps"`
	Batch      int           `json:"batch"`
	Warmup     int           `json:"warmup"`
	Schedule   string        `json:"schedule"`
	MinLRRatio float64       `json:"min_lr_ratio"`
	DataOrder  string        `json:"data_order"`
	Seed       uint64        `json:"seed"`
}

// extensionKnobs names the knobs of e that differ from its method's
// defaults (the ablation variant), e.g. "gate-none_alpha-0.1", so
// directory names tell the variants apart at a glance; the seed is named
// separately.
func extensionKnobs(e models.ExtensionConfig) string {
	def, err := models.DefaultExtension(e.Method)
	if err != nil {
		return "custom"
	}
	var have, want map[string]any
	for _, kv := range []struct {
		v   models.ExtensionConfig
		dst *map[string]any
	}{{e, &have}, {def, &want}} {
		kv.v.Seed = 0
		raw, _ := json.Marshal(kv.v)
		_ = json.Unmarshal(raw, kv.dst)
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(have)) {
		if fmt.Sprint(have[k]) != fmt.Sprint(want[k]) {
			parts = append(parts, strings.ToLower(k)+"-"+dirValue(have[k]))
		}
	}
	return strings.Join(parts, "_")
}

// dirValue writes a knob's value for a directory name: numbers as %g,
// anything outside [A-Za-z0-9.-] as '-'.
func dirValue(v any) string {
	s := fmt.Sprint(v)
	if f, ok := v.(float64); ok {
		s = strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '-'
	}, s)
}

// dirName is PREFIX_METHOD[_KNOBS]_PARTS..._HASH: readable knobs first, then
// a hash of the whole settings, so two settings that differ anywhere (steps,
// data, backbone) never share a directory.
func dirName(prefix string, e models.ExtensionConfig, settings any, parts ...string) (string, error) {
	raw, err := json.Marshal(settings)
	if err != nil {
		return "", err
	}
	name := []string{prefix, string(e.Method)}
	if k := extensionKnobs(e); k != "" {
		name = append(name, k)
	}
	name = append(append(name, parts...), hashStrings(string(raw))[:10])
	return strings.Join(name, "_"), nil
}

// buildDirName names a build directory under Work.
func buildDirName(s buildSettings) (string, error) {
	return dirName("build", s.Extension, s, fmt.Sprintf("seq%d", s.Seq), fmt.Sprintf("seed%d", s.Extension.Seed))
}

// runDirName names a run directory under Work.
func runDirName(s runSettings) (string, error) {
	return dirName("run", s.Build.Extension, s, "p"+dirValue(s.P), "lr"+dirValue(s.LR), fmt.Sprintf("seed%d", s.Seed))
}

// claimDir makes dir hold settings: a new or empty directory gets them
// written; one that holds the same settings is reused (a finished run is
// not re-trained, an unfinished one resumes); any other is refused, never
// overwritten.
func claimDir(dir string, settings any) error {
	want, err := json.MarshalIndent(settings, "", "  ")
	if err != nil {
		return err
	}
	want = append(want, '\n')
	path := filepath.Join(dir, settingsFile)
	have, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(have, want):
		return nil
	case err == nil:
		return fmt.Errorf("%s holds a run with other settings (%s): repro never overwrites a run; choose another --work, or delete %s to re-run it",
			dir, settingsDiff(have, want), dir)
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s exists without %s (not made by this version of repro): choose another --work, or delete %s", dir, settingsFile, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return export.WriteFileAtomic(path, want)
}

// settingsDiff lists the top-level settings that differ, as "key: there
// -> here".
func settingsDiff(have, want []byte) string {
	var a, b map[string]json.RawMessage
	if json.Unmarshal(have, &a) != nil || json.Unmarshal(want, &b) != nil {
		return "unreadable " + settingsFile
	}
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(b)) {
		if !bytes.Equal(compactJSON(a[k]), compactJSON(b[k])) {
			diffs = append(diffs, fmt.Sprintf("%s: %s there, %s here", k, compactJSON(a[k]), compactJSON(b[k])))
		}
	}
	return strings.Join(diffs, "; ")
}

func compactJSON(raw json.RawMessage) []byte {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}
