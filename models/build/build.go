package build

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/nrgraph/nrgraph/export"
	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/safetensors"
	"github.com/nrgraph/nrgraph/models/tokenizer"
)

// BuildOptions describe an `nrgraph build`.
type BuildOptions struct {
	// ModelDir is the HF model directory (config.json, safetensors,
	// tokenizer.json). Config/Weights, when set, replace loading it.
	ModelDir string
	Config   *models.Config
	Weights  models.Weights
	Ext      models.ExtensionConfig
	Opt      graph.AdamW
	Seq      int
	Out      string
	Log      io.Writer
	// RandomInit draws the backbone from N(0, InitStd²) (default 0.02)
	// instead of loading weights: pretraining from scratch (with method
	// finetune, every tensor trains).
	RandomInit bool
	InitStd    float64
	// NoTokenizer builds from a ModelDir without tokenizer.json (otherwise
	// required, parsed and checked against the config).
	NoTokenizer bool
	// Recompute builds training graphs that re-run each block's forward in
	// the backward pass instead of holding its activations
	// (models.Model.Recompute).
	Recompute bool
	// ExtendedTokenizer, when set, is a tokenizer.json that extends the
	// model's (tokenizer.Extend, or any made the same way: checked by
	// tokenizer.CheckExtension): its new tokens get trainable embedding and
	// output rows (vocabulary extension), and it is the build's tokenizer.
	ExtendedTokenizer []byte
	// BackbonePrecision runs the frozen projections in int8
	// (models.PrecisionInt8); "" is fp32.
	BackbonePrecision models.BackbonePrecision
}

