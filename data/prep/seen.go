package prep

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// seenFileMagic opens a persisted SeenSet: magic, entry count (uint64),
// the hashes in ascending order (uint64 each), then a CRC-32 (IEEE) of
// everything before it; all little-endian. Sorted entries make the file a
// function of the set alone, whatever order paragraphs arrived in.
const seenFileMagic = "NRGSEEN1"

// zeroHashStandIn stores the hash 0, since 0 marks an empty slot.
const zeroHashStandIn = 0x9e3779b97f4a7c15

// SeenSet is the set of paragraph hashes deduplication has met, bounded in
// memory: an open-addressing table of uint64 that doubles until it reaches
// its byte budget. Once full it still answers lookups but refuses new
// hashes (counted by Refused), so a run degrades to "dedupe against what
// fits" rather than swapping or dying.
type SeenSet struct {
	slots    []uint64
	count    int
	maxSlots int
	refused  int64
}

const seenMinSlots = 1 << 10

// seenMaxLoad is the fill ratio at which the table grows (or, at its
// budget, refuses): linear probing stays short below it.
const seenMaxLoad = 0.75

// NewSeenSet returns an empty set that will use at most maxBytes of table
// (at least 8 KiB): about maxBytes/11 paragraphs.
func NewSeenSet(maxBytes int64) *SeenSet {
	maxSlots := seenMinSlots
	for int64(maxSlots)*2*8 <= maxBytes {
		maxSlots *= 2
	}
	return &SeenSet{slots: make([]uint64, seenMinSlots), maxSlots: maxSlots}
}

// Len is the number of hashes held.
func (s *SeenSet) Len() int { return s.count }

// Refused is how many new hashes were not stored because the set was full.
func (s *SeenSet) Refused() int64 { return s.refused }

// CheckAndAdd reports whether hash was already in the set, adding it if not
// (and if there is room).
func (s *SeenSet) CheckAndAdd(hash uint64) (seen bool) {
	if hash == 0 {
		hash = zeroHashStandIn
	}
	mask := uint64(len(s.slots) - 1)
	for i := hash & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case hash:
			return true
		case 0:
			if float64(s.count+1) > seenMaxLoad*float64(len(s.slots)) {
				if len(s.slots) >= s.maxSlots {
					s.refused++
					return false
				}
				s.grow()
				s.insertNew(hash)
				return false
			}
			s.slots[i] = hash
			s.count++
			return false
		}
	}
}

// insertNew places a hash known to be absent.
func (s *SeenSet) insertNew(hash uint64) {
	mask := uint64(len(s.slots) - 1)
	i := hash & mask
	for s.slots[i] != 0 {
		i = (i + 1) & mask
	}
	s.slots[i] = hash
	s.count++
}

func (s *SeenSet) grow() {
	old := s.slots
	s.slots = make([]uint64, 2*len(old))
	s.count = 0
	for _, h := range old {
		if h != 0 {
			s.insertNew(h)
		}
	}
}

// sortedHashes returns the stored hashes in ascending order.
func (s *SeenSet) sortedHashes() []uint64 {
	hashes := make([]uint64, 0, s.count)
	for _, h := range s.slots {
		if h != 0 {
			hashes = append(hashes, h)
		}
	}
	slices.Sort(hashes)
	return hashes
}

// WriteTo writes the set in the persisted format.
func (s *SeenSet) WriteTo(w io.Writer) (int64, error) {
	crc := crc32.NewIEEE()
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 1<<20)
	var n int64
	write := func(b []byte) error {
		m, err := bw.Write(b)
		n += int64(m)
		return err
	}
	var word [8]byte
	if err := write([]byte(seenFileMagic)); err != nil {
		return n, err
	}
	binary.LittleEndian.PutUint64(word[:], uint64(s.count))
	if err := write(word[:]); err != nil {
		return n, err
	}
	for _, h := range s.sortedHashes() {
		binary.LittleEndian.PutUint64(word[:], h)
		if err := write(word[:]); err != nil {
			return n, err
		}
	}
	if err := bw.Flush(); err != nil {
		return n, err
	}
	binary.LittleEndian.PutUint32(word[:4], crc.Sum32())
	m, err := w.Write(word[:4])
	return n + int64(m), err
}

// ReadSeenSet parses a persisted set. The result's budget is maxBytes or
// what the persisted entries need, whichever is larger: dropping entries
// that earlier shards saw would silently let duplicates through.
func ReadSeenSet(r io.Reader, maxBytes int64) (*SeenSet, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var header [16]byte
	if _, err := io.ReadFull(br, header[:]); err != nil {
		return nil, fmt.Errorf("seen set: header: %w", err)
	}
	if string(header[:8]) != seenFileMagic {
		return nil, fmt.Errorf("seen set: bad magic %q (want %q)", header[:8], seenFileMagic)
	}
	crc := crc32.Update(0, crc32.IEEETable, header[:])
	count := binary.LittleEndian.Uint64(header[8:])
	set := NewSeenSet(maxBytes)
	var word [8]byte
	// Entries are inserted as read, so a corrupt count fails at end of
	// input instead of allocating a huge table up front.
	for i := uint64(0); i < count; i++ {
		if _, err := io.ReadFull(br, word[:]); err != nil {
			return nil, fmt.Errorf("seen set: entry %d of %d: %w", i, count, err)
		}
		crc = crc32.Update(crc, crc32.IEEETable, word[:])
		h := binary.LittleEndian.Uint64(word[:])
		if h == 0 {
			return nil, fmt.Errorf("seen set: entry %d is 0", i)
		}
		if float64(set.count+1) > seenMaxLoad*float64(len(set.slots)) {
			set.maxSlots = max(set.maxSlots, 2*len(set.slots))
		}
		if set.CheckAndAdd(h) {
			return nil, fmt.Errorf("seen set: entry %d repeats %#x", i, h)
		}
	}
	want := crc
	if _, err := io.ReadFull(br, word[:4]); err != nil {
		return nil, fmt.Errorf("seen set: checksum: %w", err)
	}
	if got := binary.LittleEndian.Uint32(word[:4]); got != want {
		return nil, fmt.Errorf("seen set: checksum %#x, want %#x", got, want)
	}
	return set, nil
}

// LoadSeenSet reads the set persisted at path; a missing file is an empty
// set, so the first shard of a crawl needs no special flag.
func LoadSeenSet(path string, maxBytes int64) (*SeenSet, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return NewSeenSet(maxBytes), nil
	}
	return loadFile(path, func(r io.Reader) (*SeenSet, error) { return ReadSeenSet(r, maxBytes) })
}

// SaveAtomic writes the set to path so that a crash leaves either the old
// file or the new one, never a torn one.
func (s *SeenSet) SaveAtomic(path string) error {
	return writeFileAtomic(path, s)
}

// loadFile parses the file at path with parse, naming the file in errors.
func loadFile[T any](path string, parse func(io.Reader) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	v, err := parse(f)
	if err != nil {
		return v, fmt.Errorf("load %s: %w", path, err)
	}
	return v, nil
}

// writeFileAtomic creates path through a temp file in the same directory,
// fsync, rename, and fsync of the directory.
func writeFileAtomic(path string, content io.WriterTo) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file 0600; outputs are ordinary data files that
	// other users and tools read.
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if _, err = content.WriteTo(tmp); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("save %s: fsync: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		// Persist the rename itself; some filesystems refuse to sync a
		// directory, which loses nothing already written.
		_ = d.Sync()
		d.Close()
	}
	return nil
}
