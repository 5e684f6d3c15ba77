package evaltasks

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
)

// parseFunc turns one upstream file into a Task; name is the file name used
// in error messages and to derive the task name.
type parseFunc func(r io.Reader, name string) (*Task, error)

// loadFile opens path and hands it to parse; every loader goes through here so
// that errors always start with the file name.
func loadFile(path string, parse parseFunc) (*Task, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".parquet", ".arrow":
		return nil, fmt.Errorf("load task %s: %s files are not read; write the split as JSONL with the datasets library, e.g. "+
			`python3 -c 'import datasets; datasets.load_dataset("allenai/ai2_arc", "ARC-Challenge", split="test").to_json("ARC-Challenge-test.jsonl")'`, path, ext)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load task: %w", err)
	}
	defer f.Close()
	task, err := parse(f, path)
	if err != nil {
		return nil, err
	}
	task.Source = path
	return task, nil
}

// lineError names the file and 1-based line of a bad record.
type lineError struct {
	File string
	Line int
	Err  error
}

func (e *lineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *lineError) Unwrap() error { return e.Err }

// forEachJSONRecord calls fn with each record of a JSON-lines file, or of a
// file holding one top-level JSON array (the form some translated releases,
// e.g. Okapi's, use). Blank lines are skipped. Any error from fn or from
// decoding is reported with the record's starting line.
func forEachJSONRecord(r io.Reader, name string, fn func(raw []byte) error) error {
	br := bufio.NewReader(r)
	// Files re-saved by spreadsheet tools and some translation pipelines start
	// with a UTF-8 byte-order mark, which JSON does not allow.
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	first, err := peekNonSpace(br)
	if err == io.EOF {
		return fmt.Errorf("%s: no records", name)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if first == '[' {
		return forEachArrayElement(br, name, fn)
	}
	count := 0
	for line := 1; ; line++ {
		text, readErr := br.ReadBytes('\n')
		if readErr != nil && readErr != io.EOF {
			return fmt.Errorf("%s:%d: %w", name, line, readErr)
		}
		if trimmed := bytes.TrimSpace(text); len(trimmed) > 0 {
			if !json.Valid(trimmed) {
				return &lineError{name, line, errors.New("not a JSON object")}
			}
			if err := fn(trimmed); err != nil {
				return &lineError{name, line, err}
			}
			count++
		}
		if readErr == io.EOF {
			break
		}
	}
	if count == 0 {
		return fmt.Errorf("%s: no records", name)
	}
	return nil
}

// collectJSONDocs fills task.Docs with one Doc per JSON record; toDoc may
// read len(task.Docs) as the record's position.
func collectJSONDocs(r io.Reader, name string, task *Task, toDoc func(raw []byte) (Doc, error)) (*Task, error) {
	err := forEachJSONRecord(r, name, func(raw []byte) error {
		doc, err := toDoc(raw)
		if err != nil {
			return err
		}
		task.Docs = append(task.Docs, doc)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return task, nil
}

// forEachArrayElement reads a top-level JSON array element by element,
// translating decoder offsets into line numbers for error messages.
func forEachArrayElement(r io.Reader, name string, fn func(raw []byte) error) error {
	var all bytes.Buffer
	if _, err := all.ReadFrom(r); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	data := all.Bytes()
	lineAt := func(offset int64) int { return 1 + bytes.Count(data[:min(int(offset), len(data))], []byte{'\n'}) }
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // the opening '['
		return &lineError{name, 1, err}
	}
	count := 0
	for dec.More() {
		start := dec.InputOffset()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return &lineError{name, lineAt(start), err}
		}
		// InputOffset points just past the previous token (maybe a comma);
		// skip whitespace and the comma to name the element's own line.
		for start < int64(len(data)) && (data[start] == ',' || unicode.IsSpace(rune(data[start]))) {
			start++
		}
		if err := fn(raw); err != nil {
			return &lineError{name, lineAt(start), err}
		}
		count++
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return &lineError{name, lineAt(dec.InputOffset()), err}
	}
	if count == 0 {
		return fmt.Errorf("%s: no records", name)
	}
	return nil
}

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if !unicode.IsSpace(rune(b)) {
			return b, br.UnreadByte()
		}
	}
}

// requireFields returns an error naming the first field whose pointer is nil.
// Fields are given as name, pointer pairs so the message names the upstream
// field exactly as it is spelled in the file.
func requireFields(fields ...any) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if isNilPointer(fields[i+1]) {
			return fmt.Errorf("missing field %q", fields[i])
		}
	}
	return nil
}

func isNilPointer(v any) bool {
	switch p := v.(type) {
	case *string:
		return p == nil
	case *json.RawMessage:
		return p == nil
	case []string:
		return p == nil
	default:
		panic(fmt.Sprintf("requireFields: unsupported field type %T", v))
	}
}

// flexibleIndex reads an integer written either as a JSON number or as a
// string: HellaSwag's release uses numbers, Okapi's translation " 2", and
// Belebele "2".
func flexibleIndex(raw json.RawMessage) (int, error) {
	var n int
	if err := json.Unmarshal(raw, &n); err == nil {
		return n, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, fmt.Errorf("not an integer: %s", raw)
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("not an integer: %q", s)
	}
	return n, nil
}

// checkGold validates a gold index against the number of choices.
func checkGold(gold, numChoices int) error {
	if numChoices == 0 {
		return errors.New("no choices")
	}
	if gold < 0 || gold >= numChoices {
		return fmt.Errorf("label %d out of range for %d choices", gold, numChoices)
	}
	return nil
}

// pyStrip matches Python's str.strip(): Python's whitespace is Unicode
// White_Space plus the ASCII separators U+001C..U+001F, which Go's
// unicode.IsSpace leaves out.
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
	})
}

// pyCapitalize matches Python's str.capitalize() as the harness's HellaSwag
// preprocessing uses it: first character titlecased and — easy to miss — the
// REST LOWERCASED. Python's full case mappings (ß -> Ss, İ -> i̇) are not
// reproduced; they do not occur in the released HellaSwag files.
func pyCapitalize(s string) string {
	for i, r := range s {
		return string(unicode.ToTitle(r)) + strings.ToLower(s[i+len(string(r)):])
	}
	return s
}

// letteredQuery renders the lettered multiple-choice layout shared by the
// harness's MMLU, CommonsenseQA and Belebele templates:
// stem, then "\n{label}{sep}{option}" per option, then "\nAnswer:".
func letteredQuery(stem string, labels, options []string, sep string) string {
	var b strings.Builder
	b.WriteString(stem)
	for i, option := range options {
		b.WriteString("\n")
		b.WriteString(labels[i])
		b.WriteString(sep)
		b.WriteString(option)
	}
	b.WriteString("\nAnswer:")
	return b.String()
}

// letters returns "A", "B", ... for n options.
func letters(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = string(rune('A' + i))
	}
	return out
}
