package data

import (
	"fmt"
	"math"
)

// retokenize is the remedy every damaged-shard message ends with.
const retokenize = "re-run `nrgraph tokenize`"

// check validates an index on its own (idxPath names it in messages) and
// returns the token width. Every field a reader sizes memory or loops by
// is bounded here, so a hostile index is an error, never a panic or a hang.
func (idx ShardIndex) check(idxPath string) (int, error) {
	width := map[string]int{"uint16": 2, "uint32": 4}[idx.DType]
	switch {
	case width == 0:
		return 0, fmt.Errorf("%s: dtype %q, want uint16 or uint32", idxPath, idx.DType)
	case idx.Tokens < 0:
		return 0, fmt.Errorf("%s: tokens %d is negative: the index is damaged; %s", idxPath, idx.Tokens, retokenize)
	case idx.Tokens > math.MaxInt64/int64(width):
		return 0, fmt.Errorf("%s: tokens %d of %s is more than any file holds: the index is damaged; %s", idxPath, idx.Tokens, idx.DType, retokenize)
	case idx.Bytes < 0:
		return 0, fmt.Errorf("%s: bytes %d is negative: the index is damaged; %s", idxPath, idx.Bytes, retokenize)
	case idx.VocabSize <= 0:
		return 0, fmt.Errorf("%s: vocab_size %d must be positive: the index is damaged; %s", idxPath, idx.VocabSize, retokenize)
	case width == 2 && idx.VocabSize > 1<<16:
		return 0, fmt.Errorf("%s: vocab_size %d does not fit dtype uint16: the index is damaged; %s", idxPath, idx.VocabSize, retokenize)
	}
	prev := int64(0)
	for i, start := range idx.DocStarts {
		if start < prev || start > idx.Tokens || (i == 0 && start != 0) {
			return 0, fmt.Errorf("%s: doc_starts[%d] = %d is out of order or past tokens %d: the index is damaged; %s", idxPath, i, start, idx.Tokens, retokenize)
		}
		prev = start
	}
	return width, nil
}

// checkSize compares the .bin's size with the index (without overflow:
// check has bounded Tokens·width).
func (idx ShardIndex) checkSize(binPath string, size int64, width int) error {
	if want := idx.Tokens * int64(width); size != want {
		return fmt.Errorf("%s: %d bytes, index says %d tokens of %s (%d bytes): truncated or mismatched; %s",
			binPath, size, idx.Tokens, idx.DType, want, retokenize)
	}
	return nil
}
