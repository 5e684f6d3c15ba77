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
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	man, err := build.ReadManifest(o.Build)
	if err != nil {
		return err
	}
	stateFile := filepath.Join(o.Build, build.InitFile)
	if o.Checkpoint != "" {
		if stateFile, err = build.CheckpointStateFile(o.Checkpoint); err != nil {
			return err
		}
	}
	trained, err := build.ReadTensors(stateFile)
	if err != nil {
		return err
	}
	cfg, w := o.Config, o.Weights
	switch {
	case cfg != nil && w != nil:
	case man.Extension.Method == models.Finetune:
		// Every backbone tensor was trained: the checkpoint is the model
		// (this also covers pretraining from scratch, which has no weights).
		c := man.Config
		tw := models.MapWeights{}
		for _, p := range man.Params {
			tw[p.Name] = graph.NewData(p.Shape, trained[p.Name])
		}
		cfg, w = &c, tw
	case man.ModelDir == "":
		return fmt.Errorf("build %s has no model directory recorded; cannot load the backbone", o.Build)
	default:
		c, weights, err := models.LoadModelDir(man.ModelDir)
		if err != nil {
			return err
		}
		cfg, w = &c, weights
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	baked := map[string]*graph.Data{}
	var adapterNames []string
	for _, p := range man.Params {
		vals, ok := trained[p.Name]
		if !ok {
			return fmt.Errorf("%s: tensor %q missing", stateFile, p.Name)
		}
		baked[p.Name] = graph.NewData(p.Shape, vals)
		adapterNames = append(adapterNames, p.Name)
	}
	if !o.NoAdapters {
		if err := writePEFT(o.Out, man, trained, adapterNames); err != nil {
			return err
		}
	}
	model := models.Model{Config: *cfg, Weights: w, Ext: man.Extension, Baked: baked}
	switch {
	case o.NoAdapters || o.GatesOff:
		model.Ext, _ = models.DefaultExtension(models.Adapters)
		model.Ext.GatesOff = true
		model.Baked = map[string]*graph.Data{}
		if !o.NoAdapters && man.Extension.Method == models.Finetune {
			return fmt.Errorf("--gates off has no meaning for finetuning (no adapters); use --no-adapters for the original backbone")
		}
	case man.Extension.Method == models.LoRA:
		merged, err := mergeLoRA(*cfg, w, man, trained)
		if err != nil {
			return err
		}
		model.Ext, _ = models.DefaultExtension(models.Adapters)
		model.Ext.GatesOff = true
		model.Baked = merged
	}
	if o.HF != "" {
		if err := writeHF(o, man, *cfg, w, model.Baked); err != nil {
			return err
		}
	}
	g, err := models.BuildLogitsGraph(model)
	if err != nil {
		return err
	}
	path := filepath.Join(o.Out, ExportONNX)
	if err := export.Save(g, path, export.Options{Metadata: map[string]string{
		"nrgraph_version": build.Version, "method": string(man.Extension.Method), "gates": gatesLabel(o),
	}}); err != nil {
		return err
	}
	fmt.Fprintf(log, "wrote %s (%d nodes; inputs %s, %s; output logits)\n", path, len(g.Nodes()), models.InputIDs, models.AttentionMask)
	return nil
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
func writePEFT(dir string, man *build.Manifest, trained map[string][]float32, names []string) error {
	tensors, shapes := map[string][]float32{}, map[string][]int64{}
	for _, p := range man.Params {
		tensors[PEFTPrefix+p.Name] = trained[p.Name]
		shapes[PEFTPrefix+p.Name] = p.Shape
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
	raw, _ := json.MarshalIndent(conf, "", "  ")
	return build.WriteFileAtomic(filepath.Join(dir, ExportAdapterConfig), append(raw, '\n'))
}

// mergeLoRA folds W + (α/r)·B·A into each FFN matrix, computed by ONNX
// Runtime (a GEMM per matrix; far faster than Go loops at LLM sizes).
func mergeLoRA(c models.Config, w models.Weights, man *build.Manifest, trained map[string][]float32) (map[string]*graph.Data, error) {
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
			g.Output("merged", graph.Add(wv, graph.Gemm(bv, av, nil, false, false, float32(alpha/r), 0)))
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

// writeHF writes the trained model in Hugging Face layout.
func writeHF(o ExportOptions, man *build.Manifest, c models.Config, w models.Weights, trained map[string]*graph.Data) error {
	if man.Extension.Method != models.Finetune && man.Extension.Method != models.LoRA {
		return fmt.Errorf("--hf needs a method that changes only backbone tensors (finetune, lora); %s adds adapter blocks, use the PEFT-style files", man.Extension.Method)
	}
	hfDType := graph.Float32
	if o.HFDType != "" {
		var err error
		if hfDType, err = graph.ParseDType(o.HFDType); err != nil {
			return fmt.Errorf("--hf-dtype: %w", err)
		}
	}
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
		if f == build.ConfigFile && o.HFDType != "" {
			raw = setTorchDType(raw, o.HFDType)
		}
		if err := build.WriteFileAtomic(filepath.Join(o.HF, f), raw); err != nil {
			return err
		}
	}
	fmt.Fprintf(o.Log, "wrote Hugging Face model to %s (%s)\n", o.HF, o.HFDType)
	return nil
}

// setTorchDType rewrites config.json's torch_dtype.
func setTorchDType(raw []byte, dtype string) []byte {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	m["torch_dtype"] = dtype
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return raw
	}
	return append(out, '\n')
}
