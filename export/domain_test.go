package export_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/nrgraph/nrgraph/export"
	"github.com/nrgraph/nrgraph/export/onnxpb"
	"github.com/nrgraph/nrgraph/graph"
)

// TestContribOpDomainRoundTrip: a DynamicQuantizeMatMul node is written in
// the com.microsoft domain with that domain imported (ONNX Runtime rejects
// the node otherwise), read back as the same op, and a node of another
// op claiming that domain is refused.
func TestContribOpDomainRoundTrip(t *testing.T) {
	g, err := graph.Build("q", func(g *graph.Graph) {
		b, err := graph.RawData(graph.Int8, []int64{2, 3}, []byte{1, 2, 3, 4, 5, 6})
		require.NoError(t, err)
		a := g.Input("a", graph.Float32, graph.S("m", 2))
		g.Output("y", graph.DynamicQuantizeMatMul(a, g.Initializer("b", b), g.Initializer("s", graph.NewData([]int64{3}, []float32{1, 2, 3})), nil))
	})
	require.NoError(t, err)
	raw, err := export.Marshal(g, export.Options{})
	require.NoError(t, err)
	m := &onnxpb.ModelProto{}
	require.NoError(t, proto.Unmarshal(raw, m))
	var domains []string
	for _, o := range m.OpsetImport {
		domains = append(domains, o.GetDomain())
	}
	assert.Equal(t, []string{"", "com.microsoft"}, domains)
	assert.Equal(t, "com.microsoft", m.Graph.Node[0].GetDomain())

	back, err := export.Unmarshal(raw, "")
	require.NoError(t, err)
	assert.Equal(t, "DynamicQuantizeMatMul", back.Nodes()[0].Op)

	m.Graph.Node[0].OpType = proto.String("MatMul")
	raw, err = proto.Marshal(m)
	require.NoError(t, err)
	_, err = export.Unmarshal(raw, "")
	assert.ErrorContains(t, err, `op domain "com.microsoft" is not supported`)
}
