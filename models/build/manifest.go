package build

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nrgraph/nrgraph/export"
	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/tokenizer"
)

// Version is nrgraph's version, stamped into manifests and models.
var Version = "0.1.0"

// Files of a build directory.
const (
	ManifestFile = "manifest.json"
	StepGraph    = "train_step.onnx"
	GradGraph    = "train_grad.onnx"
	ApplyGraph   = "train_apply.onnx"
	ScoreGraph   = "score.onnx"
	// PackedScoreGraph scores a context once with all its continuations
	// packed after it; builds made before it lack it and score one row per
	// continuation.
	PackedScoreGraph = "score_packed.onnx"
	InitFile         = "init.safetensors"
	// Int8File holds the int8 backbone's quantised projections, shared by
	// every graph of an int8 build (--backbone-precision int8).
	Int8File      = "backbone.int8.data"
	TokenizerFile = "tokenizer.json"
	// TokenizerConfigFile names BOS and EOS; copied into builds with
	// tokenizer.json when the model has one.
	TokenizerConfigFile = tokenizer.ConfigFileName
	// ConfigFile is the backbone's HF config.json, copied into builds.
	ConfigFile = "config.json"
)

// ParamEntry describes one trainable tensor.
type ParamEntry struct {
	Name  string  `json:"name"`
	DType string  `json:"dtype"`
	Shape []int64 `json:"shape"`
}

// GraphIO lists a graph's input and output names in order.
type GraphIO struct {
	Inputs  []string `json:"inputs"`
	Outputs []string `json:"outputs"`
}

// Manifest describes a build directory: what was built from what, and the
// interface of every graph in it.
type Manifest struct {
	Version        string                 `json:"nrgraph_version"`
	ModelDir       string                 `json:"model_dir"`
	BackboneHash   string                 `json:"backbone_hash"`
	Config         models.Config          `json:"config"`
	Extension      models.ExtensionConfig `json:"extension"`
	Optimizer      OptimizerConfig        `json:"optimizer"`
	Seq            int                    `json:"seq"`
	AdapterHidden  int                    `json:"adapter_hidden,omitempty"`
	LoRARank       int                    `json:"lora_rank,omitempty"`
	BackboneParams int64                  `json:"backbone_params"`
	AddedParams    int64                  `json:"added_params"`
	Params         []ParamEntry           `json:"params"`
	Graphs         map[string]GraphIO     `json:"graphs"`
	TokenizerHash  string                 `json:"tokenizer_hash,omitempty"`
	// BaseTokenizerHash is the model's own tokenizer's hash when the build
	// extends its vocabulary (Extension.NewTokens; TokenizerHash is then
	// the extended tokenizer's).
	BaseTokenizerHash string `json:"base_tokenizer_hash,omitempty"`
	// Memory is the estimated peak memory per component (models.EstimateMemory).
	Memory *models.MemoryEstimate `json:"memory_estimate,omitempty"`
	// Recompute: the training graphs recompute each block's activations in
	// the backward pass (`nrgraph build --recompute`).
	Recompute bool `json:"recompute,omitempty"`
	// BackbonePrecision of the frozen projections: fp32, or int8 (`nrgraph
	// build --backbone-precision int8`; runs on the cpu provider only).
	BackbonePrecision models.BackbonePrecision `json:"backbone_precision"`
}

// OptimizerConfig is AdamW's settings as stored in the manifest.
type OptimizerConfig struct {
	Beta1       float64 `json:"beta1"`
	Beta2       float64 `json:"beta2"`
	Eps         float64 `json:"eps"`
	WeightDecay float64 `json:"weight_decay"`
	ClipNorm    float64 `json:"clip_norm"`
}

// ReadManifest loads BUILD_DIR/manifest.json.
func ReadManifest(buildDir string) (*Manifest, error) {
	path := filepath.Join(buildDir, ManifestFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read build: %w (run `nrgraph build` first)", err)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(m.Params) == 0 {
		return nil, fmt.Errorf("%s: no trainable parameters listed", path)
	}
	return &m, nil
}

// Write saves the manifest atomically.
func (m *Manifest) Write(buildDir string) error {
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return export.WriteFileAtomic(filepath.Join(buildDir, ManifestFile), append(raw, '\n'))
}

// TrainableParams counts the elements of every trainable tensor.
func (m *Manifest) TrainableParams() int64 {
	var n int64
	for _, p := range m.Params {
		n += p.Numel()
	}
	return n
}

// Numel is the tensor's element count.
func (p ParamEntry) Numel() int64 { return graph.NumElements(p.Shape) }

// ParamNames lists the trainable tensors in graph order.
func (m *Manifest) ParamNames() []string {
	names := make([]string, len(m.Params))
	for i, p := range m.Params {
		names[i] = p.Name
	}
	return names
}

// leanMemoryFrom is the estimated training peak from which sessions run
// without ONNX Runtime's memory arena (runtime.Options.NoArena). Measured
// on 2026-11-30 (2-core AMD EPYC, bench -one nrgraph:512:8:2, 3 alternating
// rounds): at d=512/L=8 (a 1.2 GB step) the arena off halved training
// speed (790-854 -> 384-412 tokens/s), cut scoring by 30-50% and raised
// peak RSS (1,164 -> 1,180-1,273 MB): every large tensor is mmap'ed and
// page-faulted anew each step. At the Gemma-2B shape it is what brings the
// step under 14 GB (13,529 -> 13,099 MiB), where a step's large matrix
// products dwarf the page faults. 4 GiB sits between the two.
const leanMemoryFrom = 4 << 30

// LeanMemory says whether this build's sessions should return dead
// tensors' memory to the kernel (no arena) rather than keep it for speed:
// true for builds whose estimated training step needs leanMemoryFrom or
// more. NRGRAPH_ARENA=on or off overrides it.
func (m *Manifest) LeanMemory() bool {
	var peak int64
	if m.Memory != nil {
		peak = m.Memory.TrainPeak
	}
	return LeanMemoryFor(peak)
}

// LeanMemoryFor is LeanMemory for an estimated training peak (0: unknown,
// the arena stays on), for sessions opened without a manifest (make bench).
func LeanMemoryFor(trainPeak int64) bool {
	switch os.Getenv("NRGRAPH_ARENA") {
	case "on":
		return false
	case "off":
		return true
	}
	return trainPeak >= leanMemoryFrom
}
