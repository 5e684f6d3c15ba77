// Command scale measures nrgraph at the paper's scale (`make bench-scale`):
// it writes a random Gemma-2B-shaped checkpoint in Hugging Face layout
// itself (bf16 safetensors streamed to disk, config.json, a byte-level BPE
// tokenizer), then runs what a user runs — build neutral residues, train a
// few steps at seq x micro-batch 1, score held-out text — each command in
// its own process, and prints each phase's wall time and peak RSS (the
// kernel's maximum resident set of that process, as /usr/bin/time -v
// reports it). With -torch it also runs the same training step in PyTorch
// (bench/torch_step.py: frozen bf16 backbone, fp32 adapters, AdamW, bf16
// autocast).
//
// Run the big shapes alone on a shared machine: the Gemma-2B shape needs
// ~5 GB of disk for the checkpoint and several GB of memory per phase.
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/models/safetensors"
	"github.com/nrgraph/nrgraph/models/tokenizer"
)

// shape is the size of a GemmaForCausalLM (tied embeddings, bf16).
type shape struct{ layers, d, ffn, heads, kv, headDim, vocab int }

// shapes: the Gemma-2B shape (vocabulary 262,144 as Gemma's later
// tokenizers) and a mid size for checking the memory estimate.
var shapes = map[string]shape{
	"gemma-2b": {18, 2048, 16384, 8, 1, 256, 262144},
	"mid":      {8, 1024, 8192, 8, 1, 128, 65536},
}

// configJSON is the HF config.json of the shape.
func (s shape) configJSON() []byte {
	raw, _ := json.MarshalIndent(map[string]any{
		"architectures": []string{"GemmaForCausalLM"}, "vocab_size": s.vocab, "hidden_size": s.d,
		"intermediate_size": s.ffn, "num_hidden_layers": s.layers, "num_attention_heads": s.heads,
		"num_key_value_heads": s.kv, "head_dim": s.headDim, "rms_norm_eps": 1e-6, "rope_theta": 10000,
		"max_position_embeddings": 8192, "hidden_act": "gelu_pytorch_tanh", "torch_dtype": "bfloat16",
	}, "", "  ")
	return raw
}

// tensors lists the checkpoint's tensors (tied embeddings, as Gemma).
func (s shape) tensors() map[string][]int64 {
	d, f, hd := int64(s.d), int64(s.ffn), int64(s.headDim)
	q, kv := int64(s.heads)*hd, int64(s.kv)*hd
	out := map[string][]int64{"model.embed_tokens.weight": {int64(s.vocab), d}, "model.norm.weight": {d}}
	for l := 0; l < s.layers; l++ {
		p := fmt.Sprintf("model.layers.%d.", l)
		for name, dims := range map[string][]int64{
			"self_attn.q_proj.weight": {q, d}, "self_attn.k_proj.weight": {kv, d}, "self_attn.v_proj.weight": {kv, d},
			"self_attn.o_proj.weight": {d, q}, "mlp.gate_proj.weight": {f, d}, "mlp.up_proj.weight": {f, d},
			"mlp.down_proj.weight": {d, f}, "input_layernorm.weight": {d}, "post_attention_layernorm.weight": {d},
		} {
			out[p+name] = dims
		}
	}
	return out
}

// randomBF16 streams n bytes of bf16 values, uniform with standard
// deviation 0.02 (vectors: the norms' w of Gemma's (1 + w), near 0), from
// a xorshift generator: 5 GB without holding more than a write buffer.
type randomBF16 struct {
	state uint64
	left  int64
}

func (r *randomBF16) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := int64(len(p)) &^ 1
	n = min(n, r.left)
	half := 0.02 * math.Sqrt(3)
	for i := int64(0); i < n; i += 2 {
		r.state ^= r.state << 13
		r.state ^= r.state >> 7
		r.state ^= r.state << 17
		u := float64(r.state>>11)/(1<<53)*2 - 1
		binary.LittleEndian.PutUint16(p[i:], uint16(math.Float32bits(float32(u*half))>>16))
	}
	r.left -= n
	return int(n), nil
}

// writeModel writes config.json, model.safetensors and tokenizer.json into
// dir; a checkpoint of the same shape already there is kept.
func writeModel(dir string, s shape, text string) error {
	cfg := s.configJSON()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil || !sameJSON(old, cfg) {
		if err := writeCheckpoint(filepath.Join(dir, "model.safetensors"), s); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
			return err
		}
	}
	tokPath := filepath.Join(dir, "tokenizer.json")
	tok, err := tokenizer.Train([]string{text}, 2048, []string{"<bos>", "<eos>", "<pad>"})
	if err != nil {
		return err
	}
	if err := tok.Save(tokPath); err != nil {
		return err
	}
	return padVocab(tokPath, s.vocab)
}

