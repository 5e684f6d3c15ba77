package models

import (
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/internal/gradcheck"
)

// tinyConfigs covers each architecture and the variants that change the
// math: GQA, MQA, MHA, tied/untied, Gemma norms and scaling, Gemma 2
// post-norms, soft-capping and sliding windows shorter than the test
// sequences, llama3 and linear RoPE scaling with frequencies in every band
// at the positions used, Gemma 3's local RoPE base, biases (Qwen2, Llama
// attention_bias), q/k norms (Qwen3, Gemma 3) and exact GELU.
func tinyConfigs() map[string]Config {
	base := Config{Vocab: 37, Hidden: 16, Intermediate: 24, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 8,
		RMSEps: 1e-6, RopeTheta: 10000, MaxPositions: 64, Act: "silu", QueryScale: 1 / math.Sqrt(8)}
	llama := base
	llama.Arch = "LlamaForCausalLM"
	llamaTied := llama
	llamaTied.Tied, llamaTied.KVHeads = true, 4 // also multi-head attention (one KV head per query head)
	gemma := base
	gemma.Arch, gemma.KVHeads, gemma.Act, gemma.Tied, gemma.NormPlusOne, gemma.EmbedScale = "GemmaForCausalLM", 1, "gelu_tanh", true, true, true
	gemma2 := gemma
	gemma2.Arch, gemma2.KVHeads, gemma2.PostNorms = "Gemma2ForCausalLM", 2, true
	gemma2.AttnSoftcap, gemma2.FinalSoftcap, gemma2.SlidingWindow, gemma2.QueryScale = 2.0, 3.0, 3, 1/math.Sqrt(10)
	gemma2.SlidingLayers = []bool{true, false}
	// llama3 with wavelengths 6.3 (kept), 63 (blended) and 628, 6283
	// (divided by the factor) against bands at 64/4 and 64/1.
	llama3 := llama
	llama3.RopeScaling = RopeScaling{Type: RopeLlama3, Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 64}
	llamaBias := llama
	llamaBias.QKVBias, llamaBias.OutBias, llamaBias.Act = true, true, ActGELU
	llamaBias.RopeScaling = RopeScaling{Type: RopeLinear, Factor: 4}
	mistral := llama
	mistral.Arch, mistral.SlidingWindow, mistral.SlidingLayers = "MistralForCausalLM", 3, []bool{true, true}
	qwen2 := llama
	qwen2.Arch, qwen2.QKVBias, qwen2.SlidingWindow, qwen2.SlidingLayers = "Qwen2ForCausalLM", true, 2, []bool{false, true}
	qwen3 := llama
	qwen3.Arch, qwen3.QKNorm, qwen3.Tied, qwen3.RopeTheta = "Qwen3ForCausalLM", true, true, 1e6
	// YaRN with frequency pairs 0 kept, 1 and 2 blended (ramp 1/3, 2/3) and
	// 3 interpolated: correction dims 0.21 and 2.2 (theta 100, original
	// context 16, beta_fast 2, beta_slow 0.2), rounded out to 0 and 3;
	// cos/sin scaled by 1.2.
	qwen3Yarn := qwen3
	qwen3Yarn.RopeTheta = 100
	qwen3Yarn.RopeScaling = RopeScaling{Type: RopeYarn, Factor: 4, OriginalMaxPositions: 16, BetaFast: 2, BetaSlow: 0.2, Truncate: true, AttentionFactor: 1.2}
	gemma3 := gemma2
	gemma3.Arch, gemma3.QKNorm, gemma3.AttnSoftcap, gemma3.FinalSoftcap = "Gemma3ForCausalLM", true, 0, 0
	gemma3.RopeTheta, gemma3.LocalRopeTheta, gemma3.RopeScaling = 1e6, 10, RopeScaling{Type: RopeLinear, Factor: 8}
	return map[string]Config{"llama-gqa-untied": llama, "llama-tied": llamaTied, "gemma-mqa": gemma, "gemma2": gemma2,
		"llama3-rope": llama3, "llama-bias-gelu-linear": llamaBias, "mistral": mistral, "qwen2": qwen2, "qwen3": qwen3, "qwen3-yarn": qwen3Yarn, "gemma3": gemma3}
}

// randomCheckpoint draws weights (std 0.3 so activations are not tiny) and
// optionally stores them as bfloat16, returning the graph weights and the
// exact float64 values the reference must use.
func randomCheckpoint(c Config, seed int64, bf16 bool) (MapWeights, map[string][]float64) {
	r := rand.New(rand.NewSource(seed))
	w := MapWeights{}
	ref := map[string][]float64{}
	for _, spec := range ExpectedTensors(c) {
		n := graph.NumElements(spec.Shape)
		vals := make([]float64, n)
		f := make([]float32, n)
		for i := range vals {
			v := r.NormFloat64() * 0.3
			if len(spec.Shape) == 1 && !strings.HasSuffix(spec.Name, ".bias") {
				v = 1 + 0.2*r.NormFloat64()
				if c.NormPlusOne {
					v -= 1
				}
			}
			f[i] = float32(v)
			if bf16 {
				f[i] = math.Float32frombits(uint32(graph.Float32ToBF16(f[i])) << 16)
			}
			vals[i] = float64(f[i])
		}
		ref[spec.Name] = vals
		if bf16 {
			raw := make([]byte, 2*n)
			for i, x := range f {
				b := graph.Float32ToBF16(x)
				raw[2*i], raw[2*i+1] = byte(b), byte(b>>8)
			}
			d, err := graph.RawData(graph.BFloat16, spec.Shape, raw)
			if err != nil {
				panic(err)
			}
			w[spec.Name] = d
		} else {
			w[spec.Name] = graph.NewData(spec.Shape, f)
		}
	}
	return w, ref
}

