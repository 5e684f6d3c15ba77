package main

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// R serialization (R Internals, "Serialization formats"), XDR flavour, only
// as far as a lazy-load index and character-vector data sets need.
const (
	rSymbol      = 1
	rPairList    = 2
	rChar        = 9
	rLogical     = 10
	rInt         = 13
	rReal        = 14
	rString      = 16
	rList        = 19
	rRef         = 255
	rNilValue    = 254
	rGlobalEnv   = 253
	rUnbound     = 252
	rMissingArg  = 251
	rBaseNS      = 247
	rEmptyEnv    = 242
	rBaseEnv     = 241
	rAttrBit     = 1 << 9
	rTagBit      = 1 << 10
	rMaxElements = 1 << 28 // a corrupt length must not allocate gigabytes
)

// rValue is a decoded R object. Strings holds STRSXP elements (NA as ""),
// Ints INTSXP/LGLSXP, Items VECSXP elements or pairlist values (with Tags).
type rValue struct {
	Type    int
	Symbol  string
	Strings []string
	Ints    []int32
	Items   []*rValue
	Tags    []string
	Names   []string // the "names" attribute
}

type rReader struct {
	r    io.Reader
	refs []*rValue
}

func (rr *rReader) int() (int32, error) {
	var b [4]byte
	if _, err := io.ReadFull(rr.r, b[:]); err != nil {
		return 0, err
	}
	return int32(binary.BigEndian.Uint32(b[:])), nil
}

func (rr *rReader) length() (int, error) {
	n, err := rr.int()
	if err != nil {
		return 0, err
	}
	if n == -1 { // long vector: two more words
		hi, err := rr.int()
		if err != nil {
			return 0, err
		}
		lo, err := rr.int()
		if err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("long vector (%d:%d) not supported", hi, lo)
	}
	if n < 0 || n > rMaxElements {
		return 0, fmt.Errorf("bad length %d", n)
	}
	return int(n), nil
}

// unserializeR decodes one serialized R object ("X\n" header, XDR).
func unserializeR(data []byte) (*rValue, error) {
	if !bytes.HasPrefix(data, []byte("X\n")) {
		return nil, fmt.Errorf("not XDR R serialization (header %q)", data[:min(2, len(data))])
	}
	rr := &rReader{r: bytes.NewReader(data[2:])}
	version, err := rr.int()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if _, err := rr.int(); err != nil { // writer's R version
		return nil, fmt.Errorf("header: %w", err)
	}
	if _, err := rr.int(); err != nil { // minimal reader version
		return nil, fmt.Errorf("header: %w", err)
	}
	if version == 3 { // native encoding name
		n, err := rr.length()
		if err != nil {
			return nil, fmt.Errorf("header: %w", err)
		}
		if _, err := io.CopyN(io.Discard, rr.r, int64(n)); err != nil {
			return nil, fmt.Errorf("header: %w", err)
		}
	} else if version != 2 {
		return nil, fmt.Errorf("serialization version %d not supported", version)
	}
	return rr.item(0)
}

