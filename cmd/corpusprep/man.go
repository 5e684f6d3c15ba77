package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// groffArgs render man pages to UTF-8 text as man(1) would for a terminal,
// but with 200-column lines and no hyphenation so that paragraphs come out
// whole; -Kutf-8 because Debian's translated pages are UTF-8 and preconv
// would otherwise guess from the locale; -P-c makes grotty mark bold and
// underline with backspace overstrikes (stripped below, as col -b would)
// instead of SGR escapes.
var groffArgs = []string{"-Kutf-8", "-t", "-man", "-Tutf8", "-P-c", "-rHY=0", "-rLL=200n"}

// pageMarker separates pages in one groff run. \% forbids hyphenating it
// in case a page turns hyphenation back on; .br keeps it on its own line.
const pageMarkerWord = "@@NRGRAPHPAGE."

func pageMarker(i int) string {
	return fmt.Sprintf(".br\n\\%%%s%d@@\n.br\n", pageMarkerWord, i)
}

var pageMarkerLine = regexp.MustCompile(`^\s*` + regexp.QuoteMeta(pageMarkerWord) + `(\d+)@@\s*$`)

// stripOverstrikes removes "x\bx" (bold) and "_\bx" (underline) pairs and
// any SGR escape, leaving the visible character.
func stripOverstrikes(s string) string {
	if !strings.ContainsAny(s, "\b\x1b") {
		return s
	}
	runes := []rune(s)
	var b strings.Builder
	for i := 0; i < len(runes); i++ {
		switch {
		case i+1 < len(runes) && runes[i+1] == '\b':
			i++ // drop this rune and the backspace; the next one is kept
		case runes[i] == '\b':
		case runes[i] == '\x1b': // ESC [ parameters final-byte
			j := i + 1
			if j < len(runes) && runes[j] == '[' {
				for j++; j < len(runes) && (runes[j] < 0x40 || runes[j] > 0x7e); j++ {
				}
			}
			i = j
		default:
			b.WriteRune(runes[i])
		}
	}
	return b.String()
}

// manHeadingIndent: groff's man macros put section headings (and the page
// header and footer lines) in the left margin and body text at 7 columns,
// subsection headings at 3.
const manHeadingIndent = 5

// manParagraphs reflows one rendered page: blank lines and headings end a
// paragraph, headings themselves are dropped (NAME, SYNOPSIS, the title
// lines are not prose), and wrapped lines are joined.
func manParagraphs(rendered string) []string {
	var paragraphs, block []string
	flush := func() {
		if len(block) > 0 {
			paragraphs = append(paragraphs, joinLines(block))
			block = block[:0]
		}
	}
	for _, line := range strings.Split(stripOverstrikes(rendered), "\n") {
		trimmed := strings.TrimLeft(line, " ")
		if strings.TrimSpace(trimmed) == "" || len(line)-len(trimmed) < manHeadingIndent {
			flush()
			continue
		}
		block = append(block, trimmed)
	}
	flush()
	return paragraphs
}

// readManSource returns a page's roff source, gunzipped; link pages
// (".so other.1") are skipped by returning "", since the page they name is
// rendered on its own.
func readManSource(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
	}
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte(".so ")) && bytes.Count(bytes.TrimSpace(data), []byte("\n")) == 0 {
		return "", nil
	}
	return string(data), nil
}

// splitRenderedBatch cuts a batch's groff output at the page markers.
// Pages whose marker troff swallowed (a page left inside a diversion or
// macro definition) are missing from the map.
func splitRenderedBatch(output string) map[int]string {
	pages := map[int]string{}
	current := -1
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(output))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := pageMarkerLine.FindStringSubmatch(stripOverstrikes(line)); m != nil {
			if current >= 0 {
				pages[current] = b.String()
			}
			current, _ = strconv.Atoi(m[1])
			b.Reset()
			continue
		}
		if current >= 0 {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	if current >= 0 {
		pages[current] = b.String()
	}
	return pages
}

