package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// samplesDir holds the committed ~20 KB samples that
// `scripts/corpora/build.sh --samples` writes from a real build.
const samplesDir = "../../scripts/corpora/testdata"

// sampleSets are the sets and the packages build.sh makes them from: a
// document's url starts with its package.
var sampleSets = []struct {
	name     string
	packages []string
}{
	{"en_pretrain", []string{"linux-doc-6.1", "python3.11-doc", "perl-doc", "manpages", "manpages-dev"}},
	{"en_orig", []string{"dict-foldoc", "dict-jargon"}},
	{"en_heldout", []string{"r-cran-janeaustenr"}},
	{"fr_train", []string{"manpages-fr", "manpages-fr-dev", "libreoffice-help-fr", "gimp-help-fr"}},
	{"fr_heldout_same", []string{"manpages-fr", "manpages-fr-dev", "libreoffice-help-fr", "gimp-help-fr"}},
	{"fr_heldout_other", []string{"wesnoth-1.16-data", "freeciv-data"}},
}

// TestSamples checks the committed samples against what the build
// promises: JSONL with text and url, from the set's packages, the English
// sets disjoint down to paragraphs, and the French same-domain split
// decided by each document's url.
func TestSamples(t *testing.T) {
	paragraphOwner := map[string]string{}
	for _, set := range sampleSets {
		t.Run(set.name, func(t *testing.T) {
			docs, err := readJSONL(filepath.Join(samplesDir, set.name+".jsonl"))
			require.NoError(t, err)
			require.NotEmpty(t, docs)
			total := 0
			for _, d := range docs {
				total += len(d.Text)
				require.NotEmpty(t, strings.TrimSpace(d.Text), d.URL)
				pkg, _, _ := strings.Cut(d.URL, "/")
				assert.Contains(t, set.packages, pkg, "url %s", d.URL)
				switch set.name {
				case "fr_train":
					assert.False(t, isHeldOut(d, 0.1), "held-out document %s in fr_train", d.URL)
				case "fr_heldout_same":
					assert.True(t, isHeldOut(d, 0.1), "training document %s in fr_heldout_same", d.URL)
				}
				if !strings.HasPrefix(set.name, "en_") {
					continue
				}
				for _, p := range strings.Split(d.Text, "\n") {
					owner, seen := paragraphOwner[paragraphKey(p)]
					assert.False(t, seen && owner != set.name, "paragraph %.60q in %s and %s", p, owner, set.name)
					paragraphOwner[paragraphKey(p)] = set.name
				}
			}
			assert.InDelta(t, 20000, total, 12000, "sample size")
		})
	}
}

// paragraphKey normalises a paragraph for the cross-set check the way
// dedup would see two copies as one (case and spacing).
func paragraphKey(p string) string {
	return strings.ToLower(strings.Join(strings.Fields(p), " "))
}
