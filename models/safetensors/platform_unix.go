//go:build linux || darwin || freebsd || netbsd || openbsd

package safetensors

import (
	"errors"
	"os"
	"syscall"
)

// mapFile maps the whole file read-only. MAP_SHARED rather than MAP_PRIVATE
// because we never write: pages come straight from the page cache and are
// shared with every other process reading the same checkpoint.
func mapFile(f *os.File, size int64) ([]byte, error) {
	if size <= 0 || int64(int(size)) != size {
		return nil, errors.New("file size cannot be mapped")
	}
	return syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
}

func unmapFile(mapped []byte) error { return syscall.Munmap(mapped) }

// syncDir makes a rename in dir durable: without it a crash after rename
// can bring back the old directory entry (or none at all) on ext4/xfs.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	syncErr := d.Sync()
	closeErr := d.Close()
	return errors.Join(syncErr, closeErr)
}