// renderManBatch renders pages in one groff process: troff's start-up
// (loading the man macros) costs ~50 ms, more than most pages take to
// format, so batching makes the man-page stage ~4x faster.
func renderManBatch(ctx context.Context, sources []string) (map[int]string, error) {
	var input strings.Builder
	for i, src := range sources {
		if src == "" {
			continue
		}
		input.WriteString(pageMarker(i))
		input.WriteString(src)
		if !strings.HasSuffix(src, "\n") {
			input.WriteByte('\n')
		}
	}
	cmd := exec.CommandContext(ctx, "groff", groffArgs...)
	cmd.Stdin = strings.NewReader(input.String())
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	// Warnings about unknown macros are routine in real pages; only the
	// exit status matters.
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("groff: %w", err)
	}
	return splitRenderedBatch(stdout.String()), nil
}

// renderManPages renders every file into one document per page, in input
// order, with batches spread over workers. lost counts pages whose marker
// troff swallowed.
func renderManPages(ctx context.Context, files []string, root string, batchSize, workers int) (docs []document, lost int, err error) {
	type batch struct {
		first int
		pages map[int]string
		err   error
	}
	starts := make(chan int)
	results := make(chan batch)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for first := range starts {
				end := min(first+batchSize, len(files))
				sources := make([]string, end-first)
				var rerr error
				for i := range sources {
					if sources[i], rerr = readManSource(files[first+i]); rerr != nil {
						break
					}
				}
				var pages map[int]string
				if rerr == nil {
					pages, rerr = renderManBatch(ctx, sources)
				}
				for i, src := range sources {
					if src == "" {
						delete(pages, i) // link pages render nothing
					}
				}
				results <- batch{first: first, pages: pages, err: rerr}
			}
		}()
	}
	go func() {
		for first := 0; first < len(files); first += batchSize {
			starts <- first
		}
		close(starts)
		wg.Wait()
		close(results)
	}()
	rendered := make([]string, len(files))
	present := make([]bool, len(files))
	for b := range results {
		if b.err != nil && err == nil {
			err = fmt.Errorf("batch from %s: %w", files[b.first], b.err)
		}
		for i, text := range b.pages {
			rendered[b.first+i], present[b.first+i] = text, true
		}
	}
	if err != nil {
		return nil, 0, err
	}
	for i, path := range files {
		if !present[i] {
			if src, _ := readManSource(path); src != "" {
				lost++
			}
			continue
		}
		if d, ok := newDocument(relativeURL(root, path), manParagraphs(rendered[i])); ok {
			docs = append(docs, d)
		}
	}
	return docs, lost, nil
}

func runMan(args []string) error {
	fs := newFlagSet("man")
	out := fs.String("out", "", "output JSONL")
	root := fs.String("root", "", "package extraction directory (urls are relative to its parent)")
	batchSize := fs.Int("batch", 64, "pages per groff process")
	workers := fs.Int("workers", runtime.NumCPU(), "parallel groff processes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() == 0 || *batchSize < 1 || *workers < 1 {
		return fmt.Errorf("usage: corpusprep man --out FILE.jsonl [--root DIR] [--batch N] [--workers N] PAGE...|@LIST")
	}
	files, err := expandFileList(fs.Args())
	if err != nil {
		return err
	}
	docs, lost, err := renderManPages(context.Background(), files, *root, *batchSize, *workers)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "corpusprep man: %d pages -> %d documents (%d pages lost to troff errors)\n", len(files), len(docs), lost)
	return writeJSONL(*out, docs)
}

// expandFileList replaces "@FILE" arguments by the paths listed in FILE,
// one per line, since a package can hold more pages than a command line.
func expandFileList(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		list, ok := strings.CutPrefix(a, "@")
		if !ok {
			files = append(files, a)
			continue
		}
		data, err := os.ReadFile(list)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				files = append(files, line)
			}
		}
	}
	return files, nil
}
