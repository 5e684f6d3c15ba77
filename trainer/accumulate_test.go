package trainer

import (
	"maps"
	"math"
	"math/rand"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/internal/testfixture"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
)

// accumulationRun is what one way of computing three optimizer steps on
// the same batches produced.
type accumulationRun struct {
	metrics []*Metrics
	grads   []float32              // the first step's summed gradients (accumulation only)
	states  []map[string][]float32 // parameters and moments after each step
}

// runAccumulation runs three AdamW steps over fixed batches of 8 rows with
// --micro-batch micro (fused: the one-graph step).
func runAccumulation(t *testing.T, man *build.Manifest, buildDir string, batches []*build.Batch, micro int, fused bool) accumulationRun {
	cfg := RunConfig{Build: buildDir, Batch: batches[0].Rows, MicroBatch: micro, Threads: 1, Provider: "cpu"}
	state, err := newStateTensors(man)
	require.NoError(t, err)
	defer state.destroy()
	require.NoError(t, state.loadInit(filepath.Join(buildDir, build.InitFile)))
	exec, err := newExecutorMode(cfg, man, state, Single{}, fused)
	require.NoError(t, err)
	defer exec.close()
	require.Equal(t, fused, exec.fused != nil)
	var run accumulationRun
	for i, b := range batches {
		copyRows(exec.batch, b, 0)
		m, err := exec.step(i+1, 1e-2)
		require.NoError(t, err)
		run.metrics = append(run.metrics, m)
		if i == 0 && exec.acc != nil {
			run.grads = append([]float32{}, exec.acc.flat...)
		}
		st := map[string][]float32{}
		for _, name := range state.names {
			st[name] = append([]float32{}, state.cur[name].Float32s()...)
		}
		run.states = append(run.states, st)
	}
	return run
}

// paddedBatch: rows of both domains (original-domain rows 0, 5 and 6 of 8,
// so some micro-batches of 1, 2 and 4 rows have none), right padding of
// several lengths, and loss masks with holes.
func paddedBatch(r *rand.Rand, rows, seq int) *build.Batch {
	b := build.NewBatch(rows, seq)
	for i := range b.IDs {
		b.IDs[i], b.Targets[i] = int64(r.Intn(testfixture.Vocab)), int64(r.Intn(testfixture.Vocab))
	}
	for row := 0; row < rows; row++ {
		if row == 0 || row == 5 || row == 6 {
			b.Domain[row] = 1
		}
		real := seq - (row*5)%(seq-3) // 16, 11, 6, 14, 9, 4, 12, 7 real tokens
		for s := 0; s < seq; s++ {
			i := row*seq + s
			if s >= real {
				b.AttnMask[i], b.LossMask[i], b.IDs[i], b.Targets[i] = 0, 0, 0, 0
			} else if (s+row)%7 == 3 {
				b.LossMask[i] = 0
			}
		}
	}
	return b
}

// normRelErr is |a - b| / |b| (Euclidean norms), 0 when both are zero.
func normRelErr(a, b []float32) float64 {
	var diff, ref float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		diff += d * d
		ref += float64(b[i]) * float64(b[i])
	}
	if ref == 0 {
		return math.Sqrt(diff)
	}
	return math.Sqrt(diff / ref)
}

func scalarRelErr(a, b float64) float64 {
	if b == 0 {
		return math.Abs(a)
	}
	return math.Abs(a-b) / math.Abs(b)
}

