package trained

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nrgraph/nrgraph/export"
	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/runtime"
)

// ExportOptions describe `nrgraph export`.
type ExportOptions struct {
	Build string
	// Checkpoint: a run directory, checkpoint directory or state file;
	// empty exports the build's initial weights.
	Checkpoint string
	Out        string
	// NoAdapters exports the plain backbone; GatesOff keeps the extended
	// model's interface but switches every adapter off (identical to the
	// backbone, the provable-neutrality switch).
	NoAdapters, GatesOff bool
	// Config/Weights replace loading the manifest's model directory.
	Config  *models.Config
	Weights models.Weights
	Log     io.Writer
	// HF additionally writes a Hugging Face model directory (config.json,
	// model.safetensors, tokenizer.json) of the trained model: for
	// finetuning (and from-scratch pretraining) and LoRA (merged).
	HF string
	// HFDType is the weight dtype of the HF export: bfloat16 or float32.
	HFDType string
}

// Files written by Export.
const (
	ExportONNX          = "model.onnx"
	ExportAdapterTensor = "adapter_model.safetensors"
	ExportAdapterConfig = "adapter_config.json"
	// PEFTPrefix is prepended to tensor names, as PEFT stores them.
	PEFTPrefix = "base_model.model."
)

// Export writes the trained extension as PEFT-style files and a
// self-contained inference ONNX (logits; adapters and gates inside, LoRA
// merged into the weights).
func Export(o ExportOptions) error {
	if o.Log == nil {
		o.Log = io.Discard
	}
	man, err := build.ReadManifest(o.Build)
	if err != nil {
		return err
	}
	hfDType, err := o.check(man)
	if err != nil {
		return err
	}
	stateFile := filepath.Join(o.Build, build.InitFile)
	if o.Checkpoint != "" {
		if stateFile, err = build.CheckpointStateFile(o.Checkpoint, man, o.Build); err != nil {
			return err
		}
	}
	trained, err := build.ReadTensors(stateFile)
	if err != nil {
		return err
	}
	baked := map[string]*graph.Data{}
	for _, p := range man.Params {
		vals, ok := trained[p.Name]
		if !ok {
			return fmt.Errorf("%s: tensor %q missing", stateFile, p.Name)
		}
		baked[p.Name] = graph.NewData(p.Shape, vals)
	}
	cfg, w, err := o.backbone(man, baked)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	if !o.NoAdapters {
		if err := writePEFT(o.Out, man, trained); err != nil {
			return err
		}
		if err := copyExtendedTokenizer(o, man); err != nil {
			return err
		}
	}
	g, merged, hfCfg, err := o.inferenceGraph(man, cfg, w, baked, trained)
	if err != nil {
		return err
	}
	if o.HF != "" {
		if err := writeHF(o, hfDType, hfCfg, w, merged, man.ModelDir); err != nil {
			return err
		}
	}
	path := filepath.Join(o.Out, ExportONNX)
	if err := export.Save(g, path, export.Options{Metadata: map[string]string{
		"nrgraph_version": build.Version, "method": string(man.Extension.Method), "gates": gatesLabel(o),
	}}); err != nil {
		return err
	}
	fmt.Fprintf(o.Log, "wrote %s (%d nodes; inputs %s, %s; output logits)\n", path, len(g.Nodes()), models.InputIDs, models.AttentionMask)
	return nil
}

// check refuses option combinations before anything is read or written,
// and returns the --hf weight dtype.
func (o ExportOptions) check(man *build.Manifest) (graph.DType, error) {
	method := man.Extension.Method
	if o.GatesOff && !o.NoAdapters && method == models.Finetune {
		return graph.InvalidDType, fmt.Errorf("--gates off has no meaning for finetuning (no adapters); use --no-adapters for the original backbone")
	}
	if o.HF == "" {
		return graph.InvalidDType, nil
	}
	if method != models.Finetune && method != models.LoRA {
		return graph.InvalidDType, fmt.Errorf("--hf needs a method that changes only backbone tensors (finetune, lora); %s adds adapter blocks, use the PEFT-style files", method)
	}
	if o.HFDType == "" {
		return graph.Float32, nil
	}
	dt, err := graph.ParseDType(o.HFDType)
	if err != nil || (dt != graph.Float32 && dt != graph.BFloat16) {
		return graph.InvalidDType, fmt.Errorf("--hf-dtype %q: want float32 or bfloat16", o.HFDType)
	}
	return dt, nil
}

// backbone is the model the trained tensors apply to: the options' own,
// the checkpoint itself for finetuning (which trains every tensor; this
// also covers pretraining from scratch, which has no weights), or the
// build's model directory.
func (o ExportOptions) backbone(man *build.Manifest, baked map[string]*graph.Data) (models.Config, models.Weights, error) {
	switch {
	case o.Config != nil && o.Weights != nil:
		return *o.Config, o.Weights, nil
	case man.Extension.Method == models.Finetune:
		return man.Config, models.MapWeights(baked), nil
	case man.ModelDir == "":
		return models.Config{}, nil, fmt.Errorf("build %s has no model directory recorded; cannot load the backbone", o.Build)
	}
	return models.LoadModelDir(man.ModelDir)
}

