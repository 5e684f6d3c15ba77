package prep

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type lidSample struct{ lang, text string }

// loadLIDSamples reads testdata/lid_short_paragraphs.tsv (hand-written).
func loadLIDSamples(t testing.TB) []lidSample {
	f, err := os.Open("testdata/lid_short_paragraphs.tsv")
	require.NoError(t, err)
	defer f.Close()
	var samples []lidSample
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lang, text, ok := strings.Cut(line, "\t")
		require.True(t, ok, "line %q has no tab", line)
		samples = append(samples, lidSample{lang, text})
	}
	require.NoError(t, sc.Err())
	return samples
}

// firstWords keeps at most n words, to measure very short paragraphs.
func firstWords(s string, n int) string {
	words := strings.Fields(s)
	return strings.Join(words[:min(n, len(words))], " ")
}

// lidAccuracy is the overall and per-language share identified correctly.
func lidAccuracy(lid LanguageIdentifier, samples []lidSample, words int) (float64, map[string]float64) {
	correct, perLang, total := 0, map[string]float64{}, map[string]float64{}
	for _, s := range samples {
		got, _ := lid.Identify(firstWords(s.text, words))
		total[s.lang]++
		if got == s.lang {
			correct++
			perLang[s.lang]++
		}
	}
	for lang := range perLang {
		perLang[lang] /= total[lang]
	}
	return float64(correct) / float64(len(samples)), perLang
}

// The floors sit just under what each backend measured (README.md): a
// drop means a regression, not noise, since everything is deterministic.
func TestLanguageIdentifierShortParagraphs(t *testing.T) {
	samples := loadLIDSamples(t)
	require.Len(t, samples, 100)
	five := []string{"en", "fr", "da", "hu", "de"}
	floors := map[string]map[string]float64{
		// candidates/words -> minimum overall accuracy
		"whatlanggo": {"five/full": 1.0, "five/5": 0.93, "all/full": 0.93, "all/5": 0.79},
		"lingua":     {"five/full": 1.0, "five/5": 1.0, "all/full": 1.0, "all/5": 0.96},
	}[LIDBackend]
	for _, tc := range []struct {
		name       string
		candidates []string
		words      int
	}{
		{"five/full", five, 1000},
		{"five/5", five, 5},
		{"all/full", nil, 1000},
		{"all/5", nil, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lid, err := NewLanguageIdentifier(tc.candidates)
			require.NoError(t, err)
			acc, perLang := lidAccuracy(lid, samples, tc.words)
			t.Logf("%s %s: accuracy %.2f per language %v", LIDBackend, tc.name, acc, perLang)
			assert.GreaterOrEqual(t, acc, floors[tc.name])
			if tc.words > 5 {
				assert.GreaterOrEqual(t, perLang["fr"], 1.0, "French, the target of the paper, is always right on full paragraphs")
			}
		})
	}
}

func TestNewLanguageIdentifierRejectsUnknownCode(t *testing.T) {
	_, err := NewLanguageIdentifier([]string{"fr", "zz"})
	assert.ErrorContains(t, err, `"zz"`)
}
