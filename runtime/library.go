// Package runtime is a thin layer over onnxruntime_go: it finds and loads
// the ONNX Runtime shared library, opens sessions on the CPU, CUDA or
// TensorRT execution providers, and moves tensors in and out with
// pre-allocated buffers that callers reuse across runs.
package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ORTVersion is the ONNX Runtime release the project installs and tests.
const ORTVersion = "1.24.3"

// EnvLibrary names the environment variable that points at libonnxruntime.
const EnvLibrary = "NRGRAPH_ORT_LIB"

// EnvCache overrides the directory scripts/install-ort.sh installs into.
const EnvCache = "NRGRAPH_CACHE"

// InstallHint is the exact command that installs the library.
const InstallHint = "make ort   (runs scripts/install-ort.sh: fetches onnxruntime-node@" + ORTVersion + " from the npm registry, checks its sha256, caches libonnxruntime.so.1 under .cache/)"

// ErrLibraryNotFound is returned when no ONNX Runtime library can be found.
var ErrLibraryNotFound = errors.New("ONNX Runtime library not found")

// cacheRelPath is where install-ort.sh puts the library inside a cache dir.
var cacheRelPath = filepath.Join("onnxruntime-"+ORTVersion, "libonnxruntime.so.1")

// FindLibrary resolves the library path: the explicit path (a --ort-lib
// flag) first, then $NRGRAPH_ORT_LIB, then the install cache
// ($NRGRAPH_CACHE, or .cache/ in the working directory, its parents, or
// next to the executable).
func FindLibrary(explicit string) (string, error) {
	var tried []string
	check := func(p, source string) (string, bool) {
		if p == "" {
			return "", false
		}
		tried = append(tried, fmt.Sprintf("%s (%s)", p, source))
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, true
		}
		return "", false
	}
	if explicit != "" {
		if p, ok := check(explicit, "--ort-lib"); ok {
			return p, nil
		}
		return "", fmt.Errorf("%w: --ort-lib %s does not exist", ErrLibraryNotFound, explicit)
	}
	if env := os.Getenv(EnvLibrary); env != "" {
		if p, ok := check(env, "$"+EnvLibrary); ok {
			return p, nil
		}
		return "", fmt.Errorf("%w: $%s=%s does not exist", ErrLibraryNotFound, EnvLibrary, env)
	}
	for _, dir := range cacheDirs() {
		if p, ok := check(filepath.Join(dir, cacheRelPath), "cache"); ok {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w (looked in: %s)\ninstall it with:\n  %s\nor point --ort-lib / $%s at a libonnxruntime.so (a GPU build for CUDA/TensorRT)",
		ErrLibraryNotFound, strings.Join(tried, ", "), InstallHint, EnvLibrary)
}

func cacheDirs() []string {
	var dirs []string
	if c := os.Getenv(EnvCache); c != "" {
		dirs = append(dirs, c)
	}
	walkUp := func(start string) {
		for d := start; ; d = filepath.Dir(d) {
			dirs = append(dirs, filepath.Join(d, ".cache"))
			if filepath.Dir(d) == d {
				return
			}
		}
	}
	if wd, err := os.Getwd(); err == nil {
		walkUp(wd)
	}
	if exe, err := os.Executable(); err == nil {
		walkUp(filepath.Dir(exe))
	}
	return dirs
}

var (
	initMu   sync.Mutex
	initPath string
)

// Init loads the library (found as FindLibrary does) and creates the ONNX
// Runtime environment. Calling it again with the same or no path is a no-op.
func Init(explicit string) error {
	initMu.Lock()
	defer initMu.Unlock()
	if ort.IsInitialized() {
		if explicit != "" && explicit != initPath {
			return fmt.Errorf("ONNX Runtime already initialised from %s; cannot switch to %s in one process", initPath, explicit)
		}
		return nil
	}
	path, err := FindLibrary(explicit)
	if err != nil {
		return err
	}
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("load ONNX Runtime from %s: %w", path, err)
	}
	initPath = path
	return nil
}

// LibraryPath is the path Init loaded ("" before Init).
func LibraryPath() string {
	initMu.Lock()
	defer initMu.Unlock()
	return initPath
}

// Version returns the loaded library's version string.
func Version() string { return ort.GetVersion() }