// writeCheckpoint streams random bf16 tensors of the shape to path, each
// from its own seed (in name order, so the file is the same every time).
func writeCheckpoint(path string, s shape) error {
	tensors := s.tensors()
	names := slices.Sorted(maps.Keys(tensors))
	var list []safetensors.Tensor
	for i, name := range names {
		n := int64(2)
		for _, d := range tensors[name] {
			n *= d
		}
		seed := uint64(i+1) * 0x9e3779b97f4a7c15
		list = append(list, safetensors.Tensor{Name: name, DType: safetensors.BF16, Shape: tensors[name], Source: &randomBF16{state: seed | 1, left: n}})
	}
	return safetensors.Write(path, list, map[string]string{"format": "pt"})
}

// padVocab fills the tokenizer's vocabulary up to the model's with
// tokens no text encodes to (as Gemma's <unused> tokens): nrgraph build
// refuses a tokenizer that covers less than 7/8 of the embedding.
func padVocab(path string, vocab int) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var tj map[string]any
	if err := json.Unmarshal(raw, &tj); err != nil {
		return err
	}
	model, _ := tj["model"].(map[string]any)
	ids, _ := model["vocab"].(map[string]any)
	if ids == nil {
		return fmt.Errorf("%s: no model.vocab", path)
	}
	for id := len(ids); id < vocab; id++ {
		ids[fmt.Sprintf("<unused%d>", id)] = id
	}
	out, err := json.Marshal(tj)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

func sameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// phase is one measured command.
type phase struct {
	Name    string  `json:"phase"`
	Seconds float64 `json:"seconds"`
	PeakMB  float64 `json:"peak_rss_mb"`
	Note    string  `json:"note,omitempty"`
}

