// Package layout holds the module's layering as data: each package's rank,
// with imports allowed only towards lower ranks. Its test checks the real
// import graph (`go list -deps`) against it, so a package that imports one
// above it, or a new package nobody placed, fails CI.
package layout

// Ranks places every package of the module (paths relative to the module).
var Ranks = map[string]int{
	"graph/internal/nd":      0,
	"export/onnxpb":          0,
	"models/tokenizer":       0,
	"data/prep":              0,
	"evaltasks":              0,
	"graph":                  1,
	"export":                 2,
	"runtime":                2,
	"models/safetensors":     2,
	"internal/gradcheck":     3,
	"models":                 3,
	"data":                   4,
	"models/build":           4,
	"trainer":                5,
	"evaltasks/scoring":      5,
	"export/trained":         5,
	"internal/testfixture":   5,
	"trainer/experiments":    6,
	"internal/layout":        7,
	"cmd/nrgraph":            7,
	"cmd/corpusprep":         7,
	"bench":                  7,
	"bench/scale":            7,
	"bench/int8ops":          7,
	"bench/internal/cpuinfo": 0,
}
