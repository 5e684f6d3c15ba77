package prep

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/nlnwa/gowarc/v3"
)

// maxPageBytes bounds one page or JSONL line held in memory; crawls contain
// multi-gigabyte "pages" (videos served as text/html) that would otherwise
// stall a worker.
const maxPageBytes = 16 << 20

// inputFormat is how a file's bytes turn into documents.
type inputFormat int

const (
	formatWARC  inputFormat = iota // WARC or WARC.gz (one gzip member per record)
	formatHTML                     // one HTML page per file
	formatText                     // one plain-text document per file, a paragraph per line
	formatJSONL                    // one document per line: {"text": ..., "url": ...}
)

// inputFormatOf picks the format from the file name; ".gz" wraps any format.
func inputFormatOf(path string) (inputFormat, error) {
	name := strings.ToLower(filepath.Base(path))
	name = strings.TrimSuffix(name, ".gz")
	switch filepath.Ext(name) {
	case ".warc", ".arc":
		return formatWARC, nil
	case ".html", ".htm", ".xhtml":
		return formatHTML, nil
	case ".txt", ".text":
		return formatText, nil
	case ".jsonl", ".ndjson", ".json":
		return formatJSONL, nil
	}
	return 0, fmt.Errorf("input %s: unknown file type (want .warc[.gz], .html, .txt or .jsonl, optionally .gz)", path)
}

// ExpandInputs returns the files named by paths in the order given, with each
// directory replaced by its supported files in lexical order. The order is
// what makes --shard and the output order reproducible across machines.
func ExpandInputs(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", p, err)
		}
		if !info.IsDir() {
			if _, err := inputFormatOf(p); err != nil {
				return nil, err
			}
			files = append(files, p)
			continue
		}
		var inDir []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				if _, ferr := inputFormatOf(path); ferr == nil {
					inDir = append(inDir, path)
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", p, err)
		}
		sort.Strings(inDir)
		files = append(files, inDir...)
	}
	return files, nil
}

// ShardFiles keeps every numShards-th file starting at shard: a crawl is
// thousands of WARC files, so splitting by file lets each machine read only
// its own part.
func ShardFiles(files []string, shard, numShards int) []string {
	if numShards <= 1 {
		return files
	}
	var mine []string
	for i, f := range files {
		if i%numShards == shard {
			mine = append(mine, f)
		}
	}
	return mine
}

// rawDocument is one page or text before extraction.
type rawDocument struct {
	source string // file and record position, for error messages
	url    string
	isHTML bool
	body   []byte
}

// readerCounts are the reader's own tallies, kept apart from the ordered
// stage's so neither needs a lock.
type readerCounts struct {
	corrupt  int64            // records or lines that could not be parsed
	tooLarge int64            // pages over maxPageBytes
	skipped  map[string]int64 // WARC records that are not pages, by reason
}

func (c *readerCounts) skip(reason string) {
	if c.skipped == nil {
		c.skipped = map[string]int64{}
	}
	c.skipped[reason]++
}

// countingReader adds every byte read to a shared total for progress output.
type countingReader struct {
	r     io.Reader
	total *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.total.Add(int64(n))
	return n, err
}

// readInputFile streams the documents of one file to emit. Only failing to
// open the file, or emit returning an error, is an error: damaged content is
// counted in counts and skipped.
func readInputFile(path string, bytesRead *atomic.Int64, counts *readerCounts, emit func(rawDocument) error) error {
	format, err := inputFormatOf(path)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("input %s: %w", path, err)
	}
	defer f.Close()
	var r io.Reader = countingReader{r: bufio.NewReaderSize(f, 1<<20), total: bytesRead}
	return readInput(r, path, format, counts, emit)
}

// readInput is readInputFile on an open stream; name labels sources and errors.
func readInput(r io.Reader, name string, format inputFormat, counts *readerCounts, emit func(rawDocument) error) error {
	if format == formatWARC {
		// gowarc detects gzip per record itself: a .warc.gz is a series of
		// gzip members, one per record, and a damaged member must not hide
		// the records after it.
		return readWARC(r, name, counts, emit)
	}
	if strings.HasSuffix(strings.ToLower(name), ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			counts.corrupt++
			return nil
		}
		defer zr.Close()
		r = zr
	}
	switch format {
	case formatHTML, formatText:
		body, err := io.ReadAll(io.LimitReader(r, maxPageBytes+1))
		switch {
		case err != nil:
			counts.corrupt++
			return nil
		case len(body) > maxPageBytes:
			counts.tooLarge++
			return nil
		}
		return emit(rawDocument{source: name, url: name, isHTML: format == formatHTML, body: body})
	case formatJSONL:
		return readJSONL(r, name, counts, emit)
	}
	return fmt.Errorf("input %s: unhandled format %d", name, format)
}

// jsonlDocument is the input and output line shape shared with `nrgraph tokenize`.
type jsonlDocument struct {
	Text string `json:"text"`
	URL  string `json:"url"`
}

