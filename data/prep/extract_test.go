package prep

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExtractMainTextKeepsArticleDropsNavigation(t *testing.T) {
	page, err := os.ReadFile("testdata/article.html")
	require.NoError(t, err)
	paragraphs, err := ExtractMainText(page)
	require.NoError(t, err)
	text := strings.Join(paragraphs, "\n")
	for _, kept := range []string{
		"Après trois années de travaux, le nouveau pont",
		"L'ouvrage, long de quatre cents mètres",
		"Les commerçants du quartier se montrent pourtant prudents.",
		"quarante-deux millions d'euros",
	} {
		assert.Contains(t, text, kept)
	}
	for _, dropped := range []string{"Accueil", "Nous contacter", "Horoscope", "Abonnez-vous", "Tous droits réservés", "Mentions légales", "cookies"} {
		assert.NotContains(t, text, dropped)
	}
	// One paragraph per <p>, plus the headline.
	assert.Len(t, paragraphs, 5)
}

func TestExtractMainTextOnBrokenPages(t *testing.T) {
	for _, page := range []string{"", "<html", "\x00\xff\xfe", "<p>" + strings.Repeat("<div>", 300)} {
		assert.NotPanics(t, func() { _, _ = ExtractMainText([]byte(page)) })
	}
}

func TestSplitParagraphs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  un  \n\n\tdeux\ttrois \r\n", []string{"un", "deux trois"}},
		{"bad \xff byte", []string{"bad \uFFFD byte"}},
	} {
		assert.Equal(t, tc.want, SplitParagraphs(tc.in), "%q", tc.in)
	}
}

func TestParagraphHash(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"Le chat dort.", "le  CHAT dort", true},
		{"Publié le 12 mars 2024", "Publié le 03 avril 2023", false}, // words differ
		{"Il reste 12 places", "Il reste 47 places", true},           // digits fold
		{"« Bonjour », dit-il.", "Bonjour dit il", false},            // hyphen joins words
		{"Le chat dort.", "Le chien dort.", false},
	} {
		assert.Equal(t, tc.same, ParagraphHash(tc.a) == ParagraphHash(tc.b), "%q vs %q", tc.a, tc.b)
	}
}

// FuzzExtractMainText: the HTML path must never panic, whatever the bytes.
func FuzzExtractMainText(f *testing.F) {
	page, err := os.ReadFile("testdata/article.html")
	require.NoError(f, err)
	f.Add(page)
	f.Add([]byte("<html><body><article><p>x</p></article>"))
	f.Add([]byte("<meta charset=\"shift_jis\"><p>\x82\xa0</p>"))
	f.Fuzz(func(t *testing.T, page []byte) {
		paragraphs, _ := ExtractMainText(page)
		for _, p := range paragraphs {
			if p == "" || strings.Contains(p, "\n") {
				t.Fatalf("bad paragraph %q", p)
			}
		}
	})
}
