package trainer

import (
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/runtime"
)

// TestInPlaceUpdateMatchesSeparateBuffers: the trainer writes each step's
// new parameters and moments into the buffers they were read from
// (stateTensors). Three steps that way equal, bit for bit, three steps of
// the same graph writing into separate buffers copied back afterwards.
func TestInPlaceUpdateMatchesSeparateBuffers(t *testing.T) {
	f := newFixture(t, models.NeutralResidues)
	const steps = 3
	inPlace := train(t, f.config(filepath.Join(t.TempDir(), "in-place"), steps), false)

	ref, err := New(f.config(filepath.Join(t.TempDir(), "separate"), steps), false, io.Discard)
	require.NoError(t, err)
	defer ref.Close()
	e, err := newExecutor(ref.Cfg, ref.Manifest, ref.state, Single{})
	require.NoError(t, err)
	defer e.close()
	require.NotNil(t, e.fused)
	sched := ref.Cfg.schedule()
	for step := 1; step <= steps; step++ {
		require.NoError(t, e.stepT.SetScalar(float64(step)))
		require.NoError(t, e.lrT.SetScalar(sched.LR(step)))
		require.NoError(t, ref.mixer.Fill(e.batch))
		require.NoError(t, e.bind(e.fused, nil))
		separate := map[string]*runtime.Tensor{}
		for i, name := range e.fused.s.Outputs {
			if base, ok := strings.CutSuffix(name, ".next"); ok {
				out, err := runtime.NewEmpty(graph.Float32, ref.state.shapes[base])
				require.NoError(t, err)
				e.fused.outputs[i], separate[base] = out, out
			}
		}
		require.Len(t, separate, len(ref.state.names))
		_, err := e.fused.s.Run(e.fused.inputs, e.fused.outputs)
		require.NoError(t, err)
		for base, out := range separate {
			copy(ref.state.cur[base].Float32s(), out.Float32s())
			out.Destroy()
		}
	}
	for _, name := range ref.state.names {
		want, got := ref.state.cur[name].Float32s(), inPlace.state.cur[name].Float32s()
		changed := false
		for i := range want {
			if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
				t.Fatalf("%s[%d]: in place %v, separate buffers %v", name, i, got[i], want[i])
			}
			changed = changed || want[i] != 0
		}
		if strings.HasSuffix(name, ".adam_m") {
			require.True(t, changed, "%s never moved: the test compares nothing", name)
		}
	}
}
