package prep

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A WARC cut inside its last record (a partial download) yields the
// complete records only, and counts the cut one as corrupt, in plain and
// gzip-member files alike; cut inside the record's headers or its HTTP
// block, too.
func TestReadWARCTruncatedLastRecord(t *testing.T) {
	good := warcRecord{recordType: "response", url: "http://a.example/1", status: 200, contentType: "text/html", body: "<p>un</p>"}
	cut := warcRecord{recordType: "response", url: "http://a.example/2", status: 200, contentType: "text/html", body: "<p>deux deux deux deux deux</p>"}
	cutText := warcRecord{recordType: "resource", url: "http://a.example/3", contentType: "text/plain", body: "texte complet, puis coupé au milieu"}
	for _, tc := range []struct {
		name   string
		gz     bool
		record warcRecord
		keep   int // bytes of the cut record that remain
	}{
		{"crawl.warc", false, cut, len(cut.bytes()) - 12},
		{"crawl.warc", false, cutText, len(cutText.bytes()) - 12},
		{"crawl.warc", false, cut, 60},
		{"crawl.warc", false, cut, len(cut.bytes()) - 5}, // one byte of the page missing
		{"crawl.warc.gz", true, cut, len(cut.bytes()) - 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cutBytes := tc.record.bytes()[:tc.keep]
			if tc.gz {
				cutBytes = warcBytes(t, true, tc.record)
				cutBytes = cutBytes[:len(cutBytes)-12] // inside the gzip member
			}
			data := append(warcBytes(t, tc.gz, good), cutBytes...)
			docs, counts := readAll(t, tc.name, data)
			var urls []string
			for _, d := range docs {
				urls = append(urls, d.url)
			}
			assert.Equal(t, []string{"http://a.example/1"}, urls, "a cut record must not become a document")
			assert.Equal(t, int64(1), counts.corrupt, "the cut record is counted")
		})
	}
}

// The output, its stats and the seen-set are ordinary data files (0644
// under a permissive umask), not the 0600 of a temp file.
func TestPrepareOutputsAreReadable(t *testing.T) {
	dir, _ := pipelineFixture(t)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	seen := filepath.Join(t.TempDir(), "seen.bin")
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	_, err := Prepare(context.Background(), Config{Inputs: []string{dir}, OutputPath: out, SeenPath: seen, Lang: "fr", MinLangScore: 0.5, Workers: 1})
	require.NoError(t, err)
	for _, path := range []string{out, out + ".stats.json", seen} {
		st, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o644), st.Mode().Perm(), path)
	}
}
