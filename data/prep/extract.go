package prep

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
	"github.com/markusmobius/go-trafilatura"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/text/unicode/norm"
)

// extractOptions keep trafilatura on its main path: no publication-date
// scan (the slowest part and unused here), no readability/dom-distiller
// fallback (three parses per page), comments dropped (mostly short,
// off-topic text), and no internal dedup (ours spans the whole run).
var extractOptions = trafilatura.Options{
	ExcludeComments: true,
	HtmlDateMode:    trafilatura.Disabled,
	Focus:           trafilatura.Balanced,
}

// ExtractMainText returns the main text of an HTML page as paragraphs,
// dropping navigation, headers, footers and other boilerplate. A page the
// extractor cannot handle, panics included, is an error, never a crash.
func ExtractMainText(page []byte) (paragraphs []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			paragraphs, err = nil, fmt.Errorf("extract main text: panic: %v", r)
		}
	}()
	var result *trafilatura.ExtractResult
	if utf8.Valid(page) {
		// Valid UTF-8 with high bytes is UTF-8 whatever the page declares,
		// and pure ASCII reads the same in any charset: parse directly and
		// skip the statistical charset detector trafilatura.Extract runs
		// on every page (a seventh of the pipeline's time).
		doc, perr := html.Parse(bytes.NewReader(page))
		if perr != nil {
			return nil, fmt.Errorf("extract main text: %w", perr)
		}
		result, err = trafilatura.ExtractDocument(doc, extractOptions)
	} else {
		result, err = trafilatura.Extract(bytes.NewReader(page), extractOptions)
	}
	if err != nil {
		return nil, fmt.Errorf("extract main text: %w", err)
	}
	if result == nil || result.ContentNode == nil {
		return nil, nil
	}
	// ContentText joins paragraphs with spaces; dedup and language
	// identification work per paragraph, so rebuild the breaks from the
	// block elements of the extracted tree.
	var text strings.Builder
	writeBlockText(&text, result.ContentNode)
	return SplitParagraphs(text.String()), nil
}

// blockElements start a new paragraph; everything else is inline.
var blockElements = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true,
	atom.H5: true, atom.H6: true, atom.Li: true, atom.Ul: true, atom.Ol: true, atom.Dl: true,
	atom.Dt: true, atom.Dd: true, atom.Blockquote: true, atom.Pre: true, atom.Table: true,
	atom.Tr: true, atom.Td: true, atom.Th: true, atom.Figcaption: true, atom.Section: true,
	atom.Article: true, atom.Br: true, atom.Hr: true, atom.Body: true,
}

// writeBlockText writes the text under n with a line break around every
// block element.
func writeBlockText(w *strings.Builder, n *html.Node) {
	switch n.Type {
	case html.TextNode:
		w.WriteString(strings.ReplaceAll(n.Data, "\n", " "))
		return
	case html.ElementNode, html.DocumentNode:
	default:
		return
	}
	block := blockElements[n.DataAtom]
	if block {
		w.WriteByte('\n')
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		writeBlockText(w, c)
	}
	if block {
		w.WriteByte('\n')
	}
}

// SplitParagraphs splits text on line breaks into trimmed paragraphs with
// runs of white space collapsed and invalid UTF-8 replaced, dropping empty
// lines. Plain-text and JSONL inputs go through the same split as extracted
// HTML, so deduplication and the quality model see one unit everywhere.
func SplitParagraphs(text string) []string {
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	var paragraphs []string
	for line := range strings.SplitSeq(text, "\n") {
		if p := strings.Join(strings.Fields(line), " "); p != "" {
			// NFC so that "é" typed as e + combining accent dedupes, hashes
			// and scores like the precomposed one.
			if !norm.NFC.IsNormalString(p) {
				p = norm.NFC.String(p)
			}
			paragraphs = append(paragraphs, p)
		}
	}
	return paragraphs
}

// ParagraphHash is the 64-bit key deduplication uses. It hashes a normalised
// form (lower case, digits folded to 0, punctuation dropped, one space
// between words, as in CCNet) so that paragraphs differing only in dates,
// counters or quoting are still duplicates. 64 bits keep the chance of any
// collision among a billion paragraphs near 3%, each costing one paragraph.
func ParagraphHash(paragraph string) uint64 {
	var digest xxhash.Digest
	digest.Reset()
	var buf [64]byte
	out := buf[:0]
	pendingSpace, started := false, false
	for _, r := range paragraph {
		switch {
		case unicode.IsDigit(r):
			r = '0'
		case unicode.IsLetter(r) || unicode.IsMark(r):
			r = unicode.ToLower(r)
		case unicode.IsSpace(r):
			pendingSpace = true
			continue
		default: // punctuation and symbols
			continue
		}
		if pendingSpace && started {
			out = append(out, ' ')
		}
		pendingSpace, started = false, true
		out = utf8.AppendRune(out, r)
		if len(out) > len(buf)-utf8.UTFMax-1 {
			digest.Write(out)
			out = buf[:0]
		}
	}
	digest.Write(out)
	return digest.Sum64()
}
