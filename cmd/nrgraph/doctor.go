package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"

	"github.com/nrgraph/nrgraph/runtime"
)

func init() {
	register(subcommand{name: "doctor", summary: "report the ONNX Runtime library, execution providers and what is missing", run: runDoctor})
}

func runDoctor(args []string) error {
	fs := newFlagSet("doctor", "[--ort-lib PATH]")
	ortLib := fs.String("ort-lib", "", "path to libonnxruntime.so (default: $"+runtime.EnvLibrary+", then the install cache)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	out := os.Stdout
	fmt.Fprintf(out, "nrgraph doctor\n")
	fmt.Fprintf(out, "  go runtime:      %s %s/%s, %d CPU threads\n", goruntime.Version(), goruntime.GOOS, goruntime.GOARCH, goruntime.NumCPU())
	path, err := runtime.FindLibrary(*ortLib)
	if err != nil {
		fmt.Fprintf(out, "  ONNX Runtime:    MISSING\n\n%v\n", err)
		return fmt.Errorf("ONNX Runtime library missing")
	}
	if err := runtime.Init(path); err != nil {
		fmt.Fprintf(out, "  ONNX Runtime:    found %s but it does not load: %v\n", path, err)
		return err
	}
	fmt.Fprintf(out, "  ONNX Runtime:    %s (%s)\n", runtime.Version(), runtime.LibraryPath())
	if runtime.Version() != runtime.ORTVersion {
		fmt.Fprintf(out, "                   note: nrgraph is tested with %s\n", runtime.ORTVersion)
	}
	probes := runtime.ProbeProviders()
	fmt.Fprintf(out, "  providers:\n")
	missing := 0
	for _, n := range slices.Sorted(maps.Keys(probes)) {
		if err := probes[n]; err != nil {
			missing++
			fmt.Fprintf(out, "    %-9s unavailable (%s)\n", n, shortReason(err))
		} else {
			fmt.Fprintf(out, "    %-9s available\n", n)
		}
	}
	if missing > 0 {
		fmt.Fprintf(out, "\n  GPU providers need an official onnxruntime-gpu build: pass --ort-lib /path/to/libonnxruntime.so\n  (with libonnxruntime_providers_shared.so, _cuda.so / _tensorrt.so beside it) or set $%s.\n", runtime.EnvLibrary)
	}
	return nil
}

// shortReason keeps the first line of long ORT errors readable.
func shortReason(err error) string {
	s := err.Error()
	if i := strings.Index(s, "Failed to load library "); i >= 0 {
		rest := s[i+len("Failed to load library "):]
		if j := strings.Index(rest, " "); j > 0 {
			rest = rest[:j]
		}
		return "this build cannot load " + filepath.Base(rest) + ": a CPU-only library"
	}
	const limit = 160
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return s
}
