package tokenizer

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
)

// matcher finds the non-overlapping, left-to-right matches of a pattern as
// byte ranges, like the onig find_iter HF uses.
type matcher interface{ findAll(s string) [][2]int }

type literalMatcher string

func (m literalMatcher) findAll(s string) [][2]int {
	if m == "" {
		return nil
	}
	var out [][2]int
	for i := 0; ; {
		j := strings.Index(s[i:], string(m))
		if j < 0 {
			return out
		}
		out = append(out, [2]int{i + j, i + j + len(m)})
		i += j + len(m)
	}
}

// regexMatcher runs HF's Oniguruma patterns with regexp2, a backtracking
// engine that, unlike Go's regexp, has look-around and Unicode-aware \s \d \w
// (Llama 3 and Qwen split patterns need `\s+(?!\S)`).
type regexMatcher struct{ re *regexp2.Regexp }

// regexTimeout bounds a pathological pattern from a corrupt file.
const regexTimeout = 2 * time.Second

func compileRegex(pattern string) (matcher, error) {
	if pattern == gpt2Pattern {
		return gpt2Matcher{}, nil
	}
	re, err := regexp2.Compile(widenUnicodeClasses(pattern), regexp2.None)
	if err != nil {
		return nil, err
	}
	re.MatchTimeout = regexTimeout
	return regexMatcher{re}, nil
}

func (m regexMatcher) findAll(s string) [][2]int {
	idx, err := m.re.FindAllStringIndex(s, -1)
	if err != nil {
		return nil
	}
	out := make([][2]int, 0, len(idx))
	for _, p := range idx {
		out = append(out, [2]int{p[0], p[1]})
	}
	return out
}

func replaceAll(s string, pattern matcher, content string) string {
	matches := pattern.findAll(s)
	if len(matches) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(matches)*len(content))
	prev := 0
	for _, m := range matches {
		b.WriteString(s[prev:m[0]])
		b.WriteString(content)
		prev = m[1]
	}
	b.WriteString(s[prev:])
	return b.String()
}

// gpt2Pattern is GPT-2's pre-tokenizer regex, the one HF's ByteLevel uses.
const gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// gpt2Matcher matches gpt2Pattern by hand: it is the hot loop of byte-level
// encoding, and Go's regexp lacks the (?!\S) look-ahead. Alternatives are
// tried in the pattern's order, as a backtracking engine does. \s is Unicode
// White_Space (unicode.IsSpace), as in Oniguruma.
type gpt2Matcher struct{}

func (gpt2Matcher) findAll(s string) [][2]int {
	out := make([][2]int, 0, len(s)/4+1)
	for i := 0; i < len(s); {
		end := gpt2MatchAt(s, i)
		out = append(out, [2]int{i, end})
		i = end
	}
	return out
}

type charClass int

const (
	classSpace charClass = iota
	classLetter
	classNumber
	classOther
)

func classOf(r rune) charClass {
	switch {
	case r < utf8.RuneSelf:
		return asciiClass[r]
	case unicode.IsSpace(r):
		return classSpace
	case isLetter(r):
		return classLetter
	case isNumber(r):
		return classNumber
	}
	return classOther
}

var asciiClass = func() (t [utf8.RuneSelf]charClass) {
	for r := range rune(utf8.RuneSelf) {
		switch {
		case unicode.IsSpace(r):
			t[r] = classSpace
		case unicode.IsLetter(r):
			t[r] = classLetter
		case unicode.IsNumber(r):
			t[r] = classNumber
		default:
			t[r] = classOther
		}
	}
	return t
}()

func runeAt(s string, i int) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

// gpt2MatchAt returns the end of the match starting at i (always > i).
func gpt2MatchAt(s string, i int) int {
	if s[i] == '\'' && i+1 < len(s) {
		switch s[i+1] {
		case 's', 't', 'm', 'd':
			return i + 2
		}
		if i+2 < len(s) {
			switch s[i+1 : i+3] {
			case "re", "ve", "ll":
				return i + 3
			}
		}
	}
	// ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional space, then
	// a run of one class.
	j := i
	if s[j] == ' ' {
		j++
	}
	if j < len(s) {
		r, w := runeAt(s, j)
		if cls := classOf(r); cls != classSpace {
			k := j + w
			for k < len(s) {
				r, w := runeAt(s, k)
				if classOf(r) != cls {
					break
				}
				k += w
			}
			return k
		}
	}
	// `\s+(?!\S)|\s+`: a whitespace run, leaving its last character to the
	// next word when a non-space follows and the run is longer than one.
	k, lastStart := i, i
	for k < len(s) {
		r, w := runeAt(s, k)
		if classOf(r) != classSpace {
			break
		}
		lastStart = k
		k += w
	}
	if k == len(s) || lastStart == i {
		return k
	}
	return lastStart
}