// runForward runs the logits graph on a batch and returns [batch][seq][vocab].
func runForward(t *testing.T, g *graph.Graph, ids [][]int64, mask [][]float64) [][][]float64 {
	t.Helper()
	batch, seq := len(ids), len(ids[0])
	var flatIDs, flatMask []float64
	for b := range ids {
		for _, id := range ids[b] {
			flatIDs = append(flatIDs, float64(id))
		}
		flatMask = append(flatMask, mask[b]...)
	}
	dims := []int64{int64(batch), int64(seq)}
	outs, err := gradcheck.Run(g, map[string]gradcheck.Feed{InputIDs: {Shape: dims, Data: flatIDs}, AttentionMask: {Shape: dims, Data: flatMask}})
	require.NoError(t, err)
	logits := outs["logits"]
	require.Equal(t, dims, logits.Shape[:2])
	data := logits.Data
	vocab := int(logits.Shape[2])
	res := make([][][]float64, batch)
	for b := range res {
		res[b] = make([][]float64, seq)
		for s := range res[b] {
			res[b][s] = data[(b*seq+s)*vocab : (b*seq+s+1)*vocab]
		}
	}
	return res
}

func TestForwardMatchesReference(t *testing.T) {
	ids := [][]int64{{1, 5, 9, 2, 33, 7}, {4, 4, 20, 36, 0, 11}}
	// The second sequence masks key 2 (a hole) to exercise the padding mask.
	mask := [][]float64{{1, 1, 1, 1, 1, 1}, {1, 1, 0, 1, 1, 1}}
	for name, c := range tinyConfigs() {
		for _, variant := range []struct {
			suffix  string
			dt      graph.DType
			bf16    bool
			tol     float64
			enabled bool
		}{{"f32", graph.Float32, false, 1e-4, true}, {"f64", graph.Float64, false, 1e-9, true}, {"bf16-weights", graph.Float32, true, 1e-4, true}} {
			t.Run(name+"/"+variant.suffix, func(t *testing.T) {
				w, refW := randomCheckpoint(c, 7, variant.bf16)
				require.NoError(t, CheckWeights(c, w))
				g, err := graph.Build(name, func(g *graph.Graph) {
					f := BuildForward(g, c, w, ForwardOptions{ComputeDType: variant.dt})
					g.Output("logits", f.Logits)
				})
				require.NoError(t, err)
				got := runForward(t, g, ids, mask)
				ref := &refModel{c: c, w: refW}
				maxDiff, maxLogProbDiff := 0.0, 0.0
				for b := range ids {
					want := ref.forward(ids[b], mask[b])
					for s := range want {
						if mask[b][s] == 0 {
							continue // a masked query position's output is unused
						}
						wantLP, gotLP := refLogSoftmax(want[s]), refLogSoftmax(got[b][s])
						for v := range want[s] {
							maxDiff = math.Max(maxDiff, math.Abs(want[s][v]-got[b][s][v]))
							maxLogProbDiff = math.Max(maxLogProbDiff, math.Abs(wantLP[v]-gotLP[v]))
						}
					}
				}
				t.Logf("max |logit diff| %.2g, max |log-prob diff| %.2g", maxDiff, maxLogProbDiff)
				tol := variant.tol
				if c.Act == ActGELU {
					tol = max(tol, 1e-5) // erf is float32 in every graph (see Activation)
				}
				assert.Less(t, maxDiff, tol, "max |logit diff| %s", fmt.Sprint(maxDiff))
				assert.Less(t, maxLogProbDiff, tol, "max |log-prob diff| %s", fmt.Sprint(maxLogProbDiff))
			})
		}
	}
}

func TestParseConfigErrors(t *testing.T) {
	_, err := ParseConfig("x/config.json", []byte(`{"architectures": ["MixtralForCausalLM"]}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unsupported architecture \"MixtralForCausalLM\"")
	assert.Contains(t, err.Error(), "LlamaForCausalLM")
	_, err = ParseConfig("x/config.json", []byte(`{"architectures": ["LlamaForCausalLM"], "hidden_size": 16, "num_attention_heads": 3, "num_key_value_heads": 2, "vocab_size": 8, "intermediate_size": 8, "num_hidden_layers": 1}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a multiple")
	_, err = ParseConfig("x/config.json", []byte(`{`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "x/config.json")
}

func TestCheckWeightsReportsEveryProblem(t *testing.T) {
	c := tinyConfigs()["llama-gqa-untied"]
	w, _ := randomCheckpoint(c, 1, false)
	delete(w, "model.layers.1.mlp.up_proj.weight")
	w["model.layers.0.self_attn.q_proj.weight"] = graph.NewData([]int64{3, 16}, make([]float32, 48))
	w["model.layers.0.extra.weight"] = graph.NewData([]int64{1}, []float32{0})
	err := CheckWeights(c, w)
	require.Error(t, err)
	for _, want := range []string{`missing tensor "model.layers.1.mlp.up_proj.weight"`, `"model.layers.0.self_attn.q_proj.weight" has shape [3 16], config needs [32 16]`, `unexpected tensor "model.layers.0.extra.weight"`} {
		assert.Contains(t, err.Error(), want)
	}
}
