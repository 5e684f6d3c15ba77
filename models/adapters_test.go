package models

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/internal/gradcheck"
)

// runGraphOutputs runs g in ONNX Runtime and returns every output's data.
func runGraphOutputs(t *testing.T, g *graph.Graph, feeds map[string]gradcheck.Feed) map[string][]float64 {
	t.Helper()
	outs, err := gradcheck.Run(g, feeds)
	require.NoError(t, err)
	res := map[string][]float64{}
	for name, o := range outs {
		res[name] = o.Data
	}
	return res
}

var (
	testIDs  = gradcheck.Feed{Shape: []int64{2, 5}, Data: []float64{1, 5, 9, 2, 33, 4, 4, 20, 36, 0}}
	testMask = gradcheck.Feed{Shape: []int64{2, 5}, Data: []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 0}}
)

func initFeeds(e *Extended) map[string]gradcheck.Feed {
	feeds := map[string]gradcheck.Feed{InputIDs: testIDs, AttentionMask: testMask}
	for _, p := range e.Trainable {
		vals, err := e.Init[p.Name()].Float64s()
		if err != nil {
			panic(err)
		}
		feeds[p.Name()] = gradcheck.Feed{Shape: mustStatic(p), Data: vals}
	}
	return feeds
}

func logitsOf(t *testing.T, m Model) []float64 {
	var e *Extended
	g, err := graph.Build("logits", func(g *graph.Graph) {
		e = BuildExtended(g, m)
		g.Output("logits", e.Logits)
	})
	require.NoError(t, err)
	return runGraphOutputs(t, g, initFeeds(e))["logits"]
}

// backboneLogits runs the plain backbone (BuildForward with no extension):
// the reference of the neutrality tests, built without the code under test.
func backboneLogits(t *testing.T, c Config, w Weights) []float64 {
	g, err := BuildBackboneLogitsGraph(c, w)
	require.NoError(t, err)
	return runGraphOutputs(t, g, map[string]gradcheck.Feed{InputIDs: testIDs, AttentionMask: testMask})["logits"]
}

func requireBitIdentical(t *testing.T, want, got []float64) {
	t.Helper()
	require.Equal(t, len(want), len(got))
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("logit %d: %v != backbone %v (not bit-identical)", i, got[i], want[i])
		}
	}
}

// TestNeutralAtInitAndGatesOff: at initialisation every method computes
// exactly the plain backbone's logits (output matrix / LoRA B are zero),
// and so does every method with GatesOff.
func TestNeutralAtInitAndGatesOff(t *testing.T) {
	for name, c := range tinyConfigs() {
		w, _ := randomCheckpoint(c, 5, false)
		backbone := backboneLogits(t, c, w)
		for _, method := range Methods {
			t.Run(name+"/"+string(method), func(t *testing.T) {
				ext, err := DefaultExtension(method)
				require.NoError(t, err)
				requireBitIdentical(t, backbone, logitsOf(t, Model{Config: c, Weights: w, Ext: ext}))
				ext.GatesOff = true
				requireBitIdentical(t, backbone, logitsOf(t, Model{Config: c, Weights: w, Ext: ext}))
			})
		}
	}
}

// TestGatesOffIsExactlyTheBackboneAfterTraining perturbs the adapter
// weights (as training would) and checks that GatesOff still matches the
// backbone exactly while the gated model does not.
func TestGatesOffIsExactlyTheBackboneAfterTraining(t *testing.T) {
	c := tinyConfigs()["gemma2"]
	w, _ := randomCheckpoint(c, 6, false)
	ext, _ := DefaultExtension(NeutralResidues)
	var e *Extended
	g, err := graph.Build("trained", func(g *graph.Graph) {
		e = BuildExtended(g, Model{Config: c, Weights: w, Ext: ext})
		g.Output("logits", e.Logits)
	})
	require.NoError(t, err)
	feeds := initFeeds(e)
	for name, f := range feeds {
		if name == InputIDs || name == AttentionMask {
			continue
		}
		for i := range f.Data {
			f.Data[i] += 0.3 * math.Sin(float64(i+len(name)))
		}
	}
	trained := runGraphOutputs(t, g, feeds)["logits"]
	off := ext
	off.GatesOff = true
	backbone := backboneLogits(t, c, w)
	requireBitIdentical(t, backbone, logitsOf(t, Model{Config: c, Weights: w, Ext: off}))
	// Switched off means absent: no adapter tensor is left to read trained
	// values from (so trained weights cannot leak into a gates-off export).
	_, err = graph.Build("off", func(g *graph.Graph) {
		assert.Empty(t, BuildExtended(g, Model{Config: c, Weights: w, Ext: off}).Trainable)
	})
	require.NoError(t, err)
	differs := false
	for i := range trained {
		differs = differs || trained[i] != backbone[i]
	}
	assert.True(t, differs, "perturbed adapters did not change the output")
}

