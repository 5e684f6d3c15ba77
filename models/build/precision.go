package build

import (
	"fmt"

	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/runtime"
)

// CheckProvider refuses, before any session opens, to run an int8
// backbone (`--backbone-precision int8`) on a provider without ONNX
// Runtime's DynamicQuantizeMatMul kernel: it has a CPU kernel only, and a
// GPU provider would either reject the graph or run every frozen
// projection on the CPU behind the GPU's back.
func (m *Manifest) CheckProvider(p runtime.Provider) error {
	if m.BackbonePrecision != models.PrecisionInt8 || p == runtime.CPU || p == "" {
		return nil
	}
	return fmt.Errorf("this build's backbone is int8 (--backbone-precision int8), which ONNX Runtime runs on the cpu provider only "+
		"(DynamicQuantizeMatMul has no %s kernel): use --provider cpu, or rebuild with --backbone-precision fp32 for %s", p, p)
}
