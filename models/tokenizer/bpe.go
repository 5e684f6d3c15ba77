package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sugarme/tokenizer/pretokenizer"
)

// bpeModel is the BPE model of HF tokenizers: vocab, merge ranks and the
// unknown-character policy (byte fallback, <unk>, fuse_unk).
type bpeModel struct {
	vocab  map[string]int
	merges map[uint64]mergeRule // pairKey(left, right) -> rule

	unkID        int // -1: unknown characters are dropped
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool

	byteLevelIDs [256]int // id of the GPT-2 alphabet char of each byte, or -1
	fallbackIDs  [256]int // id of "<0xXX>", or -1

	// joinable holds every adjacent rune pair inside some vocab token: where
	// two in-vocab characters form no such pair, no token can ever span the
	// cut between them, so a long word is merged piecewise with the same
	// result. Llama/Gemma files have no pre-tokenizer, which makes a whole
	// document one word; without this, merging it is one huge heap.
	joinable map[uint64]struct{}

	cache wordCache
}

type mergeRule struct {
	rank int32 // position in the merges list: lower merges first
	id   int32 // id of the merged token
}

func pairKey(left, right int) uint64 { return uint64(uint32(left))<<32 | uint64(uint32(right)) }

func (m *bpeModel) initByteTables() {
	for b := range 256 {
		m.byteLevelIDs[b] = lookupOr(m.vocab, pretokenizer.BytesChar[uint8(b)], -1)
		m.fallbackIDs[b] = lookupOr(m.vocab, fmt.Sprintf("<0x%02X>", b), -1)
	}
}

func runePair(a, b rune) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

func (m *bpeModel) initJoinable() {
	m.joinable = make(map[uint64]struct{}, 2*len(m.vocab))
	for tok := range m.vocab {
		prev := rune(-1)
		for _, r := range tok {
			if prev >= 0 {
				m.joinable[runePair(prev, r)] = struct{}{}
			}
			prev = r
		}
	}
}

func (m *bpeModel) bytesKnown(char string) bool {
	for j := 0; j < len(char); j++ {
		if m.fallbackIDs[char[j]] < 0 {
			return false
		}
	}
	return true
}

func lookupOr(vocab map[string]int, tok string, def int) int {
	if id, ok := vocab[tok]; ok {
		return id
	}
	return def
}

// byteLevelString maps raw bytes to the GPT-2 alphabet (HF ByteLevel).
func byteLevelString(word string) string {
	var b strings.Builder
	b.Grow(2 * len(word))
	for i := 0; i < len(word); i++ {
		b.WriteString(pretokenizer.BytesChar[word[i]])
	}
	return b.String()
}

// symbols is the doubly linked list of HF's Word: merging marks the right
// symbol dead (size 0) and links around it.
type symbols struct {
	id         []int32
	prev, next []int32
	size       []int32 // bytes covered; 0 once merged away
}

func (s *symbols) add(id, size int) {
	n := int32(len(s.id))
	s.id = append(s.id, int32(id))
	s.prev = append(s.prev, n-1)
	s.next = append(s.next, n+1)
	s.size = append(s.size, int32(size))
}

// encodeWord appends the ids of one pre-tokenized word. byteLevel words are
// raw bytes that stand for their GPT-2 alphabet characters.
func (m *bpeModel) encodeWord(word string, byteLevel bool, ids []int) []int {
	if word == "" {
		return ids
	}
	if m.ignoreMerges {
		tok := word
		if byteLevel {
			tok = byteLevelString(word)
		}
		if id, ok := m.vocab[tok]; ok {
			return append(ids, id)
		}
	}
	if len(word) <= maxCachedWord || byteLevel {
		return m.encodeCached(word, byteLevel, ids)
	}
	// Long word: merge each stretch between safe cuts on its own (cached
	// like a word when short).
	chunkStart := 0
	prev, prevKnown := rune(-1), false
	for i := 0; i < len(word); {
		r, w := utf8.DecodeRuneInString(word[i:])
		_, known := m.vocab[word[i:i+w]]
		if r == utf8.RuneError {
			known = false // invalid byte or U+FFFD: not worth the care
		}
		if i > chunkStart && prevKnown && known {
			if _, ok := m.joinable[runePair(prev, r)]; !ok {
				ids = m.encodeCached(word[chunkStart:i], false, ids)
				chunkStart = i
			}
		}
		prev, prevKnown = r, known
		i += w
	}
	return m.encodeCached(word[chunkStart:], false, ids)
}

// encodeCached encodes a word or a chunk of one through the word cache
// (ignore_merges applies to whole words only, and is checked before).
func (m *bpeModel) encodeCached(chunk string, byteLevel bool, ids []int) []int {
	if len(chunk) > maxCachedWord {
		return m.encodeChunk(chunk, byteLevel, ids)
	}
	if cached, ok := m.cache.get(chunk); ok {
		return append(ids, cached...)
	}
	start := len(ids)
	ids = m.encodeChunk(chunk, byteLevel, ids)
	m.cache.put(chunk, ids[start:])
	return ids
}