func readJSONL(r io.Reader, name string, counts *readerCounts, emit func(rawDocument) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	for lineNo := 1; ; lineNo++ {
		line, tooLong, err := readLine(br, maxPageBytes)
		if tooLong {
			counts.tooLarge++
		} else if len(bytes.TrimSpace(line)) > 0 {
			var doc jsonlDocument
			if jerr := json.Unmarshal(line, &doc); jerr != nil {
				counts.corrupt++
			} else {
				url := doc.URL
				if url == "" {
					url = fmt.Sprintf("%s:%d", name, lineNo)
				}
				if eerr := emit(rawDocument{source: fmt.Sprintf("%s:%d", name, lineNo), url: url, body: []byte(doc.Text)}); eerr != nil {
					return eerr
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			counts.corrupt++ // a truncated .gz ends the file, not the run
			return nil
		}
	}
}

// readLine reads one '\n'-terminated line of at most limit bytes; a longer
// line is consumed and reported as tooLong without being held in memory.
func readLine(br *bufio.Reader, limit int) (line []byte, tooLong bool, err error) {
	for {
		chunk, cerr := br.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > limit {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if cerr != bufio.ErrBufferFull {
			return line, tooLong, cerr
		}
	}
}

// readWARC emits the HTML and plain-text pages of a WARC stream: response
// records (HTTP 200), resource records and conversion records (WET text).
func readWARC(r io.Reader, name string, counts *readerCounts, emit func(rawDocument) error) error {
	// Spec violations are collected as warnings (and ignored) rather than
	// ErrIgnore'd: under ErrIgnore gowarc skips caching a generic block and
	// then discards it, which would empty every WET conversion record.
	warcReader, err := gowarc.NewWarcFileReaderFromStream(r, 0,
		gowarc.WithSyntaxErrorPolicy(gowarc.ErrIgnore),
		gowarc.WithSpecViolationPolicy(gowarc.ErrWarn),
		gowarc.WithUnknownRecordTypePolicy(gowarc.ErrIgnore),
		gowarc.WithBlockErrorPolicy(gowarc.ErrIgnore),
		gowarc.WithBufferMaxMemBytes(maxPageBytes))
	if err != nil {
		return fmt.Errorf("input %s: %w", name, err)
	}
	defer warcReader.Close()
	lastEnd := int64(-1)
	for {
		rec, err := warcReader.Next()
		if err == io.EOF && rec.WarcRecord == nil {
			return nil
		}
		end := rec.Offset + rec.Size
		if err != nil {
			rec.Close()
			counts.corrupt++
			// The reader resynchronises on the next "WARC/" or gzip magic;
			// stop only when it can no longer move forward.
			if end <= lastEnd || errors.Is(err, gowarc.ErrNoRecord) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil
			}
			lastEnd = end
			continue
		}
		lastEnd = end
		if truncatedRecord(rec.Validation) {
			// A plain .warc cut inside a record (a partial download):
			// gowarc hands over what is there, which is not the page.
			rec.Close()
			counts.corrupt++
			continue
		}
		doc, reason := pageOfRecord(rec.WarcRecord)
		rec.Close()
		switch reason {
		case "":
			doc.source = fmt.Sprintf("%s@%d", name, rec.Offset)
			if err := emit(doc); err != nil {
				return err
			}
		case "corrupt":
			counts.corrupt++
		case "too_large":
			counts.tooLarge++
		default:
			counts.skip(reason)
		}
	}
}

// truncatedRecord reports whether a record's validation findings say its
// block is shorter than its Content-Length, or its header was cut before
// Content-Length.
func truncatedRecord(validation []error) bool {
	for _, v := range validation {
		var cl *gowarc.ContentLengthError
		if errors.As(v, &cl) && cl.Actual < cl.Expected {
			return true
		}
		if strings.Contains(v.Error(), "missing required field: "+gowarc.ContentLength) {
			return true
		}
	}
	return false
}

// pageOfRecord returns the page a WARC record carries, or why it carries none.
func pageOfRecord(rec gowarc.WarcRecord) (rawDocument, string) {
	url := rec.WarcHeader().Get(gowarc.WarcTargetURI)
	var body io.Reader
	var contentType string
	switch rec.Type() {
	case gowarc.Response:
		block, ok := rec.Block().(gowarc.HttpResponseBlock)
		if !ok {
			return rawDocument{}, "corrupt" // a response record must carry HTTP
		}
		if block.HttpStatusCode() != http.StatusOK {
			return rawDocument{}, "http_status"
		}
		payload, err := block.PayloadBytes()
		if err != nil {
			return rawDocument{}, "corrupt"
		}
		header := block.HttpHeader()
		if header == nil {
			return rawDocument{}, "corrupt"
		}
		if body, err = decodeHTTPBody(payload, *header); err != nil {
			return rawDocument{}, "content_encoding"
		}
		contentType = header.Get("Content-Type")
	case gowarc.Resource, gowarc.Conversion:
		raw, err := rec.Block().RawBytes()
		if err != nil {
			return rawDocument{}, "corrupt"
		}
		body = raw
		contentType = rec.WarcHeader().Get(gowarc.ContentType)
	default:
		return rawDocument{}, "record_type"
	}
	data, err := io.ReadAll(io.LimitReader(body, maxPageBytes+1))
	if err != nil {
		return rawDocument{}, "corrupt"
	}
	if len(data) > maxPageBytes {
		return rawDocument{}, "too_large"
	}
	if contentType == "" {
		contentType = http.DetectContentType(data)
	}
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType = strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	}
	switch {
	case strings.Contains(mediaType, "html"):
		return rawDocument{url: url, isHTML: true, body: data}, ""
	case mediaType == "text/plain":
		return rawDocument{url: url, body: data}, ""
	}
	return rawDocument{}, "content_type"
}

// decodeHTTPBody undoes the transfer and content encodings a crawler may have
// stored verbatim (Common Crawl keeps chunked and gzip bodies as sent).
func decodeHTTPBody(payload io.Reader, header http.Header) (io.Reader, error) {
	if strings.EqualFold(header.Get("Transfer-Encoding"), "chunked") {
		payload = httputil.NewChunkedReader(payload)
	}
	switch strings.ToLower(strings.TrimSpace(header.Get("Content-Encoding"))) {
	case "", "identity":
		return payload, nil
	case "gzip", "x-gzip":
		return gzip.NewReader(payload)
	case "deflate":
		return flate.NewReader(payload), nil
	}
	return nil, fmt.Errorf("unsupported content encoding %q", header.Get("Content-Encoding"))
}
