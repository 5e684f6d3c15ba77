package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// ---- normalizers -----------------------------------------------------------

type normalizer interface{ normalize(s string) string }

type normSequence []normalizer

func (n normSequence) normalize(s string) string {
	for _, step := range n {
		s = step.normalize(s)
	}
	return s
}

// normPrepend is HF's Prepend: nothing is prepended to an empty string, which
// is why Llama's "<s>" split off the front leaves no stray "▁".
type normPrepend string

func (n normPrepend) normalize(s string) string {
	if s == "" {
		return s
	}
	return string(n) + s
}

type normReplace struct {
	pattern matcher
	content string
}

func (n normReplace) normalize(s string) string { return replaceAll(s, n.pattern, n.content) }

type normUnicode struct{ form norm.Form }

func (n normUnicode) normalize(s string) string { return n.form.String(s) }

type normLowercase struct{}

func (normLowercase) normalize(s string) string { return strings.ToLower(s) }

type normStrip struct{ left, right bool }

func (n normStrip) normalize(s string) string {
	if n.left {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
	}
	if n.right {
		s = strings.TrimRightFunc(s, unicode.IsSpace)
	}
	return s
}

func buildNormalizer(raw []byte) (normalizer, error) {
	c, err := parseComponent(raw)
	if err != nil || c == nil {
		return nil, err
	}
	switch c.Type {
	case "Sequence":
		var seq normSequence
		for i, sub := range c.Normalizers {
			n, err := buildNormalizer(sub)
			if err != nil {
				return nil, fmt.Errorf("Sequence[%d]: %w", i, err)
			}
			if n != nil {
				seq = append(seq, n)
			}
		}
		return seq, nil
	case "Prepend":
		return normPrepend(c.Prepend), nil
	case "Replace":
		m, err := patternOf(c)
		if err != nil {
			return nil, err
		}
		return normReplace{pattern: m, content: c.Content}, nil
	case "NFC":
		return normUnicode{norm.NFC}, nil
	case "NFD":
		return normUnicode{norm.NFD}, nil
	case "NFKC":
		return normUnicode{norm.NFKC}, nil
	case "NFKD":
		return normUnicode{norm.NFKD}, nil
	case "Lowercase":
		return normLowercase{}, nil
	case "Strip":
		return normStrip{left: c.StripLeft, right: c.StripRight}, nil
	}
	return nil, fmt.Errorf("type %q not supported", c.Type)
}

// ---- pre-tokenizers --------------------------------------------------------

// piece is a stretch of text on its way to the model. atStart marks a piece
// that begins at offset 0 of the original input (HF offsets_original().0 == 0).
type piece struct {
	text    string
	atStart bool
}

type preTokenizer interface{ split(pieces []piece) []piece }

type preSequence []preTokenizer

func (p preSequence) split(pieces []piece) []piece {
	for _, step := range p {
		pieces = step.split(pieces)
	}
	return pieces
}

// preByteLevel is GPT-2's pre-tokenizer. The mapping of bytes to the GPT-2
// alphabet is done by the BPE model (Tokenizer.byteLevel), which saves
// building the mapped strings.
type preByteLevel struct{ addPrefixSpace, useRegex bool }

func (p preByteLevel) split(pieces []piece) []piece {
	var out []piece
	for _, pc := range pieces {
		if p.addPrefixSpace && !strings.HasPrefix(pc.text, " ") {
			pc.text = " " + pc.text
		}
		if !p.useRegex {
			out = appendNonEmpty(out, pc)
			continue
		}
		out = splitByMatches(out, pc, gpt2Matcher{}.findAll(pc.text), behaviorIsolated, false)
	}
	return out
}

type prependScheme int

const (
	prependAlways prependScheme = iota
	prependFirst
	prependNever
)

// preMetaspace replaces spaces with the replacement, prepends it per scheme,
// and with split cuts before every replacement (HF MergedWithNext).
type preMetaspace struct {
	replacement        string
	scheme             prependScheme
	splitAtReplacement bool
}

func (p preMetaspace) split(pieces []piece) []piece {
	var out []piece
	for _, pc := range pieces {
		pc.text = strings.ReplaceAll(pc.text, " ", p.replacement)
		if !strings.HasPrefix(pc.text, p.replacement) &&
			(p.scheme == prependAlways || p.scheme == prependFirst && pc.atStart) {
			pc.text = p.replacement + pc.text
		}
		if !p.splitAtReplacement {
			out = appendNonEmpty(out, pc)
			continue
		}
		out = splitByMatches(out, pc, literalMatcher(p.replacement).findAll(pc.text), behaviorMergedWithNext, false)
	}
	return out
}