// Build writes a build directory: the fused training step, the gradient
// and apply graphs for micro-batch accumulation, the scoring graph, the
// initial trainable weights and a manifest describing all of it.
func Build(o BuildOptions) (*Manifest, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Seq <= 0 {
		return nil, fmt.Errorf("--seq must be positive")
	}
	precision, err := models.ParseBackbonePrecision(string(o.BackbonePrecision))
	if err != nil {
		return nil, fmt.Errorf("--backbone-precision: %w", err)
	}
	cfg, w, err := o.backbone()
	if err != nil {
		return nil, err
	}
	if o.Seq > cfg.MaxPositions {
		return nil, fmt.Errorf("--seq %d exceeds the model's max_position_embeddings %d", o.Seq, cfg.MaxPositions)
	}
	if err := models.CheckWeights(cfg, w); err != nil {
		return nil, fmt.Errorf("%s: %w", o.ModelDir, err)
	}
	var tokRaw []byte
	if o.ModelDir != "" {
		if tokRaw, err = readBuildTokenizer(o.ModelDir, cfg, o.NoTokenizer); err != nil {
			return nil, err
		}
	}
	baseTokHash := ""
	var pieces [][]int
	if o.ExtendedTokenizer != nil {
		baseTokHash = tokenizer.FileHash(tokRaw)
		if tokRaw, pieces, err = o.extendVocab(tokRaw, cfg); err != nil {
			return nil, err
		}
		o.Ext.NewTokens = len(pieces)
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	tokHash, err := o.copyModelFiles(tokRaw)
	if err != nil {
		return nil, err
	}
	man := &Manifest{
		Version: Version, ModelDir: o.ModelDir, BackboneHash: backboneHash(cfg, w), Config: cfg, Extension: o.Ext, Seq: o.Seq,
		Optimizer:      OptimizerConfig{Beta1: o.Opt.Beta1, Beta2: o.Opt.Beta2, Eps: o.Opt.Eps, WeightDecay: o.Opt.WeightDecay, ClipNorm: o.Opt.ClipNorm},
		BackboneParams: cfg.NumParams(), Graphs: map[string]GraphIO{}, TokenizerHash: tokHash, Recompute: o.Recompute,
		BaseTokenizerHash: baseTokHash, BackbonePrecision: precision,
	}
	meta := map[string]string{"nrgraph_version": Version, "method": string(o.Ext.Method)}
	model := models.Model{Config: cfg, Weights: w, Ext: o.Ext, Recompute: o.Recompute, Seq: o.Seq, NewTokenPieces: pieces, BackbonePrecision: precision}
	if precision == models.PrecisionInt8 {
		if model.Int8File, err = models.CreateInt8File(filepath.Join(o.Out, Int8File)); err != nil {
			return nil, err
		}
		defer model.Int8File.Close()
	}
	ext, err := o.writeGraphs(model, man, meta)
	if err != nil {
		return nil, err
	}
	if model.Int8File != nil {
		if err := model.Int8File.Close(); err != nil {
			return nil, err
		}
	}
	if err := writeInitialWeights(filepath.Join(o.Out, InitFile), ext, man, meta); err != nil {
		return nil, err
	}
	man.AdapterHidden, man.LoRARank, man.AddedParams = ext.Ext.Hidden, ext.Ext.Rank, ext.Ext.AddedParams()
	// What training one sequence per micro-batch and scoring seq tokens at
	// once will need (nrgraph plan gives other sizes).
	if est, err := models.EstimateMemory(cfg, o.Ext, o.Seq, 1, o.Seq); err == nil {
		est = est.WithBuildOptions(cfg, o.Ext, o.Recompute, precision)
		man.Memory = &est
		fmt.Fprint(o.Log, est)
	}
	if err := man.Write(o.Out); err != nil {
		return nil, err
	}
	return man, nil
}

// backbone is the model to extend: the options' own, random weights for
// pretraining from scratch (only config.json is read), or the model
// directory's checkpoint.
func (o BuildOptions) backbone() (models.Config, models.Weights, error) {
	switch {
	case o.Config != nil && o.Weights != nil:
		return *o.Config, o.Weights, nil
	case o.RandomInit:
		c, err := models.LoadConfig(o.ModelDir)
		if err != nil {
			return c, nil, err
		}
		std := o.InitStd
		if std == 0 {
			std = 0.02
		}
		return c, models.RandomWeights(c, o.Ext.Seed, std), nil
	}
	return models.LoadModelDir(o.ModelDir)
}

// copyModelFiles copies the checked tokenizer.json, config.json and
// tokenizer_config.json into the build (later steps read them from there)
// and returns the tokenizer's hash ("" without one).
func (o BuildOptions) copyModelFiles(tokRaw []byte) (string, error) {
	if o.ModelDir == "" {
		return "", nil
	}
	tokHash := ""
	if tokRaw != nil {
		tokHash = tokenizer.FileHash(tokRaw)
		if err := WriteFileAtomic(filepath.Join(o.Out, TokenizerFile), tokRaw); err != nil {
			return "", err
		}
	}
	for _, f := range []string{ConfigFile, TokenizerConfigFile} {
		if raw, err := os.ReadFile(filepath.Join(o.ModelDir, f)); err == nil {
			if err := WriteFileAtomic(filepath.Join(o.Out, f), raw); err != nil {
				return "", err
			}
		}
	}
	return tokHash, nil
}

// writeGraphs writes the fused step, the gradient and apply graphs (micro-
// batch accumulation) and the scoring graphs, recording each graph's
// interface in the manifest. It returns the extended model of the step.
func (o BuildOptions) writeGraphs(model models.Model, man *Manifest, meta map[string]string) (*models.Extended, error) {
	step, ext, err := models.BuildTrainGraph(model, o.Opt, models.FusedStep)
	if err != nil {
		return nil, fmt.Errorf("build training step: %w", err)
	}
	graphs := []struct {
		key, file string
		build     func() (*graph.Graph, error)
	}{
		{"train_step", StepGraph, func() (*graph.Graph, error) { return step, nil }},
		{"train_grad", GradGraph, func() (*graph.Graph, error) {
			g, _, err := models.BuildTrainGraph(model, o.Opt, models.GradientsOnly)
			return g, err
		}},
		{"train_apply", ApplyGraph, func() (*graph.Graph, error) { return models.BuildApplyGraph(ext, o.Opt) }},
		{"score", ScoreGraph, func() (*graph.Graph, error) {
			g, _, err := models.BuildScoreGraph(model)
			return g, err
		}},
		{"score_packed", PackedScoreGraph, func() (*graph.Graph, error) { return models.BuildPackedScoreGraph(model) }},
	}
	for _, spec := range graphs {
		g, err := spec.build() // built when written, so the others can be collected

		if err != nil {
			return nil, fmt.Errorf("build %s graph: %w", spec.key, err)
		}
		start := time.Now()
		if err := export.Save(g, filepath.Join(o.Out, spec.file), export.Options{Metadata: meta, KeepStoredDType: true}); err != nil {
			return nil, err
		}
		man.Graphs[spec.key] = graphIO(g)
		fmt.Fprintf(o.Log, "  wrote %-17s %5d nodes  (%s)\n", spec.file, len(g.Nodes()), time.Since(start).Round(time.Millisecond))
	}
	return ext, nil
}

// writeInitialWeights streams the trainable tensors' initial values into
// path (each drawn or converted when written, then dropped) and lists them
// in the manifest.
func writeInitialWeights(path string, ext *models.Extended, man *Manifest, meta map[string]string) error {
	var initial []safetensors.Tensor
	for _, p := range ext.Trainable {
		dims, _ := p.Shape.Static()
		man.Params = append(man.Params, ParamEntry{Name: p.Name(), DType: p.DType.String(), Shape: dims})
		initial = append(initial, safetensors.Tensor{Name: p.Name(), DType: safetensors.F32, Shape: dims, Source: &float32Source{d: ext.Init[p.Name()]}})
	}
	return safetensors.Write(path, initial, meta)
}

func graphIO(g *graph.Graph) GraphIO {
	var io GraphIO
	for _, v := range g.Inputs() {
		io.Inputs = append(io.Inputs, v.Name())
	}
	for _, v := range g.Outputs() {
		io.Outputs = append(io.Outputs, v.Name())
	}
	return io
}

// backboneHash identifies the backbone by config, tensor names, shapes,
// dtypes and storage (not contents: hashing GBs of weights would dominate
// build time).
func backboneHash(c models.Config, w models.Weights) string {
	type entry struct {
		Name  string
		DType string
		Dims  []int64
		File  *graph.FileRegion `json:",omitempty"`
	}
	names := w.Names()
	sort.Strings(names)
	var entries []entry
	for _, n := range names {
		d, err := w.Tensor(n)
		if err != nil {
			continue
		}
		e := entry{Name: n, DType: d.DType.String(), Dims: d.Dims}
		if d.File != nil {
			region := *d.File
			region.Path = filepath.Base(region.Path)
			e.File = &region
		}
		entries = append(entries, e)
	}
	raw, _ := json.Marshal(struct {
		Config  models.Config
		Entries []entry
	}{c, entries})
	return HashBytes(raw)
}

// float32Source streams a tensor's initial value as float32 bytes, made
// (drawn, or read and converted from the checkpoint) when the writer gets
// to it and dropped after: the build holds one trainable tensor at a time
// (Gemma-2B's neutral residues: 504M parameters, 2 GB).
type float32Source struct {
	d    *graph.Data
	buf  []byte
	made bool
}

func (s *float32Source) Read(p []byte) (int, error) {
	if !s.made {
		s.made = true
		raw, err := s.d.Transient()
		if err != nil {
			return 0, err
		}
		if s.d.DType != graph.Float32 {
			tmp, err := graph.RawData(s.d.DType, s.d.Dims, raw)
			if err != nil {
				return 0, err
			}
			vals, err := tmp.Float64s()
			if err != nil {
				return 0, err
			}
			raw = make([]byte, 4*len(vals))
			for i, v := range vals {
				binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(v)))
			}
		}
		s.buf = raw
	}
	if len(s.buf) == 0 {
		s.buf = nil
		return 0, io.EOF
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}
