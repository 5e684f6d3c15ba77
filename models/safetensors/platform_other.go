//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package safetensors

import (
	"errors"
	"os"
)

// mapFile is unsupported here; Checkpoint falls back to ReadAt.
func mapFile(*os.File, int64) ([]byte, error) { return nil, errors.New("mmap unsupported on this OS") }

func unmapFile([]byte) error { return nil }

// syncDir is a no-op: Windows and Plan 9 cannot fsync a directory, and
// their rename is already as durable as the platform allows.
func syncDir(string) error { return nil }
