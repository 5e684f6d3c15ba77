package prep

import "strings"

// LanguageIdentifier names the language of a paragraph.
//
// Two backends exist, picked at build time because of binary size: the
// default build uses whatlanggo (about 3 MB, trigram profiles); building with
// `-tags lingua` uses lingua-go, more accurate on very short text but adding
// about 130 MB of embedded models to the binary whatever languages are
// enabled. README.md has the measured accuracy of both.
type LanguageIdentifier interface {
	// Identify returns the ISO 639-1 code of text's language and a
	// confidence in [0,1]; lang is "" when no candidate fits at all.
	Identify(text string) (lang string, confidence float64)
}

// normalizeLanguageCodes lower-cases and trims ISO 639-1 codes, dropping
// empty ones, so "--lid-languages 'fr, EN'" works.
func normalizeLanguageCodes(codes []string) []string {
	var out []string
	for _, c := range codes {
		if c = strings.ToLower(strings.TrimSpace(c)); c != "" {
			out = append(out, c)
		}
	}
	return out
}