// TestAddedParamsMatchFormula: the counted parameters equal the tensors the
// graph actually declares, and the capacity rule lands near the target.
func TestAddedParamsMatchFormula(t *testing.T) {
	c := Config{Arch: "LlamaForCausalLM", Vocab: 4096, Hidden: 256, Intermediate: 688, Layers: 4, Heads: 4, KVHeads: 4, HeadDim: 64,
		RMSEps: 1e-5, RopeTheta: 10000, MaxPositions: 128, Act: "silu", QueryScale: 0.125}
	w := RandomWeights(c, 1, 0.02)
	for _, method := range []Method{NeutralResidues, SigmoidGate, Adapters, LoRA} {
		for _, capacity := range []float64{0.05, 0.1, 0.2, 0.5} {
			t.Run(fmt.Sprintf("%s/%g", method, capacity), func(t *testing.T) {
				ext, _ := DefaultExtension(method)
				ext.Capacity = capacity
				var e *Extended
				_, err := graph.Build("count", func(g *graph.Graph) {
					e = BuildExtended(g, Model{Config: c, Weights: w, Ext: ext})
				})
				require.NoError(t, err)
				declared := int64(0)
				for _, p := range e.Trainable {
					declared += p.Shape.NumElements().MustStatic()
				}
				assert.Equal(t, e.Ext.AddedParams(), declared)
				frac := float64(declared) / float64(c.NumParams())
				assert.InDelta(t, capacity, frac, 0.01, "added %d of %d", declared, c.NumParams())
			})
		}
	}
}

// TestLocalLossGradients checks L1 and CE local losses, the ReLU and
// sigmoid gates and LoRA against finite differences, with all extension
// weights perturbed away from their (zero-output) initialisation.
func TestLocalLossGradients(t *testing.T) {
	c := tinyConfigs()["llama-gqa-untied"]
	c.Layers, c.Vocab, c.Hidden, c.HeadDim, c.Intermediate, c.Heads, c.KVHeads = 2, 11, 8, 4, 12, 2, 1
	c.QueryScale = 0.5
	w, _ := randomCheckpoint(c, 9, false)
	for _, method := range []Method{NeutralResidues, SigmoidGate, LoRA} {
		t.Run(string(method), func(t *testing.T) {
			ext, _ := DefaultExtension(method)
			ext.Alpha = 0.7 // large, so the local loss matters in the check
			var loss *graph.Value
			var e *Extended
			g, err := graph.Build(string(method), func(g *graph.Graph) {
				e = BuildExtended(g, Model{Config: c, Weights: w, Ext: ext, ComputeDType: graph.Float64})
				var metrics []*graph.Value
				loss, metrics = objective(g, e, ext.Alpha, false)
				_ = metrics
			})
			require.NoError(t, err)
			feeds := objectiveFeeds(e)
			res, err := gradcheck.Check(g, loss, e.Trainable, feeds, 1e-6)
			require.NoError(t, err)
			assert.Less(t, res.MaxRelErr, 1e-6, "worst: %s", res.Worst)
		})
	}
}

