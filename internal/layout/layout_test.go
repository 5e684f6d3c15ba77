package layout

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/nrgraph/nrgraph"

// TestImportsFlowDown lists every package with `go list` (test imports
// included) and checks each import inside the module points to a lower rank.
func TestImportsFlowDown(t *testing.T) {
	cmd := exec.Command("go", "list", "-json", "-test=false", module+"/...")
	out, err := cmd.Output()
	require.NoError(t, err, "go list")
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p struct {
			ImportPath, Name string
			Imports          []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else {
			require.NoError(t, err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		rank, ok := Ranks[rel]
		if !assert.True(t, ok, "package %s has no rank in internal/layout: place it in the layering", rel) {
			continue
		}
		seen++
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(imp, module+"/")
			depRank, ok := Ranks[dep]
			assert.True(t, ok && depRank < rank, "%s (rank %d) imports %s (rank %d): imports must flow down", rel, rank, dep, depRank)
		}
	}
	assert.Greater(t, seen, 15)
}
