package export_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/nrgraph/nrgraph/export"
	"github.com/nrgraph/nrgraph/export/onnxpb"
	"github.com/nrgraph/nrgraph/graph"
)

// modelWithInitializer is a ModelProto holding one initializer.
func modelWithInitializer(t testing.TB, init *onnxpb.TensorProto) []byte {
	raw, err := proto.Marshal(&onnxpb.ModelProto{Graph: &onnxpb.GraphProto{Name: proto.String("g"), Initializer: []*onnxpb.TensorProto{init}}})
	require.NoError(t, err)
	return raw
}

func external(dims []int64, kv ...string) *onnxpb.TensorProto {
	t := &onnxpb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(int32(graph.Float32)), Dims: dims,
		DataLocation: onnxpb.TensorProto_EXTERNAL.Enum()}
	for i := 0; i+1 < len(kv); i += 2 {
		t.ExternalData = append(t.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String(kv[i]), Value: proto.String(kv[i+1])})
	}
	return t
}

// The reader refuses what would make it allocate by the dims alone (a
// 31-byte model with dims [2^38] was an unrecoverable out-of-memory), and
// external data outside the model's directory or past the end of its file.
func TestUnmarshalRefusesHostileTensors(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "weights.bin"), make([]byte, 64), 0o644))
	float := func(dims []int64) *onnxpb.TensorProto {
		return &onnxpb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(int32(graph.Float32)), Dims: dims}
	}
	withFloats := float([]int64{2, 3})
	withFloats.FloatData = []float32{1, 2, 3}
	for _, tc := range []struct {
		name string
		t    *onnxpb.TensorProto
		want string
	}{
		{"dims [2^38] and no data", float([]int64{1 << 38}), "float32[274877906944] needs 274877906944 values, the tensor holds 0"},
		{"dims overflowing int64", float([]int64{1 << 40, 1 << 40}), "dims [1099511627776 1099511627776] are larger than any tensor"},
		{"overflow to a small product", float([]int64{1 << 62, 4}), "are larger than any tensor"},
		{"negative dim", float([]int64{-1}), "negative dim in [-1]"},
		{"typed data shorter than dims", withFloats, "float32[2 3] needs 6 values, the tensor holds 3"},
		{"location with ..", external([]int64{4}, "location", "../secret.bin"), `external data location "../secret.bin" must be a relative path inside the model's directory`},
		{"location a/../../x", external([]int64{4}, "location", "a/../../x"), "must be a relative path inside"},
		{"absolute location", external([]int64{4}, "location", "/etc/passwd"), "must be a relative path inside"},
		{"no location", external([]int64{4}), `external data location ""`},
		{"offset not a number", external([]int64{4}, "location", "weights.bin", "offset", "12abc"), `external data "weights.bin": offset "12abc" is not a non-negative integer`},
		{"negative offset", external([]int64{4}, "location", "weights.bin", "offset", "-16"), `offset "-16" is not a non-negative integer`},
		{"offset past the end", external([]int64{4}, "location", "weights.bin", "offset", "56"), "16 bytes at offset 56 run past its end (64 bytes)"},
		{"length disagrees with dims", external([]int64{4}, "location", "weights.bin", "length", "8"), `length "8", but float32[4] needs 16 bytes`},
		{"missing file", external([]int64{4}, "location", "nope.bin"), "external data: stat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := export.Unmarshal(modelWithInitializer(t, tc.t), dir)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	// Inside the file: accepted, and read from the right place.
	g, err := export.Unmarshal(modelWithInitializer(t, external([]int64{4}, "location", "weights.bin", "offset", "48", "length", "16")), dir)
	require.NoError(t, err)
	_, ok := g.Lookup("w")
	require.True(t, ok)
}

// FuzzUnmarshal: the ONNX reader rejects or accepts any bytes without
// panicking or allocating by dims the input does not back.
func FuzzUnmarshal(f *testing.F) {
	g, err := graph.Build("relu", func(g *graph.Graph) {
		x := g.Input("x", graph.Float32, graph.S("batch", 2))
		w := g.Initializer("w", graph.NewData([]int64{2, 2}, []float32{1, 2, 3, 4}))
		g.Output("y", graph.Relu(graph.MatMul(x, w)))
	})
	require.NoError(f, err)
	raw, err := export.Marshal(g, export.Options{})
	require.NoError(f, err)
	f.Add(raw)
	f.Add(modelWithInitializer(f, &onnxpb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(int32(graph.Float32)), Dims: []int64{1 << 38}}))
	f.Add(modelWithInitializer(f, external([]int64{4}, "location", "weights.bin", "offset", "8")))
	dir := f.TempDir()
	require.NoError(f, os.WriteFile(filepath.Join(dir, "weights.bin"), make([]byte, 64), 0o644))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := export.Unmarshal(data, dir)
		if err != nil {
			return
		}
		for _, n := range g.Nodes() {
			_ = n.Op
		}
	})
}
