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

	type job struct {
		seq int64
		doc rawDocument
	}
	type result struct {
		seq   int64
		value T
	}
	jobs := make(chan job, 2*workers)
	results := make(chan result, 2*workers)
	tokens := make(chan struct{}, inFlightPerWorker*workers)

	var readErr error
	go func() {
		defer close(jobs)
		var seq int64
		emit := func(doc rawDocument) error {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			jobs <- job{seq: seq, doc: doc}
			seq++
			return nil
		}
		for _, path := range files {
			if err := readInputFile(path, bytesRead, counts, emit); err != nil {
				readErr = err
				return
			}
		}
	}()

	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			process := newProcess()
			for j := range jobs {
				results <- result{seq: j.seq, value: process(j.doc)}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	pending := map[int64]T{}
	var next int64
	var consumeErr error
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
	switch {
	case consumeErr != nil:
		return consumeErr
	case readErr != nil:
		return readErr
	case len(pending) != 0:
		return fmt.Errorf("pipeline: %d documents left unordered", len(pending))
	}
	return ctx.Err()
}