// encodeChunk runs BPE on text no merge crosses the ends of.
func (m *bpeModel) encodeChunk(word string, byteLevel bool, ids []int) []int {
	var syms symbols
	if byteLevel {
		syms = m.byteLevelSymbols(word)
	} else {
		syms = m.charSymbols(word)
	}
	if len(syms.id) > 1 {
		m.mergeAll(&syms)
	}
	for i := 0; i < len(syms.id); i++ {
		if syms.size[i] > 0 {
			ids = append(ids, int(syms.id[i]))
		}
	}
	return ids
}

func newSymbols(n int) symbols {
	return symbols{
		id:   make([]int32, 0, n),
		prev: make([]int32, 0, n),
		next: make([]int32, 0, n),
		size: make([]int32, 0, n),
	}
}

func (m *bpeModel) byteLevelSymbols(word string) symbols {
	syms := newSymbols(len(word))
	u := unkRun{m: m}
	for i := 0; i < len(word); i++ {
		if id := m.byteLevelIDs[word[i]]; id >= 0 {
			u.flush(&syms)
			syms.add(id, 1)
			continue
		}
		u.unknown(&syms, 1)
	}
	u.flush(&syms)
	return syms
}

// charSymbols follows HF's BPE::merge_word: one symbol per character, else
// its "<0xXX>" byte tokens with byte_fallback, else <unk> (fused when
// fuse_unk). Invalid UTF-8 bytes count as one-byte characters.
func (m *bpeModel) charSymbols(word string) symbols {
	syms := newSymbols(len(word))
	u := unkRun{m: m}
	for i := 0; i < len(word); {
		_, w := utf8.DecodeRuneInString(word[i:])
		char := word[i : i+w]
		if id, ok := m.vocab[char]; ok {
			u.flush(&syms)
			syms.add(id, w)
		} else if m.byteFallback && m.bytesKnown(char) {
			// HF adds the byte tokens without flushing a pending <unk>
			// first, so that <unk> lands after them; kept for exactness.
			for j := 0; j < len(char); j++ {
				syms.add(m.fallbackIDs[char[j]], 1)
			}
		} else {
			u.unknown(&syms, w)
		}
		i += w
	}
	u.flush(&syms)
	return syms
}

// unkRun accumulates consecutive unknown characters into one <unk> symbol
// when fuse_unk is set.
type unkRun struct {
	m       *bpeModel
	pending int // bytes of a pending <unk>, 0 if none
}

func (u *unkRun) unknown(syms *symbols, size int) {
	if u.m.unkID < 0 {
		return
	}
	if u.pending > 0 && u.m.fuseUnk {
		u.pending += size
		return
	}
	u.flush(syms)
	u.pending = size
}

func (u *unkRun) flush(syms *symbols) {
	if u.pending > 0 {
		syms.add(u.m.unkID, u.pending)
		u.pending = 0
	}
}

// mergeCandidate is a queued merge of the symbol at pos with its right
// neighbour; HF pops the lowest rank first, then the leftmost position.
type mergeCandidate struct {
	rank, pos, id int32
}

func (a mergeCandidate) less(b mergeCandidate) bool {
	return a.rank < b.rank || a.rank == b.rank && a.pos < b.pos
}

// mergeQueue is the heap of pending merges.
type mergeQueue = minHeap[mergeCandidate]

// mergeAll is HF's Word::merge_all without dropout: repeatedly apply the
// lowest-ranked merge available anywhere in the word, leftmost first. Taking
// ranks globally (not left to right) is what makes "1999" "199"+"9".
func (m *bpeModel) mergeAll(s *symbols) {
	n := int32(len(s.id))
	s.next[n-1] = -1
	queue := make(mergeQueue, 0, n)
	for i := int32(0); i+1 < n; i++ {
		if rule, ok := m.merges[pairKey(int(s.id[i]), int(s.id[i+1]))]; ok {
			queue.push(mergeCandidate{rank: rule.rank, pos: i, id: rule.id})
		}
	}
	for len(queue) > 0 {
		top := queue.pop()
		if s.size[top.pos] == 0 || s.next[top.pos] < 0 {
			continue
		}
		right := s.next[top.pos]
		rule, ok := m.merges[pairKey(int(s.id[top.pos]), int(s.id[right]))]
		if !ok || rule.id != top.id {
			continue // stale: a neighbour changed since this was queued
		}
		s.id[top.pos] = top.id
		s.size[top.pos] += s.size[right]
		s.size[right] = 0
		s.next[top.pos] = s.next[right]
		if nx := s.next[right]; nx >= 0 {
			s.prev[nx] = top.pos
		}
		if p := s.prev[top.pos]; p >= 0 {
			if rule, ok := m.merges[pairKey(int(s.id[p]), int(top.id))]; ok {
				queue.push(mergeCandidate{rank: rule.rank, pos: p, id: rule.id})
			}
		}
		if nx := s.next[top.pos]; nx >= 0 {
			if rule, ok := m.merges[pairKey(int(top.id), int(s.id[nx]))]; ok {
				queue.push(mergeCandidate{rank: rule.rank, pos: top.pos, id: rule.id})
			}
		}
	}
}