// objectiveFeeds feeds objective's graph: a batch of two masked rows
// (one per domain) and the extension weights perturbed away from their
// zero-output initialisation, so every gradient is non-zero.
func objectiveFeeds(e *Extended) map[string]gradcheck.Feed {
	feeds := initFeeds(e)
	for _, p := range e.Trainable {
		f := feeds[p.Name()]
		for i := range f.Data {
			f.Data[i] += 0.4 * math.Sin(float64(3*i+len(p.Name())))
		}
	}
	feeds[InputIDs] = gradcheck.Feed{Shape: []int64{2, 5}, Data: []float64{1, 5, 9, 2, 3, 4, 4, 10, 6, 0}}
	feeds[Targets] = gradcheck.Feed{Shape: []int64{2, 5}, Data: []float64{5, 9, 2, 3, 1, 4, 10, 6, 0, 0}}
	feeds[LossMask] = gradcheck.Feed{Shape: []int64{2, 5}, Data: []float64{1, 1, 1, 1, 0, 1, 1, 1, 0, 0}}
	feeds[Domain] = gradcheck.Feed{Shape: []int64{2}, Data: []float64{1, 0}}
	return feeds
}

func TestExtensionValidation(t *testing.T) {
	_, err := DefaultExtension("prefix-tuning")
	assert.ErrorContains(t, err, "unknown method")
	e, _ := DefaultExtension(NeutralResidues)
	e.LocalLoss = "ce"
	assert.ErrorContains(t, e.Validate(), "--gate sigmoid")
	e, _ = DefaultExtension(LoRA)
	e.Capacity = 0
	assert.ErrorContains(t, e.Validate(), "capacity")
}

// TestTrainStepHoldsNoActivationForItsShape: in every method's training
// step, for both attention layouts (MHA and GQA), no Shape node reads a
// forward activation (a Shape read in the backward pass keeps the whole
// tensor alive until then), no backward node reads a forward sigmoid
// (SiLU's is recomputed), and no backward node reads the forward pass's
// float32 cast of a stored bf16 weight (it casts again, so no float32
// copy of the backbone lives from the forward to the backward pass; the
// embedding rows are gathered before the cast). The LM head works in
// chunks of 7 vocabulary rows, as a large vocabulary's does.
func TestTrainStepHoldsNoActivationForItsShape(t *testing.T) {
	for name, c := range map[string]Config{"mha": tinyConfigs()["llama-tied"], "gqa": tinyConfigs()["llama-gqa-untied"]} {
		w, _ := randomCheckpoint(c, 3, true)
		for _, method := range []Method{NeutralResidues, SigmoidGate, Adapters, LoRA, Finetune} {
			t.Run(name+"/"+string(method), func(t *testing.T) {
				ext, _ := DefaultExtension(method)
				g, _, err := BuildTrainGraph(Model{Config: c, Weights: w, Ext: ext, HeadChunkRows: 7}, graph.DefaultAdamW(), FusedStep)
				require.NoError(t, err)
				loss, ok := g.Lookup(LMLossOutput)
				require.True(t, ok)
				// SiLU sigmoids of the forward pass: s = Sigmoid(x) multiplied by x.
				silu := map[*graph.Value]bool{}
				for _, n := range g.Nodes()[:loss.Producer.ID] {
					if n.Op == "Mul" {
						for i, s := range n.Inputs {
							if s.Producer != nil && s.Producer.Op == "Sigmoid" && s.Producer.Inputs[0] == n.Inputs[1-i] {
								silu[s] = true
							}
						}
					}
				}
				require.NotEmpty(t, silu)
				storedCasts := 0
				for _, n := range g.Nodes() {
					for _, in := range n.Inputs {
						if p := in.Producer; p != nil && p.Op == "Cast" && p.Inputs[0].IsInitializer() && p.Inputs[0].DType == graph.BFloat16 {
							storedCasts++
							assert.False(t, n.ID > loss.Producer.ID && p.ID < loss.Producer.ID,
								"backward node %s (%s) reads the forward cast %s of weight %s", n.Name, n.Where, in, p.Inputs[0].Name())
							assert.False(t, n.Op == "Gather", "%s gathers from a cast of the whole table %s", n.Name, p.Inputs[0].Name())
						}
						if n.Op == "Shape" {
							assert.True(t, in.IsInput() || in.IsInitializer(), "%s (%s) reads the shape of activation %s", n.Name, n.Where, in)
						}
						if n.ID > loss.Producer.ID {
							assert.False(t, silu[in], "backward node %s (%s) reads forward SiLU sigmoid %s", n.Name, n.Where, in)
						}
					}
				}
				if method != Finetune {
					require.NotZero(t, storedCasts, "the checkpoint is bf16: frozen weights enter through casts")
				}
			})
		}
	}
}