// item reads one serialized R object: its flags word, then the body its type
// calls for. Only vectors go on to read attributes here; the other types
// return from their own reader.
func (rr *rReader) item(depth int) (*rValue, error) {
	if depth > 1000 {
		return nil, fmt.Errorf("nesting deeper than 1000")
	}
	flags, err := rr.int()
	if err != nil {
		return nil, err
	}
	typ := int(flags & 0xff)
	v := &rValue{Type: typ}
	switch typ {
	case rNilValue, rGlobalEnv, rUnbound, rMissingArg, rBaseNS, rEmptyEnv, rBaseEnv:
		return v, nil
	case rRef:
		return rr.reference(flags)
	case rSymbol:
		return rr.symbol(v, depth)
	case rPairList:
		return rr.pairList(v, flags, depth)
	case rChar:
		return rr.charsxp(v)
	case rString, rList, rInt, rLogical, rReal:
		if err := rr.vectorElements(v, depth); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("R type %d not supported", typ)
	}
	if flags&rAttrBit != 0 {
		if err := rr.namesAttribute(v, depth); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// reference resolves a REFSXP to an earlier symbol; the index sits in the
// flags' upper bits, or in the next word when it does not fit there.
func (rr *rReader) reference(flags int32) (*rValue, error) {
	i := int(flags >> 8)
	if i == 0 {
		n, err := rr.int()
		if err != nil {
			return nil, err
		}
		i = int(n)
	}
	if i < 1 || i > len(rr.refs) {
		return nil, fmt.Errorf("reference %d of %d", i, len(rr.refs))
	}
	return rr.refs[i-1], nil
}

// symbol reads a SYMSXP's name and records it so later references find it.
func (rr *rReader) symbol(v *rValue, depth int) (*rValue, error) {
	name, err := rr.item(depth + 1)
	if err != nil {
		return nil, fmt.Errorf("symbol: %w", err)
	}
	if len(name.Strings) == 1 {
		v.Symbol = name.Strings[0]
	}
	rr.refs = append(rr.refs, v)
	return v, nil
}

// pairList reads a LISTSXP whose first cell's flags are already read.
func (rr *rReader) pairList(v *rValue, flags int32, depth int) (*rValue, error) {
	// A pairlist is a chain of cells (attr?, tag?, car); cdr is the
	// next cell, read iteratively so long lists do not recurse.
	for cell := flags; ; {
		if cell&rAttrBit != 0 {
			if _, err := rr.item(depth + 1); err != nil {
				return nil, err
			}
		}
		tag := ""
		if cell&rTagBit != 0 {
			t, err := rr.item(depth + 1)
			if err != nil {
				return nil, err
			}
			tag = t.Symbol
		}
		car, err := rr.item(depth + 1)
		if err != nil {
			return nil, err
		}
		v.Tags, v.Items = append(v.Tags, tag), append(v.Items, car)
		if cell, err = rr.int(); err != nil {
			return nil, err
		}
		if cell&0xff == rNilValue {
			return v, nil
		}
		if cell&0xff != rPairList {
			return nil, fmt.Errorf("pairlist continued by type %d", cell&0xff)
		}
	}
}

// charsxp reads one CHARSXP (a single string, the element of a character
// vector) into v.Strings.
func (rr *rReader) charsxp(v *rValue) (*rValue, error) {
	n, err := rr.int()
	if err != nil {
		return nil, err
	}
	if n == -1 { // NA_character_
		v.Strings = []string{""}
		return v, nil
	}
	if n < 0 || n > rMaxElements {
		return nil, fmt.Errorf("bad string length %d", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(rr.r, b); err != nil {
		return nil, err
	}
	v.Strings = []string{string(b)}
	return v, nil
}

// vectorElements reads the length and elements of a STRSXP, VECSXP, INTSXP,
// LGLSXP or REALSXP into v. Reals are skipped: no data set we read needs them.
func (rr *rReader) vectorElements(v *rValue, depth int) error {
	typ := v.Type
	n, err := rr.length()
	if err != nil {
		return fmt.Errorf("type %d: %w", typ, err)
	}
	for i := 0; i < n; i++ {
		switch typ {
		case rString, rList:
			e, err := rr.item(depth + 1)
			if err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
			if typ == rString {
				if len(e.Strings) != 1 {
					return fmt.Errorf("element %d of a character vector has type %d", i, e.Type)
				}
				v.Strings = append(v.Strings, e.Strings[0])
			} else {
				v.Items = append(v.Items, e)
			}
		case rReal:
			if _, err := rr.int(); err != nil {
				return err
			}
			if _, err := rr.int(); err != nil {
				return err
			}
		default:
			x, err := rr.int()
			if err != nil {
				return err
			}
			v.Ints = append(v.Ints, x)
		}
	}
	return nil
}

// namesAttribute reads v's attribute pairlist and keeps only "names", which
// is how a named list (the lazy-load index) maps names to elements.
func (rr *rReader) namesAttribute(v *rValue, depth int) error {
	attrs, err := rr.item(depth + 1)
	if err != nil {
		return fmt.Errorf("attributes: %w", err)
	}
	for i, tag := range attrs.Tags {
		if tag == "names" {
			v.Names = attrs.Items[i].Strings
		}
	}
	return nil
}

// field returns the element of a named list.
func (v *rValue) field(name string) *rValue {
	for i, n := range v.Names {
		if n == name && i < len(v.Items) {
			return v.Items[i]
		}
	}
	return nil
}

// readLazyLoadDB reads every variable of an R lazy-load database
// (NAME.rdx: gzip-compressed serialized index of {variables: name ->
// (offset, length)}; NAME.rdb: blobs of 4-byte big-endian size + zlib).
func readLazyLoadDB(rdxPath, rdbPath string) (names []string, values []*rValue, err error) {
	rdx, err := os.ReadFile(rdxPath)
	if err != nil {
		return nil, nil, err
	}
	if bytes.HasPrefix(rdx, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(rdx))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", rdxPath, err)
		}
		if rdx, err = io.ReadAll(zr); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", rdxPath, err)
		}
	}
	index, err := unserializeR(rdx)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", rdxPath, err)
	}
	vars := index.field("variables")
	if vars == nil {
		return nil, nil, fmt.Errorf("%s: no 'variables' in the index", rdxPath)
	}
	if c := index.field("compressed"); c != nil && len(c.Ints) == 1 && c.Ints[0] != 1 && c.Ints[0] != 0 {
		return nil, nil, fmt.Errorf("%s: compression %d (bzip2/xz) not supported, only zlib", rdxPath, c.Ints[0])
	}
	rdb, err := os.ReadFile(rdbPath)
	if err != nil {
		return nil, nil, err
	}
	for i, name := range vars.Names {
		pos := vars.Items[i]
		if len(pos.Ints) != 2 {
			return nil, nil, fmt.Errorf("%s: variable %q: want (offset, length), got %d ints", rdxPath, name, len(pos.Ints))
		}
		off, n := int64(pos.Ints[0]), int64(pos.Ints[1])
		if off < 0 || n < 4 || off+n > int64(len(rdb)) {
			return nil, nil, fmt.Errorf("%s: variable %q: [%d,+%d) outside %d bytes", rdbPath, name, off, n, len(rdb))
		}
		blob := rdb[off : off+n]
		zr, err := zlib.NewReader(bytes.NewReader(blob[4:]))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: variable %q: %w", rdbPath, name, err)
		}
		data, err := io.ReadAll(io.LimitReader(zr, int64(binary.BigEndian.Uint32(blob[:4]))+1))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: variable %q: %w", rdbPath, name, err)
		}
		v, err := unserializeR(data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: variable %q: %w", rdbPath, name, err)
		}
		names, values = append(names, name), append(values, v)
	}
	return names, values, nil
}

