package data

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDocumentsWithInvalidUTF8: bad bytes in text and JSONL inputs become
// one U+FFFD per maximal ill-formed sequence, as Python's
// bytes.decode("utf-8", errors="replace") gives HF.
func TestDocumentsWithInvalidUTF8(t *testing.T) {
	dir := t.TempDir()
	txt, jsonl := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.jsonl")
	require.NoError(t, os.WriteFile(txt, []byte("a\xff\xfeb\xe2\x82 c\xf0\x9f\x98\x80\xe2\x82"), 0o644))
	require.NoError(t, os.WriteFile(jsonl, []byte("{\"text\": \"x\xc3(y\xed\xa0\x80z\"}\n"), 0o644))
	var docs []string
	require.NoError(t, ForEachDocument([]string{txt, jsonl}, "text", func(text string) error {
		docs = append(docs, text)
		return nil
	}))
	assert.Equal(t, []string{"a\uFFFD\uFFFDb\uFFFD c\U0001F600\uFFFD", "x\uFFFD(y\uFFFD\uFFFD\uFFFDz"}, docs)
}
