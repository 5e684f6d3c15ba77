package models

import (
	"fmt"
	"os"
	"sync"

	"github.com/nrgraph/nrgraph/graph"
)

// Int8File quantises each frozen projection once and appends it to one
// file that every graph of a build references as external data. Without
// it each graph written (train_step, train_grad, score, score_packed)
// re-quantised every projection and stored its own copy: four passes over
// the backbone and four times the int8 bytes on disk.
type Int8File struct {
	path string
	mu   sync.Mutex
	f    *os.File
	off  int64
	done map[string][2]*graph.Data
}

// CreateInt8File starts (truncating) the shared int8 weights file path.
func CreateInt8File(path string) (*Int8File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("int8 weights: %w", err)
	}
	return &Int8File{path: path, f: f, done: map[string][2]*graph.Data{}}, nil
}

// Quantized returns the int8 weight [in, out] and scales [out] of the
// frozen weight name (QuantizeRows), quantising and writing them on the
// first request and referring to the file region afterwards.
func (s *Int8File) Quantized(name string, w *graph.Data) (q, scales *graph.Data, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if got, ok := s.done[name]; ok {
		return got[0], got[1], nil
	}
	if s.f == nil {
		return nil, nil, fmt.Errorf("int8 weights %s: file already closed", s.path)
	}
	lq, ls := QuantizeRows(w)
	var out [2]*graph.Data
	for i, d := range []*graph.Data{lq, ls} {
		raw, err := d.Bytes()
		if err != nil {
			return nil, nil, fmt.Errorf("quantise %s: %w", name, err)
		}
		s.off = (s.off + 63) &^ 63 // 64-byte aligned, as export's own data files
		if _, err := s.f.WriteAt(raw, s.off); err != nil {
			return nil, nil, fmt.Errorf("int8 weights %s: %w", s.path, err)
		}
		if out[i], err = graph.FileData(d.DType, d.Dims, graph.FileRegion{Path: s.path, Offset: s.off, Length: int64(len(raw))}); err != nil {
			return nil, nil, err
		}
		s.off += int64(len(raw))
	}
	s.done[name] = out
	return out[0], out[1], nil
}

// Close syncs and closes the file (the graphs referring to it are usable
// once it is closed).
func (s *Int8File) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Sync()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f = nil
	return err
}
