package safetensors

import (
	"encoding/binary"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "regenerate testdata by running testdata/gen_golden.py (needs /usr/bin/python3 with torch)")

var regenerateOnce sync.Once

// testdataPath returns testdata/name, first regenerating every golden file
// when -update is set.
func testdataPath(t testing.TB, name string) string {
	t.Helper()
	if *update {
		regenerateOnce.Do(func() {
			cmd := exec.Command("/usr/bin/python3", "gen_golden.py")
			cmd.Dir = "testdata"
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "gen_golden.py: %s", out)
		})
	}
	return filepath.Join("testdata", name)
}

// rawFile assembles a safetensors file from a literal header and dataLen
// zero bytes, for inputs no writer would produce.
func rawFile(header string, dataLen int) []byte {
	buf := make([]byte, 8, 8+len(header)+dataLen)
	binary.LittleEndian.PutUint64(buf, uint64(len(header)))
	buf = append(buf, header...)
	return append(buf, make([]byte, dataLen)...)
}

func writeTestFile(t testing.TB, path string, content []byte) string {
	t.Helper()
	require.NoError(t, os.WriteFile(path, content, 0o644))
	return path
}

// f32Tensor is a small F32 tensor whose bytes encode values.
func f32Tensor(t testing.TB, name string, shape []int64, values ...float32) Tensor {
	t.Helper()
	tensor, err := FromFloat32(name, F32, shape, values)
	require.NoError(t, err)
	return tensor
}

// nonNil lets assertions treat a nil slice and an empty one alike.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