// inferenceGraph is the logits graph to export, the backbone tensors
// training changed (for --hf) and the config they go with. Without
// adapters in the output (--no-adapters, --gates off, LoRA merged into the
// weights, finetuning) it is the plain backbone's graph, with vocabulary
// extension's new rows folded into its vocabulary (models.WithNewRows);
// otherwise the extended model with the trained tensors baked in.
func (o ExportOptions) inferenceGraph(man *build.Manifest, c models.Config, w models.Weights, baked map[string]*graph.Data, trained map[string][]float32) (*graph.Graph, map[string]*graph.Data, models.Config, error) {
	var changed map[string]*graph.Data
	switch {
	case o.NoAdapters || o.GatesOff:
		g, err := models.BuildBackboneLogitsGraph(c, w)
		return g, nil, c, err
	case man.Extension.Method == models.Finetune:
		changed = baked
	case man.Extension.Method == models.LoRA:
		var err error
		if changed, err = mergeLoRA(w, man, trained); err != nil {
			return nil, nil, c, err
		}
	default:
		g, err := models.BuildLogitsGraph(models.Model{Config: c, Weights: w, Ext: man.Extension, Baked: baked})
		return g, nil, c, err
	}
	if n := man.Extension.NewTokens; n > 0 {
		grown, rows, err := models.WithNewRows(c, models.Overlay(w, changed), baked, n)
		if err != nil {
			return nil, nil, c, err
		}
		c, changed = grown, overlayMap(changed, rows)
	}
	g, err := models.BuildBackboneLogitsGraph(c, models.Overlay(w, changed))
	return g, changed, c, err
}

