package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// document is one line of the JSONL that `nrgraph data prepare` reads:
// paragraphs joined by "\n", and a url naming where it came from
// ("<package>/<path>#<part>"), which the held-out split hashes.
type document struct {
	Text string `json:"text"`
	URL  string `json:"url"`
}

// newDocument joins non-empty paragraphs; ok is false when none is left.
func newDocument(url string, paragraphs []string) (document, bool) {
	kept := paragraphs[:0:0]
	for _, p := range paragraphs {
		if p = strings.TrimSpace(p); p != "" {
			kept = append(kept, p)
		}
	}
	return document{Text: strings.Join(kept, "\n"), URL: url}, len(kept) > 0
}

var spaceRun = regexp.MustCompile(`\s+`)

// joinLines reflows hard-wrapped lines into one paragraph line.
func joinLines(lines []string) string {
	return strings.TrimSpace(spaceRun.ReplaceAllString(strings.Join(lines, " "), " "))
}

// writeJSONL writes docs atomically (temp file + rename), so an interrupted
// build never leaves a truncated stage output that a resumed run would trust.
func writeJSONL(path string, docs []document) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			tmp.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	// CreateTemp makes the file private; outputs (and committed samples) are not.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// readJSONL reads documents, naming the line of a malformed one.
func readJSONL(path string) ([]document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var docs []document
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	for line := 1; sc.Scan(); line++ {
		var d document
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			return nil, fmt.Errorf("read %s:%d: %w", path, line, err)
		}
		docs = append(docs, d)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return docs, nil
}

// relativeURL names a file by its path under root (the directory the
// package was extracted into, whose last element is the package name).
func relativeURL(root, path string) string {
	if root == "" {
		return filepath.ToSlash(path)
	}
	rel, err := filepath.Rel(filepath.Dir(filepath.Clean(root)), path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(rel)
}

// runFileConverter is the command line of the converters that turn each
// named file into documents, all written to one JSONL.
func runFileConverter(name, inputs string, args []string, convert func(path, root string) ([]document, error)) error {
	fs := newFlagSet(name)
	out := fs.String("out", "", "output JSONL")
	root := fs.String("root", "", "package extraction directory (urls are relative to its parent)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() == 0 {
		return fmt.Errorf("usage: corpusprep %s --out FILE.jsonl [--root DIR] %s", name, inputs)
	}
	var all []document
	for _, path := range fs.Args() {
		docs, err := convert(path, *root)
		if err != nil {
			return err
		}
		all = append(all, docs...)
	}
	return writeJSONL(*out, all)
}
