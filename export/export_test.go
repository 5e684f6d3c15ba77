package export_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"google.golang.org/protobuf/proto"

	"github.com/nrgraph/nrgraph/export"
	"github.com/nrgraph/nrgraph/export/onnxpb"
	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/runtime"
)

// sampleGraph exercises symbolic dims, every attribute kind, a multi-output
// node, constants and initializers of several dtypes.
func sampleGraph(t *testing.T, weightElems int) *graph.Graph {
	g, err := graph.Build("sample", func(g *graph.Graph) {
		x := g.Input("x", graph.Float32, graph.S("batch", "seq", 4))
		ids := g.Input("ids", graph.Int64, graph.S("batch", "seq"))
		w := g.Initializer("w", graph.NewData([]int64{4, int64(weightElems / 4)}, make([]float32, weightElems)))
		emb := g.Initializer("emb", graph.NewData([]int64{3, 4}, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}))
		h := graph.Add(graph.Cast(graph.Gather(emb, ids, 0), graph.Float32), x)
		parts := graph.Split(h, -1, 1, 3)
		sm := graph.Softmax(graph.Gemm(graph.Reshape(h, -1, 4), w, nil, graph.GemmOptions{Alpha: 0.5}), 1)
		g.Output("sm", sm)
		g.Output("part", graph.Transpose(parts[1], 2, 0, 1))
		g.Output("norm", graph.ReduceMean(graph.Mul(parts[0], parts[0]), []int{1, 2}, false))
	})
	require.NoError(t, err)
	return g
}

// TestRoundTripIsLossless: IR -> ONNX -> IR -> ONNX gives identical bytes,
// and exporting twice is deterministic.
func TestRoundTripIsLossless(t *testing.T) {
	g := sampleGraph(t, 8)
	first, err := export.Marshal(g, export.Options{})
	require.NoError(t, err)
	again, err := export.Marshal(sampleGraph(t, 8), export.Options{})
	require.NoError(t, err)
	assert.True(t, bytes.Equal(first, again), "export is not deterministic")

	back, err := export.Unmarshal(first, t.TempDir())
	require.NoError(t, err)
	second, err := export.Marshal(back, export.Options{})
	require.NoError(t, err)
	assert.True(t, bytes.Equal(first, second), "round trip changed the model")
	require.Len(t, back.Outputs(), 3)
	assert.Equal(t, "float32[batch*seq, 2]", back.Outputs()[0].DType.String()+back.Outputs()[0].Shape.String())
	assert.Equal(t, g.Outputs()[1].Shape, back.Outputs()[1].Shape)
}

// TestExternalDataLoadsInORT: a model whose weights live in a side file
// (and one referencing an existing weights file in place) runs in ORT.
func TestExternalDataLoadsInORT(t *testing.T) {
	dir := t.TempDir()
	vals := make([]float32, 4*1024)
	for i := range vals {
		vals[i] = float32(i % 7)
	}
	// A raw weights file elsewhere, referenced in place (like safetensors).
	weightsDir := t.TempDir()
	raw := new(bytes.Buffer)
	raw.WriteString("HEADER--") // data starts at offset 8
	for _, v := range vals {
		d := graph.NewData([]int64{1}, []float32{v})
		b, _ := d.Bytes()
		raw.Write(b)
	}
	weightsPath := filepath.Join(weightsDir, "weights.bin")
	require.NoError(t, os.WriteFile(weightsPath, raw.Bytes(), 0o644))

	g, err := graph.Build("ext", func(g *graph.Graph) {
		x := g.Input("x", graph.Float32, graph.S(1, 4))
		big := g.Initializer("big", graph.NewData([]int64{4, 1024}, vals))
		fileBacked, err := graph.FileData(graph.Float32, []int64{4, 1024}, graph.FileRegion{Path: weightsPath, Offset: 8, Length: 4 * 4096})
		require.NoError(t, err)
		inPlace := g.Initializer("in_place", fileBacked)
		g.Output("y", graph.ReduceSum(graph.Add(graph.MatMul(x, big), graph.MatMul(x, inPlace)), nil, false))
	})
	require.NoError(t, err)
	path := filepath.Join(dir, "model.onnx")
	require.NoError(t, export.Save(g, path, export.Options{ExternalThreshold: 1024}))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Less(t, st.Size(), int64(4096), "weights were inlined")
	_, err = os.Stat(path + ".data")
	require.NoError(t, err)

	s, err := runtime.Open(path, []string{"x"}, []string{"y"}, runtime.Options{Threads: 1})
	require.NoError(t, err)
	defer s.Close()
	x, err := runtime.NewTensor([]int64{1, 4}, []float32{1, 1, 1, 1})
	require.NoError(t, err)
	defer x.Destroy()
	y, err := runtime.NewEmpty(graph.Float32, nil)
	require.NoError(t, err)
	_, err = s.Run([]*runtime.Tensor{x}, []*runtime.Tensor{y})
	require.NoError(t, err)
	want := 0.0
	for _, v := range vals {
		want += 2 * float64(v)
	}
	assert.InDelta(t, want, y.Scalar(), 1e-3)

	// And the reader resolves the external data back.
	back, err := export.Load(path)
	require.NoError(t, err)
	inits := back.Initializers()
	require.Len(t, inits, 2)
	got, err := inits[1].Init.Float64s()
	require.NoError(t, err)
	assert.Equal(t, float64(vals[4095]), got[4095])
}

