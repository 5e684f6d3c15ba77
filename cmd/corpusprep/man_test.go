package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStripOverstrikes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"b\bbo\bol\bld\bd", "bold"},
		{"_\bi_\bt", "it"},
		{"é\bé", "é"},
		{"\x1b[1mbold\x1b[0m text", "bold text"},
		{"trailing\b", "trailin"},
	} {
		assert.Equal(t, tc.want, stripOverstrikes(tc.in), "%q", tc.in)
	}
}

func TestManParagraphs(t *testing.T) {
	rendered := "TEST(1)        General Commands        TEST(1)\n\n" +
		"N\bNA\bAM\bME\bE\n       test - check file types\n\n" +
		"       Wrapped first line\n       and its continuation.\n\n" +
		"   Subsection\n       --help\n              display help\n\n" +
		"GNU coreutils 9.1        September 2022        TEST(1)\n"
	assert.Equal(t, []string{
		"test - check file types",
		"Wrapped first line and its continuation.",
		"--help display help",
	}, manParagraphs(rendered))
}

func TestSplitRenderedBatch(t *testing.T) {
	out := "ignored\n  @@NRGRAPHPAGE.0@@\npage zero\n@@NRGRAPHPAGE.2@@\n\npage two\n"
	assert.Equal(t, map[int]string{0: "page zero\n", 2: "\npage two\n"}, splitRenderedBatch(out))
}

// TestRenderManPages runs the real groff (skipped where it is missing) on
// a handwritten page, twice in one batch, with a link page between.
func TestRenderManPages(t *testing.T) {
	if _, err := exec.LookPath("groff"); err != nil {
		t.Skip("groff not installed")
	}
	page := filepath.Join("testdata", "corpusprep-test.1")
	files := []string{page, filepath.Join("testdata", "link.1"), page}
	docs, lost, err := renderManPages(context.Background(), files, "testdata", 2, 2)
	require.NoError(t, err)
	assert.Equal(t, 0, lost)
	require.Len(t, docs, 2)
	assert.Equal(t, docs[0], docs[1])
	checkGolden(t, "corpusprep-test.1.golden.jsonl", docs[:1])
}

func FuzzManParagraphs(f *testing.F) {
	f.Add("NAME\n       x\b\bx - y\n@@NRGRAPHPAGE.1@@\n\x1b[")
	f.Fuzz(func(t *testing.T, rendered string) {
		for _, p := range manParagraphs(rendered) {
			assert.NotEmpty(t, p)
		}
		splitRenderedBatch(rendered)
	})
}
