package prep

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// warcRecord is a record for writeWARC; the tests write WARC bytes by hand
// so the reader is checked against the format, not against its own writer.
type warcRecord struct {
	recordType  string // response, request, resource, conversion
	url         string
	status      int    // HTTP status for response records
	contentType string // HTTP Content-Type (response) or WARC Content-Type
	body        string
}

func (r warcRecord) bytes() []byte {
	var block bytes.Buffer
	warcContentType := r.contentType
	if r.recordType == "response" {
		fmt.Fprintf(&block, "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s", r.status, r.contentType, len(r.body), r.body)
		warcContentType = "application/http; msgtype=response"
	} else {
		block.WriteString(r.body)
	}
	var rec bytes.Buffer
	fmt.Fprintf(&rec, "WARC/1.1\r\nWARC-Type: %s\r\nWARC-Target-URI: %s\r\nWARC-Date: 2024-01-01T00:00:00Z\r\n"+
		"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-%012d>\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		r.recordType, r.url, len(r.url), warcContentType, block.Len())
	rec.Write(block.Bytes())
	rec.WriteString("\r\n\r\n")
	return rec.Bytes()
}

// warcBytes concatenates records, each as its own gzip member when gz.
func warcBytes(t testing.TB, gz bool, records ...warcRecord) []byte {
	var out bytes.Buffer
	for _, r := range records {
		if !gz {
			out.Write(r.bytes())
			continue
		}
		zw := gzip.NewWriter(&out)
		_, err := zw.Write(r.bytes())
		require.NoError(t, err)
		require.NoError(t, zw.Close())
	}
	return out.Bytes()
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, data, 0o644))
	return path
}

// htmlPage wraps paragraphs in an article with navigation and a footer;
// an empty title leaves out the headline.
func htmlPage(title string, paragraphs ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>%s</title></head><body>", title)
	b.WriteString(`<header><nav><ul><li><a href="/">Accueil</a></li><li><a href="/sport">Sport</a></li><li><a href="/contact">Contact</a></li></ul></nav></header>`)
	b.WriteString("<main><article>")
	if title != "" {
		fmt.Fprintf(&b, "<h1>%s</h1>", title)
	}
	for _, p := range paragraphs {
		fmt.Fprintf(&b, "<p>%s</p>", p)
	}
	b.WriteString(`</article></main><footer><p>© 2024 Le Site. Tous droits réservés.</p><a href="/legal">Mentions légales</a></footer></body></html>`)
	return b.String()
}

// frenchSentence makes a grammatical French sentence from word lists, so
// the benchmark and pipeline tests have text that a language identifier
// reads as French without shipping a corpus.
func frenchSentence(rng *rand.Rand) string {
	subjects := []string{"Le maire de la ville", "Une équipe de chercheurs", "La plupart des habitants", "Le gouvernement",
		"Mon voisin", "Les élèves du lycée", "Une entreprise locale", "La directrice du musée", "Les agriculteurs de la région", "Ce journaliste"}
	verbs := []string{"a annoncé", "prépare", "a découvert", "souhaite améliorer", "critique", "a présenté", "veut protéger", "a rénové", "défend", "observe"}
	objects := []string{"un nouveau projet", "la qualité de l'eau", "les horaires des trains", "une exposition sur la mer", "le budget de l'année prochaine",
		"la place du marché", "les forêts du nord", "une loi sur le logement", "le prix du pain", "les résultats de l'enquête"}
	tails := []string{"avant la fin de l'été", "malgré les critiques", "pour les familles", "depuis plusieurs mois", "avec beaucoup de prudence",
		"dans le centre-ville", "selon un rapport récent", "après une longue réunion", "pour la première fois", "sans attendre l'hiver"}
	pick := func(words []string) string { return words[rng.IntN(len(words))] }
	return fmt.Sprintf("%s %s %s %s.", pick(subjects), pick(verbs), pick(objects), pick(tails))
}

func frenchParagraph(rng *rand.Rand, sentences int) string {
	parts := make([]string, sentences)
	for i := range parts {
		parts[i] = frenchSentence(rng)
	}
	return strings.Join(parts, " ")
}
