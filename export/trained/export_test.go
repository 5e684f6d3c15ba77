package trained

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/export"
	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/internal/gradcheck"
	"github.com/nrgraph/nrgraph/internal/testfixture"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
)

// runLogits runs a graph with input_ids/attention_mask (and optional
// parameter feeds) and returns the logits.
func runLogits(t *testing.T, g *graph.Graph, params map[string][]float32) []float32 {
	t.Helper()
	ids := gradcheck.Feed{Shape: []int64{2, 5}, Data: []float64{1, 5, 9, 2, 30, 4, 4, 20, 31, 0}}
	out := logitsFor(t, g, ids, params)
	logits := make([]float32, len(out))
	for i, x := range out {
		logits[i] = float32(x)
	}
	return logits
}

// logitsFor runs a graph on ids (all attended) with parameter feeds.
func logitsFor(t *testing.T, g *graph.Graph, ids gradcheck.Feed, params map[string][]float32) []float64 {
	t.Helper()
	mask := make([]float64, len(ids.Data))
	for i := range mask {
		mask[i] = 1
	}
	feeds := map[string]gradcheck.Feed{models.InputIDs: ids, models.AttentionMask: {Shape: ids.Shape, Data: mask}}
	for _, v := range g.Inputs() {
		if p, ok := params[v.Name()]; ok {
			dims, _ := v.Shape.Static()
			data := make([]float64, len(p))
			for i, x := range p {
				data[i] = float64(x)
			}
			feeds[v.Name()] = gradcheck.Feed{Shape: dims, Data: data}
		}
	}
	outs, err := gradcheck.Run(g, feeds)
	require.NoError(t, err)
	return outs["logits"].Data
}

func loadLogitsFile(t *testing.T, path string) []float32 {
	g, err := export.Load(path)
	require.NoError(t, err)
	return runLogits(t, g, nil)
}

// TestExportMatchesTrainedModel: for every method, the exported ONNX gives
// the logits of the extended model with its trained values (LoRA merged
// into the weights), gates off and --no-adapters give the backbone, and the
// PEFT-style files hold every trained tensor.
func TestExportMatchesTrainedModel(t *testing.T) {
	c := testfixture.TinyModel()
	w := models.RandomWeights(c, 1, 0.1)
	backbone := func() []float32 {
		e, _ := models.DefaultExtension(models.Adapters)
		e.GatesOff = true
		g, err := graph.Build("bb", func(g *graph.Graph) {
			g.Output("logits", models.BuildExtended(g, models.Model{Config: c, Weights: w, Ext: e}).Logits)
		})
		require.NoError(t, err)
		return runLogits(t, g, nil)
	}()
	for _, method := range models.Methods {
		t.Run(string(method), func(t *testing.T) {
			dir := t.TempDir()
			ext, _ := models.DefaultExtension(method)
			man, err := build.Build(build.BuildOptions{Config: &c, Weights: w, Ext: ext, Opt: graph.DefaultAdamW(), Seq: 16, Out: filepath.Join(dir, "build")})
			require.NoError(t, err)
			init, ckpt := fakeTrainedCheckpoint(t, filepath.Join(dir, "build"), man)

			// Reference: the training-time forward fed the trained values.
			var ref []float32
			g, err := graph.Build("ref", func(g *graph.Graph) {
				g.Output("logits", models.BuildExtended(g, models.Model{Config: c, Weights: w, Ext: ext}).Logits)
			})
			require.NoError(t, err)
			ref = runLogits(t, g, init)

			out := filepath.Join(dir, "export")
			require.NoError(t, Export(ExportOptions{Build: filepath.Join(dir, "build"), Checkpoint: ckpt, Out: out, Config: &c, Weights: w}))
			got := loadLogitsFile(t, filepath.Join(out, ExportONNX))
			require.Equal(t, len(ref), len(got))
			for i := range ref {
				require.InDelta(t, ref[i], got[i], 2e-5, "logit %d", i)
			}
			peft, err := build.ReadTensors(filepath.Join(out, ExportAdapterTensor))
			require.NoError(t, err)
			assert.Len(t, peft, len(man.Params))
			for _, p := range man.Params {
				assert.Equal(t, init[p.Name], peft[PEFTPrefix+p.Name])
			}
			_, err = os.Stat(filepath.Join(out, ExportAdapterConfig))
			require.NoError(t, err)

			plain := filepath.Join(dir, "plain")
			require.NoError(t, Export(ExportOptions{Build: filepath.Join(dir, "build"), Checkpoint: ckpt, Out: plain, NoAdapters: true, Config: &c, Weights: w}))
			assert.Equal(t, backbone, loadLogitsFile(t, filepath.Join(plain, ExportONNX)))
			off := filepath.Join(dir, "off")
			err = Export(ExportOptions{Build: filepath.Join(dir, "build"), Checkpoint: ckpt, Out: off, GatesOff: true, Config: &c, Weights: w})
			if method == models.Finetune {
				// Refused before anything is written.
				require.ErrorContains(t, err, "--gates off has no meaning for finetuning")
				assert.NoDirExists(t, off)
			} else {
				require.NoError(t, err)
				assert.Equal(t, backbone, loadLogitsFile(t, filepath.Join(off, ExportONNX)), "gates off is not exactly the backbone")
			}
			checkWithONNXChecker(t, filepath.Join(out, ExportONNX))
		})
	}
}