// overlayMap is base with over's tensors replacing or adding to it.
func overlayMap(base, over map[string]*graph.Data) map[string]*graph.Data {
	out := make(map[string]*graph.Data, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

func gatesLabel(o ExportOptions) string {
	switch {
	case o.NoAdapters:
		return "backbone"
	case o.GatesOff:
		return "off"
	}
	return "on"
}

// writePEFT writes adapter_model.safetensors (names prefixed as PEFT does)
// and adapter_config.json.
func writePEFT(dir string, man *build.Manifest, trained map[string][]float32) error {
	tensors, shapes := map[string][]float32{}, map[string][]int64{}
	for _, p := range man.Params {
		name := PEFTPrefix + models.CheckpointName(man.Config, p.Name)
		tensors[name], shapes[name] = trained[p.Name], p.Shape
	}
	if err := build.WriteTensors(filepath.Join(dir, ExportAdapterTensor), tensors, shapes, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	e := man.Extension
	conf := map[string]any{
		"base_model_name_or_path": man.ModelDir,
		"task_type":               "CAUSAL_LM",
		"inference_mode":          true,
		"nrgraph_version":         build.Version,
		"nrgraph_method":          e.Method,
	}
	switch e.Method {
	case models.LoRA:
		alpha := e.LoRAAlpha
		if alpha == 0 {
			alpha = float64(man.LoRARank)
		}
		conf["peft_type"] = "LORA"
		conf["r"] = man.LoRARank
		conf["lora_alpha"] = alpha
		conf["lora_dropout"] = 0.0
		conf["bias"] = "none"
		conf["target_modules"] = []string{"gate_proj", "up_proj", "down_proj"}
	case models.Finetune:
		conf["peft_type"] = "NONE"
		conf["note"] = "full finetuning: the tensors are the complete trained backbone under HF names"
	default:
		// PEFT has no neutral-residues type; the layout is documented here
		// and in the README so other tools can load it.
		conf["peft_type"] = "NRGRAPH_PARALLEL_ADAPTER"
		conf["adapter_hidden"] = man.AdapterHidden
		conf["gate"] = e.Gate
		conf["local_loss"] = e.LocalLoss
		conf["activation"] = man.Config.Act
		conf["layout"] = "per layer i: model.layers.{i}.adapter.{w_in,w_gate,w_out}.weight ([out, in] like nn.Linear); " +
			"block_gate.{weight [1, d], bias [1]}; output = ffn(x) + gate(x) * w_out(act(w_gate x) * w_in x), x = the FFN's normed input"
	}
	if n := e.NewTokens; n > 0 {
		conf["new_tokens"] = n
		conf["new_tokens_layout"] = fmt.Sprintf("vocabulary extension: ids %d-%d of tokenizer.json (the build's) are new; %s [%d, d] are their embedding rows (the output rows too when tied), %s their output rows when untied, appended after the base model's",
			man.Config.Vocab, man.Config.Vocab+n-1, models.NewEmbedRows, n, models.NewHeadRows)
	}
	raw, _ := json.MarshalIndent(conf, "", "  ")
	return build.WriteFileAtomic(filepath.Join(dir, ExportAdapterConfig), append(raw, '\n'))
}

// mergeLoRA folds W + (α/r)·B·A into each FFN matrix, computed by ONNX
// Runtime (a GEMM per matrix; far faster than Go loops at LLM sizes).
func mergeLoRA(w models.Weights, man *build.Manifest, trained map[string][]float32) (map[string]*graph.Data, error) {
	r := float64(man.LoRARank)
	alpha := man.Extension.LoRAAlpha
	if alpha == 0 {
		alpha = r
	}
	var bases []string
	for _, p := range man.Params {
		if base, ok := strings.CutSuffix(p.Name, ".lora_A.weight"); ok {
			bases = append(bases, base)
		}
	}
	sort.Strings(bases)
	out := map[string]*graph.Data{}
	for _, base := range bases {
		wd, err := w.Tensor(base + ".weight")
		if err != nil {
			return nil, err
		}
		a, b := trained[base+".lora_A.weight"], trained[base+".lora_B.weight"]
		rank := int64(man.LoRARank)
		outDim, inDim := wd.Dims[0], wd.Dims[1]
		g, err := graph.Build("merge", func(g *graph.Graph) {
			wv := graph.Cast(g.Initializer("w", wd), graph.Float32)
			av := g.Input("a", graph.Float32, graph.S(rank, inDim))
			bv := g.Input("b", graph.Float32, graph.S(outDim, rank))
			g.Output("merged", graph.Add(wv, graph.Gemm(bv, av, nil, graph.GemmOptions{Alpha: float32(alpha / r)})))
		})
		if err != nil {
			return nil, err
		}
		model, err := export.Marshal(g, export.Options{})
		if err != nil {
			return nil, err
		}
		s, err := runtime.OpenBytes(model, []string{"a", "b"}, []string{"merged"}, runtime.Options{})
		if err != nil {
			return nil, err
		}
		at, _ := runtime.NewTensor([]int64{rank, inDim}, a)
		bt, _ := runtime.NewTensor([]int64{outDim, rank}, b)
		res, err := s.Run([]*runtime.Tensor{at, bt}, []*runtime.Tensor{nil})
		at.Destroy()
		bt.Destroy()
		s.Close()
		if err != nil {
			return nil, fmt.Errorf("merge LoRA into %s: %w", base, err)
		}
		out[base+".weight"] = graph.NewData(wd.Dims, append([]float32{}, res[0].Float32s()...))
		res[0].Destroy()
	}
	return out, nil
}

// writeHF writes the trained model in Hugging Face layout; a multimodal
// checkpoint gets the rest of its tensors back from modelDir.
func writeHF(o ExportOptions, hfDType graph.DType, c models.Config, w models.Weights, trained map[string]*graph.Data, modelDir string) error {
	if err := os.MkdirAll(o.HF, 0o755); err != nil {
		return err
	}
	tensors := map[string]*graph.Data{}
	for _, spec := range models.ExpectedTensors(c) {
		d, ok := trained[spec.Name]
		if !ok {
			var err error
			if d, err = w.Tensor(spec.Name); err != nil {
				return err
			}
		}
		conv, err := models.ConvertWeight(d, hfDType)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", spec.Name, err)
		}
		tensors[spec.Name] = conv
	}
	tensors, err := models.HFCheckpoint(c, modelDir, tensors)
	if err != nil {
		return fmt.Errorf("--hf: %w", err)
	}
	var buf bytes.Buffer
	if err := models.WriteSafetensors(&buf, tensors, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	if err := build.WriteFileAtomic(filepath.Join(o.HF, "model.safetensors"), buf.Bytes()); err != nil {
		return err
	}
	for _, f := range []string{build.ConfigFile, build.TokenizerFile} {
		raw, err := os.ReadFile(filepath.Join(o.Build, f))
		if err != nil {
			return fmt.Errorf("--hf: %w (the build has no %s to copy)", err, f)
		}
		if f == build.ConfigFile {
			raw = setConfig(raw, o.HFDType, c.Vocab)
		}
		if err := build.WriteFileAtomic(filepath.Join(o.HF, f), raw); err != nil {
			return err
		}
	}
	fmt.Fprintf(o.Log, "wrote Hugging Face model to %s (%s)\n", o.HF, o.HFDType)
	return nil
}

// setConfig rewrites config.json's torch_dtype (when given) and
// vocab_size (which vocabulary extension grows).
func setConfig(raw []byte, dtype string, vocab int) []byte {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	if v, ok := m["vocab_size"].(float64); dtype == "" && ok && int(v) == vocab {
		return raw // nothing to change: keep the file as it was
	}
	if dtype != "" {
		m["torch_dtype"] = dtype
	}
	m["vocab_size"] = vocab
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return raw
	}
	return append(out, '\n')
}

// copyExtendedTokenizer puts the build's tokenizer.json beside the
// PEFT-style files when the build extends the vocabulary: the new rows mean
// nothing without the tokenizer that makes their ids.
func copyExtendedTokenizer(o ExportOptions, man *build.Manifest) error {
	if man.Extension.NewTokens == 0 || o.GatesOff {
		return nil // --gates off exports the backbone's vocabulary
	}
	raw, err := os.ReadFile(filepath.Join(o.Build, build.TokenizerFile))
	if err != nil {
		return fmt.Errorf("vocabulary extension: %w (the build's extended tokenizer)", err)
	}
	return build.WriteFileAtomic(filepath.Join(o.Out, build.TokenizerFile), raw)
}
