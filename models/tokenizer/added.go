package tokenizer

import (
	"slices"
	"unicode"
	"unicode/utf8"
)

// addedToken is an entry of tokenizer.json's added_tokens.
type addedToken struct {
	content                    string
	id                         int
	singleWord, lstrip, rstrip bool
}

// addedVocab finds added tokens in text the way HF's AddedVocabulary does:
// tokens with normalized=false are matched in the raw input, the others in
// each normalized segment, leftmost-longest in both.
type addedVocab struct {
	raw, normalized tokenSet
	byContent       map[string]int
}

func newAddedVocab() *addedVocab {
	return &addedVocab{raw: newTokenSet(), normalized: newTokenSet(), byContent: map[string]int{}}
}

// tokenSet is a leftmost-longest matcher. Real files have a few to a few
// thousand added tokens but few distinct lengths, so a map probe per length
// at each candidate first byte is fast enough and simple.
type tokenSet struct {
	byContent map[string]addedToken
	lengths   []int // distinct, longest first
	firstByte [256]bool
}

func newTokenSet() tokenSet { return tokenSet{byContent: map[string]addedToken{}} }

func (s *tokenSet) add(tok addedToken) {
	s.byContent[tok.content] = tok
	s.firstByte[tok.content[0]] = true
	if !slices.Contains(s.lengths, len(tok.content)) {
		s.lengths = append(s.lengths, len(tok.content))
		slices.Sort(s.lengths)
		slices.Reverse(s.lengths)
	}
}

// segmentFunc encodes a stretch of text free of added tokens.
type segmentFunc func(segment string, atStart bool, ids []int) []int

// split appends to ids the ids of added tokens found in text and, through
// encode, those of the text between them (HF find_matches).
func (s *tokenSet) split(text string, atStart bool, ids []int, encode segmentFunc) []int {
	if len(s.byContent) == 0 {
		if text == "" {
			return ids
		}
		return encode(text, atStart, ids)
	}
	done := 0 // text[:done] is encoded
	for i := 0; i < len(text); i++ {
		if !s.firstByte[text[i]] {
			continue
		}
		tok, ok := s.longestAt(text, i)
		if !ok {
			continue
		}
		start, stop := i, i+len(tok.content)
		if tok.singleWord && (start > 0 && endsWithWordChar(text[:start]) || stop < len(text) && startsWithWordChar(text[stop:])) {
			continue
		}
		if tok.lstrip {
			start = max(len(trimRightSpace(text[:start])), done)
		}
		if tok.rstrip {
			stop = len(text) - len(trimLeftSpace(text[stop:]))
		}
		if done < start {
			ids = encode(text[done:start], atStart && done == 0, ids)
		}
		ids = append(ids, tok.id)
		done = stop
		i = stop - 1
	}
	if done < len(text) {
		ids = encode(text[done:], atStart && done == 0, ids)
	}
	return ids
}

func (s *tokenSet) longestAt(text string, i int) (addedToken, bool) {
	for _, n := range s.lengths {
		if i+n <= len(text) {
			if tok, ok := s.byContent[text[i:i+n]]; ok {
				return tok, true
			}
		}
	}
	return addedToken{}, false
}

func (a *addedVocab) splitRaw(text string, ids []int, encode segmentFunc) []int {
	return a.raw.split(text, true, ids, encode)
}

func (a *addedVocab) splitNormalized(text string, atStart bool, ids []int, encode segmentFunc) []int {
	return a.normalized.split(text, atStart, ids, encode)
}

func isWordChar(r rune) bool { return isLetter(r) || isNumber(r) || r == '_' }

func endsWithWordChar(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return isWordChar(r)
}

func startsWithWordChar(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isWordChar(r)
}

func trimRightSpace(s string) string {
	for len(s) > 0 {
		r, w := utf8.DecodeLastRuneInString(s)
		if !unicode.IsSpace(r) {
			break
		}
		s = s[:len(s)-w]
	}
	return s
}

func trimLeftSpace(s string) string {
	for len(s) > 0 {
		r, w := utf8.DecodeRuneInString(s)
		if !unicode.IsSpace(r) {
			break
		}
		s = s[w:]
	}
	return s
}