// fakeTrainedCheckpoint writes "trained" values beside the build: the
// initial ones perturbed deterministically.
func fakeTrainedCheckpoint(t *testing.T, buildDir string, man *build.Manifest) (trained map[string][]float32, path string) {
	t.Helper()
	trained, err := build.ReadTensors(filepath.Join(buildDir, build.InitFile))
	require.NoError(t, err)
	shapes := map[string][]int64{}
	for _, p := range man.Params {
		shapes[p.Name] = p.Shape
		for i := range trained[p.Name] {
			trained[p.Name][i] += float32(0.05 * math.Sin(float64(i+len(p.Name))))
		}
	}
	path = filepath.Join(filepath.Dir(buildDir), "trained.safetensors")
	require.NoError(t, build.WriteTensors(path, trained, shapes, nil))
	return trained, path
}

// checkWithONNXChecker runs the official checker (Debian python3-onnx) when
// installed; CI requires it.
func checkWithONNXChecker(t *testing.T, path string) {
	if exec.Command("/usr/bin/python3", "-c", "import onnx").Run() != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("python3-onnx missing in CI: .ci/run installs it (apt-get install python3-onnx)")
		}
		t.Log("python3-onnx not installed; skipping the official ONNX checker")
		return
	}
	out, err := exec.Command("/usr/bin/python3", "-c",
		"import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True); print('ok')", path).CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// nodeConsumer finds node and the onnxruntime-node package installed by
// scripts/install-ort-node.sh (walking up to the repository's .cache).
func nodeConsumer(t *testing.T) (nodePath, script string) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed; skipping the onnxruntime-node consumer")
	}
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		// make test CACHE=DIR puts it in $NRGRAPH_CACHE; else .cache above.
		caches := []string{filepath.Join(d, ".cache")}
		if c := os.Getenv("NRGRAPH_CACHE"); c != "" {
			caches = append([]string{c}, caches...)
		}
		for _, cache := range caches {
			mod := filepath.Join(cache, "node", "node_modules")
			if _, err := os.Stat(filepath.Join(mod, "onnxruntime-node")); err == nil {
				if _, err := os.Stat(filepath.Join(d, "scripts", "run_onnx.js")); err == nil {
					return mod, filepath.Join(d, "scripts", "run_onnx.js")
				}
			}
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	_ = node
	if os.Getenv("CI") != "" {
		t.Fatal("onnxruntime-node missing in CI: make test runs scripts/install-ort-node.sh")
	}
	t.Skip("onnxruntime-node not installed (scripts/install-ort-node.sh); skipping the second consumer")
	return "", ""
}

// TestExportRunsInOnnxruntimeNode loads the exported ONNX in a second,
// independent consumer (onnxruntime-node under Node.js) and compares its
// logits with ours.
func TestExportRunsInOnnxruntimeNode(t *testing.T) {
	mod, script := nodeConsumer(t)
	c := testfixture.TinyModel()
	w := models.RandomWeights(c, 1, 0.1)
	dir := t.TempDir()
	ext, _ := models.DefaultExtension(models.NeutralResidues)
	_, err := build.Build(build.BuildOptions{Config: &c, Weights: w, Ext: ext, Opt: graph.DefaultAdamW(), Seq: 16, Out: filepath.Join(dir, "build")})
	require.NoError(t, err)
	out := filepath.Join(dir, "export")
	require.NoError(t, Export(ExportOptions{Build: filepath.Join(dir, "build"), Out: out, Config: &c, Weights: w}))
	want := loadLogitsFile(t, filepath.Join(out, ExportONNX))
	cmd := exec.Command("node", script, filepath.Join(out, ExportONNX), `{"input_ids":[[1,5,9,2,30],[4,4,20,31,0]],"attention_mask":[[1,1,1,1,1],[1,1,1,1,1]]}`)
	cmd.Env = append(os.Environ(), "NODE_PATH="+mod)
	raw, err := cmd.Output()
	require.NoError(t, err, "onnxruntime-node failed")
	var got struct {
		Dims []int     `json:"dims"`
		Data []float32 `json:"data"`
	}
	require.NoError(t, json.Unmarshal(raw, &got))
	assert.Equal(t, []int{2, 5, c.Vocab}, got.Dims)
	require.Len(t, got.Data, len(want))
	for i := range want {
		require.InDelta(t, want[i], got.Data[i], 1e-5, "logit %d", i)
	}
}