// run executes a command, its output passed through, and measures it.
func run(name string, args ...string) (phase, error) {
	fmt.Fprintf(os.Stderr, "== %s: %s\n", name, strings.Join(args, " "))
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	err := cmd.Run()
	p := phase{Name: name, Seconds: time.Since(start).Seconds()}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			p.PeakMB = float64(ru.Maxrss) / 1024
		}
	}
	if err != nil {
		return p, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

func main() {
	work := flag.String("work", ".cache/bench-scale", "working directory (the checkpoint is written once and reused)")
	shapeName := flag.String("shape", "gemma-2b", "model shape: gemma-2b or mid")
	bin := flag.String("nrgraph", "bin/nrgraph", "nrgraph binary")
	seq := flag.Int("seq", 256, "training sequence length")
	steps := flag.Int("steps", 2, "training steps (micro-batch 1)")
	threads := flag.Int("threads", 2, "threads for both sides")
	torch := flag.Bool("torch", false, "also run the same training step in PyTorch (bench/torch_step.py)")
	torchLayers := flag.Int("torch-layers", 0, "with -torch: keep only this many blocks in PyTorch (its bf16 step is slow on CPUs without fast bf16; peak RSS grows linearly per block)")
	recompute := flag.Bool("recompute", false, "build with --recompute (block activations recomputed in the backward pass)")
	precision := flag.String("backbone-precision", "fp32", "nrgraph build --backbone-precision: fp32 or int8")
	only := flag.String("only", "", "comma-separated phases to run (build,train,score,torch); default all")
	flag.Parse()
	s, ok := shapes[*shapeName]
	if !ok {
		fail(fmt.Errorf("-shape %q: want gemma-2b or mid", *shapeName))
	}
	want := func(p string) bool { return *only == "" || strings.Contains(","+*only+",", ","+p+",") }
	root := filepath.Join(*work, *shapeName)
	modelDir, buildDir, runDir := filepath.Join(root, "model"), filepath.Join(root, "build"), filepath.Join(root, "run")
	if err := os.MkdirAll(root, 0o755); err != nil {
		fail(err)
	}
	text := filepath.Join(root, "text.txt")
	if err := writeText(text); err != nil {
		fail(err)
	}
	var phases []phase
	start := time.Now()
	if err := writeModel(modelDir, s, text); err != nil {
		fail(fmt.Errorf("write model: %w", err))
	}
	phases = append(phases, phase{Name: "write checkpoint", Seconds: time.Since(start).Seconds(), Note: "this process; skipped when present"})
	must := func(p phase, err error) {
		phases = append(phases, p)
		if err != nil {
			report(*shapeName, phases)
			fail(err)
		}
	}
	th := fmt.Sprint(*threads)
	if want("build") {
		args := []string{*bin, "build", "--model", modelDir, "--seq", fmt.Sprint(*seq), "--out", buildDir}
		if *recompute {
			args = append(args, "--recompute")
		}
		args = append(args, "--backbone-precision", *precision)
		must(run("build", args...))
	}
	// The build's own estimate beside the measured phases: the manifest's
	// training step, and scoring for the scored text's length.
	if est, err := estimate(buildDir, text); err == nil {
		phases = append(phases, phase{Name: fmt.Sprintf("estimate: train step / scoring %d tokens", est.ScoreTokens),
			Note: fmt.Sprintf("%.0f / %.0f", float64(est.TrainPeak)/(1<<20), float64(est.ScorePeak)/(1<<20))})
	} else {
		fmt.Fprintln(os.Stderr, "bench-scale: no estimate:", err)
	}
	if want("train") {
		shards := filepath.Join(root, "shards", "text")
		if _, err := run("tokenize", *bin, "tokenize", "--tokenizer", filepath.Join(modelDir, "tokenizer.json"), "--out", shards, text); err != nil {
			fail(err)
		}
		os.RemoveAll(runDir)
		must(run(fmt.Sprintf("train %d steps (seq %d x 1)", *steps, *seq), *bin, "train", "--build", buildDir, "--new", shards, "--orig", shards,
			"--steps", fmt.Sprint(*steps), "--batch", "1", "--micro-batch", "1", "--warmup", "1", "--save-every", "1000000",
			"--threads", th, "--out", runDir))
	}
	if want("score") {
		must(run("score ~2,000 tokens", *bin, "eval", "--build", buildDir, "--text-target", text, "--batch", "1", "--threads", th))
	}
	if want("torch") && *torch {
		name := fmt.Sprintf("PyTorch train %d steps (seq %d x 1)", *steps, *seq)
		if *torchLayers > 0 {
			name += fmt.Sprintf(", %d of %d blocks", *torchLayers, s.layers)
		}
		must(run(name, "/usr/bin/python3", "bench/torch_step.py",
			"--gemma-config", filepath.Join(modelDir, "config.json"), "--gemma-layers", fmt.Sprint(*torchLayers),
			"--seq", fmt.Sprint(*seq), "--batch", "1", "--steps", fmt.Sprint(*steps), "--threads", th, "--train-only"))
	}
	report(*shapeName, phases)
}

// estimate is the memory estimate of buildDir's manifest with its scoring
// peak for the tokens of text (one window, as eval scores it here).
func estimate(buildDir, text string) (models.MemoryEstimate, error) {
	man, err := build.ReadManifest(buildDir)
	if err != nil {
		return models.MemoryEstimate{}, err
	}
	tok, err := tokenizer.Load(filepath.Join(buildDir, build.TokenizerFile))
	if err != nil {
		return models.MemoryEstimate{}, err
	}
	raw, err := os.ReadFile(text)
	if err != nil {
		return models.MemoryEstimate{}, err
	}
	est, err := models.EstimateMemory(man.Config, man.Extension, man.Seq, 1, len(tok.Encode(string(raw), true)))
	if err != nil {
		return est, err
	}
	return est.WithBuildOptions(man.Config, man.Extension, man.Recompute, man.BackbonePrecision), nil
}

func report(shapeName string, phases []phase) {
	fmt.Printf("# nrgraph at scale: %s shape, %s\n\n| phase | wall s | peak RSS MiB |\n|---|---|---|\n", shapeName, time.Now().Format("2006-01-02"))
	for _, p := range phases {
		rss, wall := "–", "–"
		if p.PeakMB > 0 {
			rss = fmt.Sprintf("%.0f", p.PeakMB)
		}
		if p.Seconds > 0 {
			wall = fmt.Sprintf("%.1f", p.Seconds)
		}
		if p.Note != "" && p.Seconds == 0 {
			rss = p.Note
		}
		fmt.Printf("| %s | %s | %s |\n", p.Name, wall, rss)
	}
}

// writeText writes ~2,000 tokens of deterministic English-like text: the
// tokenizer's training text, the training shards and the scored text.
func writeText(path string) error {
	words := strings.Fields(`the model adds a gated adapter beside every frozen feed forward block and trains it on new
		language text mixed with original domain data so that it learns without forgetting what it knew before
		neutral residues keep the adapter output near zero on the original domain with a sparsity loss`)
	var b strings.Builder
	state := uint64(12345)
	for i := 0; i < 2000; i++ {
		state = state*6364136223846793005 + 1442695040888963407
		b.WriteString(words[(state>>33)%uint64(len(words))])
		if i%17 == 16 {
			b.WriteString(".\n")
		} else {
			b.WriteByte(' ')
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench-scale:", err)
	os.Exit(1)
}
