package prep

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readAll collects what readInput emits from data.
func readAll(t testing.TB, name string, data []byte) ([]rawDocument, readerCounts) {
	format, err := inputFormatOf(name)
	require.NoError(t, err)
	var docs []rawDocument
	var counts readerCounts
	err = readInput(bytes.NewReader(data), name, format, &counts, func(d rawDocument) error {
		docs = append(docs, d)
		return nil
	})
	require.NoError(t, err)
	return docs, counts
}

var sampleRecords = []warcRecord{
	{recordType: "warcinfo", url: "", contentType: "application/warc-fields", body: "software: test\r\n"},
	{recordType: "request", url: "http://a.example/", contentType: "application/http; msgtype=request", body: "GET / HTTP/1.1\r\n\r\n"},
	{recordType: "response", url: "http://a.example/", status: 200, contentType: "text/html; charset=utf-8", body: "<html><body><p>Bonjour</p></body></html>"},
	{recordType: "response", url: "http://a.example/moved", status: 301, contentType: "text/html", body: "moved"},
	{recordType: "response", url: "http://a.example/logo.png", status: 200, contentType: "image/png", body: "\x89PNG"},
	{recordType: "response", url: "http://a.example/notes.txt", status: 200, contentType: "text/plain", body: "une ligne\nune autre"},
	{recordType: "conversion", url: "http://b.example/", contentType: "text/plain", body: "texte converti"},
}

func TestReadWARC(t *testing.T) {
	for _, tc := range []struct {
		name string
		gz   bool
	}{{"crawl.warc", false}, {"crawl.warc.gz", true}} {
		t.Run(tc.name, func(t *testing.T) {
			docs, counts := readAll(t, tc.name, warcBytes(t, tc.gz, sampleRecords...))
			require.Len(t, docs, 3)
			assert.Equal(t, "http://a.example/", docs[0].url)
			assert.True(t, docs[0].isHTML)
			assert.Equal(t, "<html><body><p>Bonjour</p></body></html>", string(docs[0].body))
			assert.Equal(t, "http://a.example/notes.txt", docs[1].url)
			assert.False(t, docs[1].isHTML)
			assert.Equal(t, "texte converti", string(docs[2].body))
			assert.Equal(t, map[string]int64{"record_type": 2, "http_status": 1, "content_type": 1}, counts.skipped)
			assert.Zero(t, counts.corrupt)
		})
	}
}

// A damaged record in the middle is counted and the records after it are
// still read, in both plain and gzip-member WARCs.
func TestReadWARCSkipsCorruptRecord(t *testing.T) {
	good1 := warcRecord{recordType: "response", url: "http://a.example/1", status: 200, contentType: "text/html", body: "<p>un</p>"}
	good2 := warcRecord{recordType: "response", url: "http://a.example/2", status: 200, contentType: "text/html", body: "<p>deux</p>"}
	for _, tc := range []struct {
		name    string
		gz      bool
		garbage []byte
	}{
		// A response record whose block is no HTTP response.
		{"crawl.warc", false, []byte("WARC/1.1\r\nWARC-Type: response\r\nContent-Type: application/http; msgtype=response\r\n" +
			"Content-Length: 9\r\n\r\ngarbage!!\r\n\r\n")},
		// A gzip member whose deflate stream opens with the reserved block
		// type 11, so it fails at once instead of swallowing what follows.
		{"crawl.warc.gz", true, []byte{0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff, 0x07, 0x00}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := append(warcBytes(t, tc.gz, good1), tc.garbage...)
			data = append(data, warcBytes(t, tc.gz, good2)...)
			docs, counts := readAll(t, tc.name, data)
			var urls []string
			for _, d := range docs {
				urls = append(urls, d.url)
			}
			assert.Equal(t, []string{"http://a.example/1", "http://a.example/2"}, urls)
			assert.GreaterOrEqual(t, counts.corrupt, int64(1))
		})
	}
}

func TestReadJSONLCountsBadLines(t *testing.T) {
	data := []byte("{\"text\":\"premier\",\"url\":\"u1\"}\nnot json\n\n{\"text\":\"second\"}\n")
	docs, counts := readAll(t, "docs.jsonl", data)
	require.Len(t, docs, 2)
	assert.Equal(t, "u1", docs[0].url)
	assert.Equal(t, "docs.jsonl:4", docs[1].url)
	assert.Equal(t, "second", string(docs[1].body))
	assert.Equal(t, int64(1), counts.corrupt)
}

func TestInputFormatOf(t *testing.T) {
	for _, tc := range []struct {
		path string
		want inputFormat
		ok   bool
	}{
		{"a/CC-MAIN-1.warc.gz", formatWARC, true},
		{"x.WARC", formatWARC, true},
		{"page.html", formatHTML, true},
		{"page.htm.gz", formatHTML, true},
		{"doc.txt", formatText, true},
		{"docs.jsonl.gz", formatJSONL, true},
		{"model.bin", 0, false},
	} {
		got, err := inputFormatOf(tc.path)
		if !tc.ok {
			assert.Error(t, err, tc.path)
			continue
		}
		require.NoError(t, err, tc.path)
		assert.Equal(t, tc.want, got, tc.path)
	}
}

func TestShardFiles(t *testing.T) {
	files := []string{"a", "b", "c", "d", "e"}
	assert.Equal(t, []string{"a", "c", "e"}, ShardFiles(files, 0, 2))
	assert.Equal(t, []string{"b", "d"}, ShardFiles(files, 1, 2))
	assert.Equal(t, files, ShardFiles(files, 0, 1))
}

// FuzzReadWARC: any bytes, plain or claimed gzip, must not panic or hang.
func FuzzReadWARC(f *testing.F) {
	f.Add(warcBytes(f, false, sampleRecords...), false)
	f.Add(warcBytes(f, true, sampleRecords...), true)
	f.Add([]byte("WARC/1.0\r\nContent-Length: 5\r\n\r\nab"), false)
	f.Fuzz(func(t *testing.T, data []byte, gz bool) {
		name := "f.warc"
		if gz {
			name += ".gz"
		}
		var counts readerCounts
		_ = readInput(bytes.NewReader(data), name, formatWARC, &counts, func(rawDocument) error { return nil })
	})
}