type preSplit struct {
	pattern  matcher
	behavior splitBehavior
	invert   bool
}

func (p preSplit) split(pieces []piece) []piece {
	var out []piece
	for _, pc := range pieces {
		out = splitByMatches(out, pc, p.pattern.findAll(pc.text), p.behavior, p.invert)
	}
	return out
}

// preDigits is HF's Digits: runs of numeric characters are split off, one
// piece per digit with individual_digits.
type preDigits struct{ individual bool }

func (p preDigits) split(pieces []piece) []piece {
	var out []piece
	behavior := behaviorContiguous
	if p.individual {
		behavior = behaviorIsolated
	}
	for _, pc := range pieces {
		var matches [][2]int
		for i, r := range pc.text {
			if isNumber(r) {
				matches = append(matches, [2]int{i, i + len(string(r))})
			}
		}
		out = splitByMatches(out, pc, matches, behavior, false)
	}
	return out
}

// buildPreTokenizer also reports whether the words it yields are to be mapped
// to the byte-level alphabet (a ByteLevel step, which must come last).
func buildPreTokenizer(raw []byte) (preTokenizer, bool, error) {
	c, err := parseComponent(raw)
	if err != nil || c == nil {
		return nil, false, err
	}
	switch c.Type {
	case "Sequence":
		var seq preSequence
		byteLevel := false
		for i, sub := range c.Pretokenizers {
			if byteLevel {
				return nil, false, fmt.Errorf("Sequence[%d]: steps after ByteLevel are not supported", i)
			}
			p, bl, err := buildPreTokenizer(sub)
			if err != nil {
				return nil, false, fmt.Errorf("Sequence[%d]: %w", i, err)
			}
			byteLevel = bl
			if p != nil {
				seq = append(seq, p)
			}
		}
		return seq, byteLevel, nil
	case "ByteLevel":
		return preByteLevel{addPrefixSpace: boolOr(c.AddPrefixSpace, true), useRegex: boolOr(c.UseRegex, true)}, true, nil
	case "Metaspace":
		p := preMetaspace{replacement: c.Replacement, splitAtReplacement: boolOr(c.Split, true)}
		if p.replacement == "" {
			p.replacement = "▁"
		}
		if p.scheme, err = parsePrependScheme(c); err != nil {
			return nil, false, err
		}
		return p, false, nil
	case "Split":
		m, err := patternOf(c)
		if err != nil {
			return nil, false, err
		}
		b, err := parseBehavior(c.Behavior)
		if err != nil {
			return nil, false, err
		}
		return preSplit{pattern: m, behavior: b, invert: c.Invert}, false, nil
	case "Digits":
		return preDigits{individual: c.IndividualDigits}, false, nil
	}
	return nil, false, fmt.Errorf("type %q not supported", c.Type)
}

// parsePrependScheme reads prepend_scheme, or the add_prefix_space of files
// written before HF had prepend_scheme.
func parsePrependScheme(c *componentJSON) (prependScheme, error) {
	switch c.PrependScheme {
	case "always":
		return prependAlways, nil
	case "first":
		return prependFirst, nil
	case "never":
		return prependNever, nil
	case "":
		if boolOr(c.AddPrefixSpace, true) {
			return prependAlways, nil
		}
		return prependNever, nil
	}
	return 0, fmt.Errorf("%s: prepend_scheme %q not supported", c.Type, c.PrependScheme)
}

func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

// ---- splitting -------------------------------------------------------------

// splitBehavior is HF's SplitDelimiterBehavior.
type splitBehavior int

const (
	behaviorRemoved splitBehavior = iota
	behaviorIsolated
	behaviorMergedWithPrevious
	behaviorMergedWithNext
	behaviorContiguous
)

func parseBehavior(s string) (splitBehavior, error) {
	switch s {
	case "Removed":
		return behaviorRemoved, nil
	case "Isolated":
		return behaviorIsolated, nil
	case "MergedWithPrevious":
		return behaviorMergedWithPrevious, nil
	case "MergedWithNext":
		return behaviorMergedWithNext, nil
	case "Contiguous":
		return behaviorContiguous, nil
	}
	return 0, fmt.Errorf("split behavior %q not supported", s)
}

type span struct {
	start, end int
	match      bool
}

