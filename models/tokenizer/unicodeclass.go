package tokenizer

import (
	"strings"
	"unicode"
)

// HF tokenizers classifies characters with Unicode 16.0 (Oniguruma and
// Rust's char tables); Go's unicode package is Unicode 15.0. The code
// points 15.1 and 16.0 added as letters and numbers (unicode16.go, 5,004 of
// them: CJK Extension I, Garay, Sunuwar, Egyptian hieroglyphs, ...) are
// added to every letter/number test here, and to \p{L} and \p{N} in split
// patterns, so pre-tokenization splits them as HF does.

// isLetter is \p{L} in Unicode 16.0.
func isLetter(r rune) bool {
	return unicode.IsLetter(r) || r > unicode.MaxLatin1 && unicode.Is(newLetters, r)
}

// isNumber is \p{N} in Unicode 16.0.
func isNumber(r rune) bool {
	return unicode.IsNumber(r) || r > unicode.MaxLatin1 && unicode.Is(newNumbers, r)
}

// widenUnicodeClasses rewrites \p{L} and \p{N} in an Oniguruma pattern to
// also match the Unicode 16.0 additions: inside a bracket class the extra
// ranges join the class, outside it \p{X} becomes [\p{X}...].
func widenUnicodeClasses(pattern string) string {
	extra := map[string]string{`\p{L}`: classRanges(newLetters), `\p{N}`: classRanges(newNumbers)}
	var b strings.Builder
	inClass := false
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c == '\\' && i+1 < len(pattern) {
			if i+5 <= len(pattern) {
				if ranges, ok := extra[pattern[i:i+5]]; ok {
					if inClass {
						b.WriteString(pattern[i:i+5] + ranges)
					} else {
						b.WriteString("[" + pattern[i:i+5] + ranges + "]")
					}
					i += 4
					continue
				}
			}
			b.WriteString(pattern[i : i+2])
			i++
			continue
		}
		switch {
		case c == '[' && !inClass:
			inClass = true
			b.WriteByte(c)
			// A ']' right after '[' or '[^' is a literal.
			if strings.HasPrefix(pattern[i+1:], "^") {
				b.WriteByte('^')
				i++
			}
			if strings.HasPrefix(pattern[i+1:], "]") {
				b.WriteByte(']')
				i++
			}
			continue
		case c == ']' && inClass:
			inClass = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

// classRanges writes a table's ranges as bracket-class members (lo-hi, as
// literal characters: none of them is special in a class).
func classRanges(t *unicode.RangeTable) string {
	var b strings.Builder
	for _, r := range t.R16 {
		b.WriteString(string(rune(r.Lo)) + "-" + string(rune(r.Hi)))
	}
	for _, r := range t.R32 {
		b.WriteString(string(rune(r.Lo)) + "-" + string(rune(r.Hi)))
	}
	return b.String()
}