// chapterHeading matches "CHAPTER 1", "Chapter IV", "CHAPTER XII." lines.
var chapterHeading = regexp.MustCompile(`(?i)^\s*chapter\s+([0-9]+|[ivxlc]+)\b\.?\s*$`)

// bookDocuments splits a book stored as one string per line (blank lines
// between paragraphs, as in janeaustenr) into one document per chapter, so
// the held-out set has many documents rather than six giant ones.
func bookDocuments(urlBase string, lines []string) []document {
	var docs []document
	var paragraphs, block []string
	part := 0
	flushParagraph := func() {
		if len(block) > 0 {
			paragraphs = append(paragraphs, joinLines(block))
			block = block[:0]
		}
	}
	flushChapter := func() {
		flushParagraph()
		if d, ok := newDocument(fmt.Sprintf("%s/%d", urlBase, part), paragraphs); ok {
			docs = append(docs, d)
		}
		paragraphs = paragraphs[:0]
		part++
	}
	for _, line := range lines {
		switch {
		case chapterHeading.MatchString(line):
			flushChapter()
		case strings.TrimSpace(line) == "":
			flushParagraph()
		default:
			block = append(block, line)
		}
	}
	flushChapter()
	return docs
}

func runRData(args []string) error {
	return runFileConverter("rdata", "DIR/Rdata.rdx...", args, func(rdx, root string) ([]document, error) {
		rdb := strings.TrimSuffix(rdx, ".rdx") + ".rdb"
		names, values, err := readLazyLoadDB(rdx, rdb)
		if err != nil {
			return nil, err
		}
		var docs []document
		for i, name := range names {
			if values[i].Type == rString { // only character vectors are text
				docs = append(docs, bookDocuments(relativeURL(root, rdb)+"#"+name, values[i].Strings)...)
			}
		}
		return docs, nil
	})
}
