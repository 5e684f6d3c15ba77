package tokenizer

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sugarme/tokenizer/pretokenizer"
)

// decoder is HF's Decoder::decode_chain: tokens in, tokens out; the
// Tokenizer joins the final tokens with "".
type decoder interface {
	decode(tokens []string) []string
}

type decSequence []decoder

func (d decSequence) decode(tokens []string) []string {
	for _, step := range d {
		tokens = step.decode(tokens)
	}
	return tokens
}

// decByteLevel maps GPT-2 alphabet characters back to bytes. A token with a
// character outside the alphabet (an added token such as "<|user|>" always
// maps; "é" would not) is taken as its own UTF-8 bytes, and the whole output
// is made valid UTF-8 the way Rust's from_utf8_lossy does.
type decByteLevel struct{}

func (decByteLevel) decode(tokens []string) []string {
	var buf []byte
	for _, tok := range tokens {
		start := len(buf)
		for _, r := range tok {
			b, ok := pretokenizer.CharBytes[string(r)]
			if !ok {
				buf = append(buf[:start], tok...)
				break
			}
			buf = append(buf, b)
		}
	}
	return []string{LossyUTF8(buf)}
}

func isByteLevelDecoder(d decoder) bool {
	switch d := d.(type) {
	case decByteLevel:
		return true
	case decSequence:
		for _, step := range d {
			if isByteLevelDecoder(step) {
				return true
			}
		}
	}
	return false
}

// decMetaspace turns the replacement back into spaces, dropping it in the
// first token unless prepend_scheme is "never" (HF drops every replacement
// character of token 0, not just the leading one).
type decMetaspace struct {
	replacement string
	scheme      prependScheme
}

func (d decMetaspace) decode(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, tok := range tokens {
		with := " "
		if i == 0 && d.scheme != prependNever {
			with = ""
		}
		out[i] = strings.ReplaceAll(tok, d.replacement, with)
	}
	return out
}

type decReplace struct {
	pattern matcher
	content string
}

func (d decReplace) decode(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, tok := range tokens {
		out[i] = replaceAll(tok, d.pattern, d.content)
	}
	return out
}

// decByteFallback turns runs of "<0xXX>" tokens into the text they encode, or
// one U+FFFD per byte when the run is not valid UTF-8 (HF ByteFallback).
type decByteFallback struct{}

func (decByteFallback) decode(tokens []string) []string {
	out := make([]string, 0, len(tokens))
	var pending []byte
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if utf8.Valid(pending) {
			out = append(out, string(pending))
		} else {
			for range pending {
				out = append(out, "\uFFFD")
			}
		}
		pending = pending[:0]
	}
	for _, tok := range tokens {
		if b, ok := fallbackByte(tok); ok {
			pending = append(pending, b)
			continue
		}
		flush()
		out = append(out, tok)
	}
	flush()
	return out
}

// fallbackByte parses "<0xXX>" as Rust's u8::from_str_radix(_, 16) would,
// which also accepts a leading '+'.
func fallbackByte(tok string) (byte, bool) {
	if len(tok) != 6 || !strings.HasPrefix(tok, "<0x") || tok[5] != '>' {
		return 0, false
	}
	digits := tok[3:5]
	if digits[0] == '+' {
		digits = digits[1:]
	}
	if digits == "" || digits[0] == '+' || digits[0] == '-' {
		return 0, false
	}
	v, err := strconv.ParseUint(digits, 16, 8)
	if err != nil {
		return 0, false
	}
	return byte(v), true
}

type decFuse struct{}

func (decFuse) decode(tokens []string) []string { return []string{strings.Join(tokens, "")} }

// decStrip removes up to start leading and stop trailing copies of content
// from every token (HF Strip).
type decStrip struct {
	content     rune
	start, stop int
}

func (d decStrip) decode(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, tok := range tokens {
		chars := []rune(tok)
		from := 0
		for from < d.start && from < len(chars) && chars[from] == d.content {
			from++
		}
		to := len(chars)
		for len(chars)-to < d.stop && to > from && chars[to-1] == d.content {
			to--
		}
		out[i] = string(chars[from:to])
	}
	return out
}

func buildDecoder(raw []byte) (decoder, error) {
	c, err := parseComponent(raw)
	if err != nil || c == nil {
		return nil, err
	}
	switch c.Type {
	case "Sequence":
		var seq decSequence
		for i, sub := range c.Decoders {
			d, err := buildDecoder(sub)
			if err != nil {
				return nil, fmt.Errorf("Sequence[%d]: %w", i, err)
			}
			if d != nil {
				seq = append(seq, d)
			}
		}
		return seq, nil
	case "ByteLevel":
		return decByteLevel{}, nil
	case "Metaspace":
		d := decMetaspace{replacement: c.Replacement}
		if d.replacement == "" {
			d.replacement = "▁"
		}
		if d.scheme, err = parsePrependScheme(c); err != nil {
			return nil, err
		}
		return d, nil
	case "Replace":
		m, err := patternOf(c)
		if err != nil {
			return nil, err
		}
		return decReplace{pattern: m, content: c.Content}, nil
	case "ByteFallback":
		return decByteFallback{}, nil
	case "Fuse":
		return decFuse{}, nil
	case "Strip":
		r, size := utf8.DecodeRuneInString(c.Content)
		if size == 0 || size != len(c.Content) {
			return nil, fmt.Errorf("Strip: content %q is not one character", c.Content)
		}
		return decStrip{content: r, start: c.Start, stop: c.Stop}, nil
	}
	return nil, fmt.Errorf("type %q not supported", c.Type)
}

// LossyUTF8 is Rust's String::from_utf8_lossy and Python's
// bytes.decode("utf-8", errors="replace"): each maximal ill-formed
// subsequence becomes one U+FFFD, so text with bad bytes reaches the
// tokenizer as it reaches HF's (which takes only valid strings). Go's
// strings.ToValidUTF8 merges adjacent ones and utf8.DecodeRune reports one
// error per byte, so neither matches.
func LossyUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var out strings.Builder
	out.Grow(len(b) + 8)
	for i := 0; i < len(b); {
		r, w := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || w > 1 {
			out.Write(b[i : i+w])
			i += w
			continue
		}
		out.WriteRune(utf8.RuneError)
		i += maximalSubpart(b[i:])
	}
	return out.String()
}

// maximalSubpart is the length (>= 1) of the longest prefix of b that starts
// a well-formed UTF-8 sequence (Unicode 3.9, table 3-7).
func maximalSubpart(b []byte) int {
	lead := b[0]
	var n int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case lead >= 0xC2 && lead <= 0xDF:
		n = 2
	case lead == 0xE0:
		n, lo = 3, 0xA0
	case lead >= 0xE1 && lead <= 0xEC, lead == 0xEE, lead == 0xEF:
		n = 3
	case lead == 0xED:
		n, hi = 3, 0x9F
	case lead == 0xF0:
		n, lo = 4, 0x90
	case lead >= 0xF1 && lead <= 0xF3:
		n = 4
	case lead == 0xF4:
		n, hi = 4, 0x8F
	default:
		return 1
	}
	i := 1
	for ; i < n && i < len(b); i++ {
		if b[i] < lo || b[i] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
	}
	return i
}
