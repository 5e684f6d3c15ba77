package tokenizer

import (
	"hash/maphash"
	"sync"
)

// maxCachedWord is the longest word (bytes) whose encoding is cached; HF
// caches words too, and text repeats short words far more than long ones.
const maxCachedWord = 64

const (
	cacheShards        = 64
	cacheShardCapacity = 4096 // entries; a full shard is emptied, not LRU'd
)

// wordCache maps a word to its ids. Sharded so that concurrent Encode calls
// rarely contend; the zero value is ready to use.
type wordCache struct {
	seed   maphash.Seed
	once   sync.Once
	shards [cacheShards]struct {
		mu    sync.Mutex
		words map[string][]int
	}
}

func (c *wordCache) shard(word string) int {
	c.once.Do(func() { c.seed = maphash.MakeSeed() })
	return int(maphash.String(c.seed, word) % cacheShards)
}

func (c *wordCache) get(word string) ([]int, bool) {
	s := &c.shards[c.shard(word)]
	s.mu.Lock()
	ids, ok := s.words[word]
	s.mu.Unlock()
	return ids, ok
}

func (c *wordCache) put(word string, ids []int) {
	s := &c.shards[c.shard(word)]
	s.mu.Lock()
	if s.words == nil || len(s.words) >= cacheShardCapacity {
		s.words = make(map[string][]int, 256)
	}
	// Clone both: word may pin a large input, ids is the caller's buffer.
	s.words[string([]byte(word))] = append([]int(nil), ids...)
	s.mu.Unlock()
}
