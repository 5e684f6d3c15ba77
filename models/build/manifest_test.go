package build

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/nrgraph/nrgraph/models"
)

// Sessions drop ORT's arena only for builds whose estimated step needs
// 4 GiB or more (it halved the training rate at d=512/L=8), unless
// NRGRAPH_ARENA says otherwise.
func TestLeanMemoryFromTheEstimate(t *testing.T) {
	for _, tc := range []struct {
		peak  int64 // 0: no estimate recorded (older builds)
		env   string
		leans bool
	}{
		{0, "", false},
		{1200 << 20, "", false},
		{4<<30 - 1, "", false},
		{4 << 30, "", true},
		{13_099 << 20, "", true},
		{13_099 << 20, "on", false},
		{1200 << 20, "off", true},
	} {
		t.Setenv("NRGRAPH_ARENA", tc.env)
		m := &Manifest{}
		if tc.peak > 0 {
			m.Memory = &models.MemoryEstimate{TrainPeak: tc.peak}
		}
		assert.Equal(t, tc.leans, m.LeanMemory(), "peak %d, NRGRAPH_ARENA=%q", tc.peak, tc.env)
	}
}
