package trainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// runDirLockFile is held (flock, exclusive) by the one process that writes
// a run directory. Without it a second `nrgraph train --out` on the same
// directory, started by mistake while the first runs, deletes the first's
// half-written checkpoint as a stale temp file at start-up, and the two
// then interleave checkpoints and metrics (seen here: the first run's save
// on interrupt failed with "rename ... no such file or directory").
const runDirLockFile = ".nrgraph-train.lock"

// runDirLock is an exclusive advisory lock on a run directory. The kernel
// drops it when the process dies, so a killed run never leaves the
// directory locked.
type runDirLock struct{ f *os.File }

// lockRunDir takes the run directory's lock or says who holds it.
func lockRunDir(dir string) (*runDirLock, error) {
	path := filepath.Join(dir, runDirLockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock run directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is in use by another nrgraph train (pid %s): wait for it to finish or stop it, or choose another --out", dir, pidOrUnknown(holder))
		}
		return nil, fmt.Errorf("lock run directory %s: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &runDirLock{f: f}, nil
}

func pidOrUnknown(b []byte) string {
	if s := strings.TrimSpace(string(b)); s != "" {
		return s
	}
	return "unknown"
}

// release drops the lock (the file stays: removing it would race with a
// process that has just opened it).
func (l *runDirLock) release() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}
