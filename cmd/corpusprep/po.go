package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// poMessage is one PO entry: the source string and its translations
// (msgstr, or msgstr[0..n] for plural forms).
type poMessage struct {
	Context, ID  string
	Translations []string
}

// unquotePO decodes one C-style quoted PO string.
func unquotePO(s string) (string, error) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", fmt.Errorf("not a quoted string: %.40q", s)
	}
	s = s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		default: // \" \\ and anything unknown: the character itself
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}

// parsePO reads PO text as msgunfmt writes it: keywords followed by quoted
// strings, continued by further quoted lines; comments are skipped.
func parsePO(r io.Reader, name string) ([]poMessage, error) {
	var msgs []poMessage
	var cur poMessage
	var field *string // where continuation lines go
	started := false
	flush := func() {
		if started {
			msgs = append(msgs, cur)
		}
		cur, field, started = poMessage{}, nil, false
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		keyword, quoted, _ := strings.Cut(text, " ")
		if strings.HasPrefix(text, `"`) {
			keyword, quoted = "", text
		}
		value, err := unquotePO(strings.TrimSpace(quoted))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		switch {
		case keyword == "":
			if field == nil {
				return nil, fmt.Errorf("%s:%d: string outside an entry", name, line)
			}
			*field += value
		case keyword == "msgctxt":
			flush()
			started, cur.Context = true, value
			field = &cur.Context
		case keyword == "msgid":
			if started && cur.ID != "" || len(cur.Translations) > 0 {
				flush()
			}
			started, cur.ID = true, value
			field = &cur.ID
		case keyword == "msgid_plural":
			field = new(string) // the English plural is not needed
		case keyword == "msgstr" || strings.HasPrefix(keyword, "msgstr["):
			if !started {
				return nil, fmt.Errorf("%s:%d: %s without msgid", name, line, keyword)
			}
			cur.Translations = append(cur.Translations, value)
			field = &cur.Translations[len(cur.Translations)-1]
		default:
			return nil, fmt.Errorf("%s:%d: unknown keyword %q", name, line, keyword)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	flush()
	return msgs, nil
}

var (
	// markupTag covers Wesnoth help markup (<ref>, <bold>) and HTML in strings.
	markupTag = regexp.MustCompile(`</?[a-zA-Z][^<>]{0,200}>`)
	// markupAttribute is Wesnoth's <ref>dst='unit' text='shown'</ref>: only
	// a text attribute is prose.
	markupAttribute = regexp.MustCompile(`\b([a-z_]+)='([^']*)'`)
	// placeholder covers printf and Wesnoth "$var" substitutions.
	placeholder = regexp.MustCompile(`%[-+ #0-9.]*[sdifuxXc%]|\$[a-zA-Z_][a-zA-Z_0-9.|]*`)
)

// messageParagraphs turns a translation into prose paragraphs: one per
// line, markup and placeholders removed, and lines shorter than minWords
// words dropped, since UI labels ("Ouvrir", "Annuler") are not sentences
// and too short for reliable language identification.
func messageParagraphs(msgstr string, minWords int) []string {
	var out []string
	for _, line := range strings.Split(msgstr, "\n") {
		line = markupAttribute.ReplaceAllStringFunc(line, func(attr string) string {
			if m := markupAttribute.FindStringSubmatch(attr); m[1] == "text" {
				return m[2]
			}
			return ""
		})
		line = markupTag.ReplaceAllString(line, " ")
		line = placeholder.ReplaceAllString(line, "")
		line = joinLines([]string{line})
		if len(strings.Fields(line)) >= minWords {
			out = append(out, line)
		}
	}
	return out
}

// catalogueDocuments groups the prose of consecutive messages into
// documents of about docBytes, so that a catalogue yields many documents
// for the document-level held-out split.
func catalogueDocuments(urlBase string, msgs []poMessage, minWords, docBytes int) []document {
	var docs []document
	var paragraphs []string
	size, part := 0, 0
	flush := func() {
		if d, ok := newDocument(fmt.Sprintf("%s#%d", urlBase, part), paragraphs); ok {
			docs = append(docs, d)
			part++
		}
		paragraphs, size = nil, 0
	}
	for _, m := range msgs {
		if m.ID == "" { // the header entry
			continue
		}
		seen := map[string]bool{}
		for _, t := range m.Translations {
			for _, p := range messageParagraphs(t, minWords) {
				if seen[p] {
					continue
				}
				seen[p] = true
				paragraphs = append(paragraphs, p)
				size += len(p) + 1
			}
		}
		if size >= docBytes {
			flush()
		}
	}
	flush()
	return docs
}

func runPO(args []string) error {
	fs := newFlagSet("po")
	out := fs.String("out", "", "output JSONL")
	url := fs.String("url", "", "url prefix of the documents (the .mo file's package path)")
	minWords := fs.Int("min-words", 4, "drop translated lines with fewer words")
	docBytes := fs.Int("doc-bytes", 4000, "approximate document size")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 1 {
		return fmt.Errorf("usage: corpusprep po --out FILE.jsonl --url PKG/PATH.mo FILE.po|-")
	}
	var r io.Reader = os.Stdin
	name := "stdin"
	if fs.Arg(0) != "-" {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		r, name = f, fs.Arg(0)
	}
	msgs, err := parsePO(r, name)
	if err != nil {
		return err
	}
	if *url == "" {
		*url = name
	}
	return writeJSONL(*out, catalogueDocuments(*url, msgs, *minWords, *docBytes))
}
