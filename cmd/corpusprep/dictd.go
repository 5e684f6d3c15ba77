package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// dictdDigits is the dictd index alphabet: offsets and lengths are numbers
// written in base 64 with these digits (not RFC 4648 base64 of bytes).
const dictdDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// dictdEntry is one line of a dictd .index file.
type dictdEntry struct {
	Headword       string
	Offset, Length int64
}

func decodeDictdNumber(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("empty number")
	}
	var n int64
	for _, c := range []byte(s) {
		d := strings.IndexByte(dictdDigits, c)
		if d < 0 {
			return 0, fmt.Errorf("bad digit %q in %q", c, s)
		}
		if n > (1<<62)/64 {
			return 0, fmt.Errorf("number %q overflows", s)
		}
		n = n*64 + int64(d)
	}
	return n, nil
}

// parseDictdIndex reads "headword\toffset\tlength" lines. Several headwords
// may point at one entry; the caller dedups by offset.
func parseDictdIndex(r io.Reader, name string) ([]dictdEntry, error) {
	var entries []dictdEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) < 3 {
			return nil, fmt.Errorf("%s:%d: want 3 tab-separated fields, got %d", name, line, len(fields))
		}
		off, err := decodeDictdNumber(fields[1])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: offset: %w", name, line, err)
		}
		length, err := decodeDictdNumber(fields[2])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: length: %w", name, line, err)
		}
		entries = append(entries, dictdEntry{Headword: fields[0], Offset: off, Length: length})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return entries, nil
}

var (
	// dictdDateLine is FOLDOC's "(1995-01-19)" last-edit stamp: metadata, not prose.
	dictdDateLine = regexp.MustCompile(`^\(\d{4}-\d{2}-\d{2}\)$`)
	// dictdCategory is FOLDOC's "<language, education>" subject tag.
	dictdCategory = regexp.MustCompile(`<[^<>]{1,60}>`)
)

// dictdParagraphs turns an entry body into paragraphs: blank lines separate
// paragraphs, wrapped lines are joined, and the {cross-reference} braces of
// FOLDOC and the Jargon File are dropped (after joining, because a brace
// pair may span a line break).
func dictdParagraphs(body string) []string {
	var paragraphs, block []string
	flush := func() {
		if len(block) == 0 {
			return
		}
		p := joinLines(block)
		block = block[:0]
		p = strings.NewReplacer("{", "", "}", "").Replace(p)
		p = strings.TrimSpace(dictdCategory.ReplaceAllString(p, ""))
		p = joinLines([]string{p})
		if p != "" && !dictdDateLine.MatchString(p) {
			paragraphs = append(paragraphs, p)
		}
	}
	for _, line := range strings.Split(body, "\n") {
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		block = append(block, line)
	}
	flush()
	return paragraphs
}

// readDictd returns one document per entry of a dictd database, skipping
// the 00-database-* metadata entries.
func readDictd(indexPath, dictPath, urlBase string) ([]document, error) {
	idx, err := os.Open(indexPath)
	if err != nil {
		return nil, err
	}
	defer idx.Close()
	entries, err := parseDictdIndex(idx, indexPath)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(dictPath)
	if err != nil {
		return nil, err
	}
	// A .dz is dictzip, which is gzip with a random-access table in the
	// extra field: the plain gzip reader decodes it whole.
	if bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", dictPath, err)
		}
		if raw, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("%s: %w", dictPath, err)
		}
	}
	seen := map[int64]bool{}
	var docs []document
	for _, e := range entries {
		if strings.HasPrefix(e.Headword, "00-database") || strings.HasPrefix(e.Headword, "00database") || seen[e.Offset] {
			continue
		}
		seen[e.Offset] = true
		if e.Offset+e.Length > int64(len(raw)) {
			return nil, fmt.Errorf("%s: entry %q [%d,+%d) past the end of %s (%d bytes)", indexPath, e.Headword, e.Offset, e.Length, dictPath, len(raw))
		}
		if d, ok := newDocument(urlBase+"#"+e.Headword, dictdParagraphs(string(raw[e.Offset:e.Offset+e.Length]))); ok {
			docs = append(docs, d)
		}
	}
	return docs, nil
}

func runDictd(args []string) error {
	return runFileConverter("dictd", "NAME.index...", args, func(index, root string) ([]document, error) {
		dict := strings.TrimSuffix(index, ".index") + ".dict.dz"
		if _, err := os.Stat(dict); err != nil {
			dict = strings.TrimSuffix(dict, ".dz")
		}
		return readDictd(index, dict, relativeURL(root, dict))
	})
}