// splitByMatches cuts pc at the given non-overlapping, ordered matches with
// HF's delimiter behaviour and appends the non-empty pieces to out.
func splitByMatches(out []piece, pc piece, matches [][2]int, behavior splitBehavior, invert bool) []piece {
	if len(matches) == 0 && !invert {
		return appendNonEmpty(out, pc)
	}
	// Gaps and matches in order, as HF's find_matches lists them.
	spans := make([]span, 0, 2*len(matches)+1)
	prev := 0
	for _, m := range matches {
		if m[0] > prev {
			spans = append(spans, span{prev, m[0], invert})
		}
		spans = append(spans, span{m[0], m[1], !invert})
		prev = m[1]
	}
	if prev < len(pc.text) {
		spans = append(spans, span{prev, len(pc.text), invert})
	}

	var kept []span
	switch behavior {
	case behaviorRemoved:
		for _, s := range spans {
			if !s.match {
				kept = append(kept, s)
			}
		}
	case behaviorIsolated:
		kept = spans
	case behaviorMergedWithPrevious:
		prevMatch := false
		for _, s := range spans {
			if s.match && !prevMatch && len(kept) > 0 {
				kept[len(kept)-1].end = s.end
			} else {
				kept = append(kept, s)
			}
			prevMatch = s.match
		}
	case behaviorMergedWithNext:
		// HF folds from the right: a match joins the span after it unless
		// that span is itself a match.
		nextMatch := false
		for i := len(spans) - 1; i >= 0; i-- {
			s := spans[i]
			if s.match && !nextMatch && len(kept) > 0 {
				kept[len(kept)-1].start = s.start
			} else {
				kept = append(kept, s)
			}
			nextMatch = s.match
		}
		for i, j := 0, len(kept)-1; i < j; i, j = i+1, j-1 {
			kept[i], kept[j] = kept[j], kept[i]
		}
	case behaviorContiguous:
		prevMatch := false
		for i, s := range spans {
			if i > 0 && s.match == prevMatch {
				kept[len(kept)-1].end = s.end
			} else {
				kept = append(kept, s)
			}
			prevMatch = s.match
		}
	}
	for _, s := range kept {
		out = appendNonEmpty(out, piece{text: pc.text[s.start:s.end], atStart: pc.atStart && s.start == 0})
	}
	return out
}

func appendNonEmpty(out []piece, pc piece) []piece {
	if pc.text == "" {
		return out
	}
	return append(out, pc)
}

// ---- post-processors -------------------------------------------------------

// postProcessor holds the ids add_special_tokens puts around one sequence.
type postProcessor struct{ prefix, suffix []int }

func buildPostProcessor(raw []byte, t *Tokenizer) (postProcessor, error) {
	c, err := parseComponent(raw)
	if err != nil || c == nil {
		return postProcessor{}, err
	}
	switch c.Type {
	case "ByteLevel":
		return postProcessor{}, nil // offsets only
	case "Sequence":
		var p postProcessor
		for i, sub := range c.Processors {
			q, err := buildPostProcessor(sub, t)
			if err != nil {
				return p, fmt.Errorf("Sequence[%d]: %w", i, err)
			}
			p.prefix = append(p.prefix, q.prefix...)
			p.suffix = append(q.suffix, p.suffix...)
		}
		return p, nil
	case "TemplateProcessing":
		var p postProcessor
		seen := false
		for _, tp := range c.Single {
			switch {
			case tp.Sequence != nil:
				seen = true
			case tp.SpecialToken != nil:
				spec, ok := c.SpecialTokens[tp.SpecialToken.ID]
				if !ok {
					return p, fmt.Errorf("template token %q missing from special_tokens", tp.SpecialToken.ID)
				}
				if seen {
					p.suffix = append(p.suffix, spec.IDs...)
				} else {
					p.prefix = append(p.prefix, spec.IDs...)
				}
			}
		}
		return p, nil
	case "RobertaProcessing", "BertProcessing":
		cls, err := processorToken(c.Cls)
		if err != nil {
			return postProcessor{}, fmt.Errorf("cls: %w", err)
		}
		sep, err := processorToken(c.Sep)
		if err != nil {
			return postProcessor{}, fmt.Errorf("sep: %w", err)
		}
		return postProcessor{prefix: []int{cls}, suffix: []int{sep}}, nil
	}
	return postProcessor{}, fmt.Errorf("type %q not supported", c.Type)
}

// processorToken reads a ["<s>", 0] pair.
func processorToken(pair []json.RawMessage) (int, error) {
	if len(pair) != 2 {
		return 0, fmt.Errorf("want [token, id], got %d items", len(pair))
	}
	var id int
	if err := json.Unmarshal(pair[1], &id); err != nil {
		return 0, err
	}
	return id, nil
}
