package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func numberedDocuments(n int) []document {
	docs := make([]document, n)
	for i := range docs {
		docs[i] = document{Text: strings.Repeat("x", 10+i%50), URL: fmt.Sprintf("pkg/page-%d.html", i)}
	}
	return docs
}

func TestSplitDocuments(t *testing.T) {
	docs := numberedDocuments(10000)
	for _, fraction := range []float64{0, 0.1, 0.5, 1} {
		train, heldOut := splitDocuments(docs, fraction)
		assert.Len(t, append(train, heldOut...), len(docs), "fraction %v", fraction)
		assert.InDelta(t, fraction, float64(len(heldOut))/float64(len(docs)), 0.02, "fraction %v", fraction)
		// A document's side depends on its url alone, not on the other documents.
		train2, heldOut2 := splitDocuments(docs[5000:], fraction)
		assert.Equal(t, len(train)+len(heldOut)-5000, len(train2)+len(heldOut2))
		for _, d := range heldOut2 {
			assert.True(t, isHeldOut(d, fraction))
		}
		for _, d := range train2 {
			assert.False(t, isHeldOut(d, fraction))
		}
	}
}

func TestSampleDocuments(t *testing.T) {
	docs := append(numberedDocuments(500), document{Text: strings.Repeat("y", 600), URL: "big"})
	position := map[string]int{}
	for i, d := range docs {
		position[d.URL] = i
	}
	sample := sampleDocuments(docs, 1000)
	total := 0
	for i, d := range sample {
		assert.NotEqual(t, "big", d.URL, "documents over half the budget are skipped")
		total += len(d.Text)
		if i > 0 {
			assert.Less(t, position[sample[i-1].URL], position[d.URL], "input order is kept")
		}
	}
	assert.GreaterOrEqual(t, total, 1000)
	assert.Less(t, total, 1000+60)
	require.Equal(t, sample, sampleDocuments(docs, 1000), "deterministic")
}