func TestLoadErrors(t *testing.T) {
	_, err := export.Load(filepath.Join(t.TempDir(), "missing.onnx"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing.onnx")

	bad := filepath.Join(t.TempDir(), "bad.onnx")
	require.NoError(t, os.WriteFile(bad, []byte("this is not protobuf \xff\xff\xff"), 0o644))
	_, err = export.Load(bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad.onnx")

	_, err = runtime.Open(bad, []string{"x"}, []string{"y"}, runtime.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad.onnx")
}

// TestONNXCheckerAcceptsExport runs the official checker (Debian's
// python3-onnx, full_check with shape inference) on an exported model.
func TestONNXCheckerAcceptsExport(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import onnx").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("python3-onnx missing in CI: .ci/run installs it (apt-get install python3-onnx)")
		}
		t.Skip("python3-onnx not installed (apt-get install python3-onnx); skipping the official checker")
	}
	path := filepath.Join(t.TempDir(), "model.onnx")
	require.NoError(t, export.Save(sampleGraph(t, 8), path, export.Options{}))
	out, err := exec.Command("/usr/bin/python3", "-c",
		"import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); print('ok', m.ir_version, m.opset_import[0].version)", path).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "ok 8 17")
}

// TestOtherOpsetDomains: importing another opset domain is fine (ONNX
// Runtime's optimized models import several), using one of its ops is an
// error that names the domain and node.
func TestOtherOpsetDomains(t *testing.T) {
	g, err := graph.Build("relu", func(g *graph.Graph) {
		g.Output("y", graph.Relu(g.Input("x", graph.Float32, graph.S(2))))
	})
	require.NoError(t, err)
	raw, err := export.Marshal(g, export.Options{})
	require.NoError(t, err)
	m := &onnxpb.ModelProto{}
	require.NoError(t, proto.Unmarshal(raw, m))
	m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String("ai.onnx.ml"), Version: proto.Int64(3)})
	withImport, err := proto.Marshal(m)
	require.NoError(t, err)
	back, err := export.Unmarshal(withImport, "")
	require.NoError(t, err)
	assert.Equal(t, "Relu", back.Nodes()[0].Op)

	require.NotEmpty(t, m.Graph.Node[0].GetName())
	m.Graph.Node[0].Domain = proto.String("com.microsoft")
	withOp, err := proto.Marshal(m)
	require.NoError(t, err)
	_, err = export.Unmarshal(withOp, "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"com.microsoft"`)
	assert.Contains(t, err.Error(), m.Graph.Node[0].GetName())
}

// TestKeepStoredDTypeStopsORTFoldingCasts: ONNX Runtime folds
// Cast(bf16 initializer) into a resident float32 initializer when it opens
// a session (the float32 copy of a bf16 backbone); with KeepStoredDType
// the weight is also an (overridable) graph input, the Cast survives in
// the graph ORT runs, and the result is the same.
func TestKeepStoredDTypeStopsORTFoldingCasts(t *testing.T) {
	for _, keep := range []bool{false, true} {
		w := make([]float32, 64*64)
		for i := range w {
			w[i] = float32(i%13) / 8
		}
		g, err := graph.Build("cast", func(g *graph.Graph) {
			x := g.Input("x", graph.Float32, graph.S(1, 64))
			raw := make([]byte, 2*len(w))
			for i, v := range w {
				binary.LittleEndian.PutUint16(raw[2*i:], graph.Float32ToBF16(v))
			}
			bf, err := graph.RawData(graph.BFloat16, []int64{64, 64}, raw)
			require.NoError(t, err)
			weight := g.Initializer("weight", bf)
			g.Output("y", graph.ReduceSum(graph.MatMul(x, graph.Cast(weight, graph.Float32)), nil, false))
		})
		require.NoError(t, err)
		dir := t.TempDir()
		path := filepath.Join(dir, "model.onnx")
		require.NoError(t, export.Save(g, path, export.Options{KeepStoredDType: keep}))
		optimized := filepath.Join(dir, "optimized.onnx")
		s, err := runtime.Open(path, []string{"x"}, []string{"y"}, runtime.Options{Threads: 1, OptimizedModelPath: optimized})
		require.NoError(t, err)
		x, err := runtime.NewTensor([]int64{1, 64}, make([]float32, 64))
		require.NoError(t, err)
		for i := range x.Float32s() {
			x.Float32s()[i] = 1
		}
		y, err := runtime.NewEmpty(graph.Float32, nil)
		require.NoError(t, err)
		_, err = s.Run([]*runtime.Tensor{x}, []*runtime.Tensor{y})
		require.NoError(t, err)
		want := 0.0
		for _, v := range w {
			want += float64(v) // exact in bf16: multiples of 1/8 below 2
		}
		assert.Equal(t, want, y.Scalar(), "keep=%v", keep)
		s.Close()
		x.Destroy()
		y.Destroy()

		raw, err := os.ReadFile(optimized)
		require.NoError(t, err)
		var m onnxpb.ModelProto
		require.NoError(t, proto.Unmarshal(raw, &m))
		casts := 0
		for _, n := range m.GetGraph().GetNode() {
			if n.GetOpType() == "Cast" {
				casts++
			}
		}
		float32Weights := 0
		for _, init := range m.GetGraph().GetInitializer() {
			if init.GetDataType() == int32(onnxpb.TensorProto_FLOAT) && len(init.GetDims()) == 2 {
				float32Weights++
			}
		}
		if keep {
			assert.Equal(t, 1, casts, "the Cast of the bf16 weight must run per use")
			assert.Zero(t, float32Weights, "ORT made a resident float32 copy of the weight")
		} else {
			// What KeepStoredDType exists for: without it ORT folds the
			// cast. If this starts failing, a newer ORT stopped folding.
			assert.Zero(t, casts)
			assert.Equal(t, 1, float32Weights)
		}
	}
}
