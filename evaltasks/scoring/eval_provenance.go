package scoring

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/runtime"
)

// EvalProvenance records what produced an evaluation, so a number in a
// table can be traced to the exact model, build, checkpoint and software.
type EvalProvenance struct {
	Date string `json:"date"` // RFC 3339, UTC
	// NrgraphVersion is the release, plus the VCS revision the binary was
	// built from when Go recorded one.
	NrgraphVersion string `json:"nrgraph_version"`
	ORTVersion     string `json:"onnxruntime_version"`
	Build          string `json:"build"`
	BuildHash      string `json:"build_hash"` // sha256 of the manifest, as checkpoints record it
	ModelDir       string `json:"model_dir"`
	BackboneHash   string `json:"backbone_hash"`
	TokenizerHash  string `json:"tokenizer_hash,omitempty"`
	Method         string `json:"method"`
	// Parameters is the safetensors file evaluated (a checkpoint's state, or
	// the build's initial weights) and ParametersSHA256 its hash.
	Parameters       string   `json:"parameters"`
	ParametersSHA256 string   `json:"parameters_sha256"`
	Seed             uint64   `json:"seed"`
	Shots            int      `json:"shots"` // -1: each task's default
	Limit            int      `json:"limit,omitempty"`
	FewshotSampler   string   `json:"fewshot_sampler,omitempty"`
	PerplexityScheme string   `json:"perplexity_windows,omitempty"`
	Command          []string `json:"command,omitempty"`
}

// NewEvalProvenance describes an evaluation run with scorer and o.
func NewEvalProvenance(buildDir string, scorer *Scorer, o EvalOptions, command []string) (*EvalProvenance, error) {
	man := scorer.Manifest()
	p := &EvalProvenance{
		Date:           time.Now().UTC().Format(time.RFC3339),
		NrgraphVersion: versionWithRevision(),
		ORTVersion:     runtime.Version(),
		Build:          buildDir, BuildHash: man.Hash(),
		ModelDir: man.ModelDir, BackboneHash: man.BackboneHash, TokenizerHash: man.TokenizerHash,
		Method:     string(man.Extension.Method),
		Parameters: scorer.paramsFile,
		Seed:       o.Seed, Shots: o.Shots, Limit: o.Limit,
		FewshotSampler:   string(o.FewshotSampler),
		PerplexityScheme: string(o.PerplexityWindows),
		Command:          command,
	}
	var err error
	if p.ParametersSHA256, err = fileSHA256(scorer.paramsFile); err != nil {
		return nil, err
	}
	return p, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash parameters: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// versionWithRevision is Version plus the git revision Go embeds in binaries
// built from a checkout ("+dirty" when the tree had changes).
func versionWithRevision() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return build.Version
	}
	revision, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if revision == "" {
		return build.Version
	}
	v := build.Version + "+" + revision[:min(12, len(revision))]
	if dirty {
		v += "-dirty"
	}
	return v
}