// TestMicroBatchesEqualFullBatch: --micro-batch 1, 2 and 4 of a batch of 8
// (mixed domains, padding) give the full batch's loss, metrics and
// gradients, and the same parameters and moments after three AdamW steps,
// for the L1 (original-domain tokens) and CE (all tokens) local losses.
// Before exact accumulation, a micro-batch normalised by its own token
// counts and micro-batches were averaged: the L1 local loss of a batch with
// one original-domain row in four, split 2+2, came out halved.
func TestMicroBatchesEqualFullBatch(t *testing.T) {
	for _, method := range []models.Method{models.NeutralResidues, models.SigmoidGate} {
		t.Run(string(method), func(t *testing.T) {
			c := testfixture.TinyModel()
			ext, err := models.DefaultExtension(method)
			require.NoError(t, err)
			ext.Alpha = 1 // the local loss weighs as much as the LM loss
			buildDir := filepath.Join(t.TempDir(), "build")
			man, err := build.Build(build.BuildOptions{Config: &c, Weights: models.RandomWeights(c, 1, 0.1), Ext: ext, Opt: graph.DefaultAdamW(), Seq: 16, Out: buildDir})
			require.NoError(t, err)
			r := rand.New(rand.NewSource(3))
			batches := []*build.Batch{paddedBatch(r, 8, 16), paddedBatch(r, 8, 16), paddedBatch(r, 8, 16)}

			full := runAccumulation(t, man, buildDir, batches, 8, true)
			fullGrads := runAccumulation(t, man, buildDir, batches, 8, false)
			require.Greater(t, full.metrics[2].LocalLoss, 0.0)
			for _, micro := range []int{4, 2, 1} {
				got := runAccumulation(t, man, buildDir, batches, micro, false)
				assert.Less(t, normRelErr(got.grads, fullGrads.grads), 1e-6, "micro-batch %d: gradients", micro)
				for step, want := range full.metrics {
					m := got.metrics[step]
					for _, v := range []struct {
						name      string
						got, want float64
					}{
						{"loss", m.Loss, want.Loss}, {"lm_loss", m.LMLoss, want.LMLoss}, {"local_loss", m.LocalLoss, want.LocalLoss},
						{"grad_norm", m.GradNorm, want.GradNorm}, {"gate_mean_orig", m.GateMeanOrig, want.GateMeanOrig},
						{"gate_mean_new", m.GateMeanNew, want.GateMeanNew}, {"adapter_l1_orig", m.AdapterL1Orig, want.AdapterL1Orig},
						{"adapter_l1_new", m.AdapterL1New, want.AdapterL1New},
					} {
						assert.Less(t, scalarRelErr(v.got, v.want), 1e-6, "micro-batch %d, step %d: %s %v, full batch %v", micro, step+1, v.name, v.got, v.want)
					}
					assert.Equal(t, want.OrigRows, m.OrigRows)
				}
				// The whole state (parameters and moments) after one and after
				// three AdamW steps; per tensor, float32 rounding of a
				// 1-element gate bias's gradient (a sum of terms of both signs)
				// shows up to 3e-6 after AdamW, so tensors get 1e-5.
				for step := range full.states {
					var gotAll, wantAll []float32
					for _, name := range slices.Sorted(maps.Keys(full.states[step])) {
						want, got := full.states[step][name], got.states[step][name]
						assert.Less(t, normRelErr(got, want), 1e-5, "micro-batch %d: %s after %d AdamW steps", micro, name, step+1)
						gotAll, wantAll = append(gotAll, got...), append(wantAll, want...)
					}
					assert.Less(t, normRelErr(gotAll, wantAll), 1e-6, "micro-batch %d: state after %d AdamW steps", micro, step+1)
				}
			}
		})
	}
}

// TestOldBuildRefusesAccumulation: a gradient graph without the token-count
// inputs (built before exact accumulation) would silently train another
// objective with --micro-batch; the trainer says to rebuild.
func TestOldBuildRefusesAccumulation(t *testing.T) {
	f := newFixture(t, models.NeutralResidues)
	man, err := build.ReadManifest(f.Build)
	require.NoError(t, err)
	io := man.Graphs["train_grad"]
	io.Inputs = slices.DeleteFunc(slices.Clone(io.Inputs), func(s string) bool { return s == models.LossTokens })
	man.Graphs["train_grad"] = io
	_, err = newAccumulator(RunConfig{Build: f.Build}, man, &stateTensors{})
	assert.ErrorContains(t, err, "re-run `nrgraph build`")
}
