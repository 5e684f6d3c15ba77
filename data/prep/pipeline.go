package prep

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// inFlightPerWorker bounds the documents between the reader and the ordered
// stage (queued, being processed, or waiting in the reorder buffer) so
// memory stays flat when one slow page holds up the ones behind it.
const inFlightPerWorker = 16

// runOrdered reads files in order, applies process to every document on
// `workers` goroutines (newProcess gives each its own scratch state), and
// hands the results to consume one at a time in input order: consume may
// keep state (the dedup set, the output) without locks, and the outcome is
// the same for any number of workers. Damaged records are tallied in counts.
func runOrdered[T any](ctx context.Context, files []string, workers int, bytesRead *atomic.Int64, counts *readerCounts,
	newProcess func() func(rawDocument) T, consume func(T) error) error {
	workers = max(workers, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	jobs := make(chan numberedDocument, 2*workers)
	results := make(chan numberedResult[T], 2*workers)
	tokens := make(chan struct{}, inFlightPerWorker*workers)

	// readErr is read only after results is closed, which happens after
	// the workers have drained jobs, which this goroutine closes last.
	var readErr error
	go func() {
		defer close(jobs)
		readErr = readNumbered(ctx, files, bytesRead, counts, tokens, jobs)
	}()
	startWorkers(workers, newProcess, jobs, results)
	unordered, consumeErr := consumeInOrder(results, tokens, consume, cancel)
	switch {
	case consumeErr != nil:
		return consumeErr
	case readErr != nil:
		return readErr
	case unordered != 0:
		return fmt.Errorf("pipeline: %d documents left unordered", unordered)
	}
	return ctx.Err()
}

// numberedDocument is a document with its position in the input.
type numberedDocument struct {
	seq int64
	doc rawDocument
}

// numberedResult is a processed document with its position in the input.
type numberedResult[T any] struct {
	seq   int64
	value T
}

// readNumbered reads files in order onto jobs, numbering the documents.
// Each document first takes a token, which consumeInOrder gives back once
// it has consumed the document.
func readNumbered(ctx context.Context, files []string, bytesRead *atomic.Int64, counts *readerCounts,
	tokens chan<- struct{}, jobs chan<- numberedDocument) error {
	var seq int64
	emit := func(doc rawDocument) error {
		select {
		case tokens <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		jobs <- numberedDocument{seq: seq, doc: doc}
		seq++
		return nil
	}
	for _, path := range files {
		if err := readInputFile(path, bytesRead, counts, emit); err != nil {
			return err
		}
	}
	return nil
}

// startWorkers processes jobs on `workers` goroutines and closes results
// when all of them have finished.
func startWorkers[T any](workers int, newProcess func() func(rawDocument) T,
	jobs <-chan numberedDocument, results chan<- numberedResult[T]) {
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			process := newProcess()
			for j := range jobs {
				results <- numberedResult[T]{seq: j.seq, value: process(j.doc)}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()
}

// consumeInOrder passes results to consume in input order, holding early
// ones until their turn. After consume fails it cancels the run and keeps
// draining results; it returns how many results never got their turn.
func consumeInOrder[T any](results <-chan numberedResult[T], tokens <-chan struct{}, consume func(T) error,
	cancel context.CancelFunc) (unordered int, consumeErr error) {
	pending := map[int64]T{}
	var next int64
	for r := range results {
		if consumeErr != nil {
			continue // drain so the workers and reader can stop
		}
		pending[r.seq] = r.value
		for {
			v, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			<-tokens
			if err := consume(v); err != nil {
				consumeErr = err
				cancel()
				break
			}
		}
	}
	return len(pending), consumeErr
}
