//go:build !lingua

package prep

import (
	"fmt"

	"github.com/abadojack/whatlanggo"
)

// LIDBackend names the language-identification library compiled in.
const LIDBackend = "whatlanggo"

type whatlangIdentifier struct {
	options whatlanggo.Options
}

// NewLanguageIdentifier returns the compiled-in identifier restricted to
// candidates (ISO 639-1 codes); no candidates means every language the
// backend knows. Restricting matters: on short paragraphs most errors are
// close relatives (Danish read as Norwegian), which a candidate list removes.
func NewLanguageIdentifier(candidates []string) (LanguageIdentifier, error) {
	candidates = normalizeLanguageCodes(candidates)
	if len(candidates) == 0 {
		return whatlangIdentifier{}, nil
	}
	byCode := map[string]whatlanggo.Lang{}
	for lang := range whatlanggo.Langs {
		if code := lang.Iso6391(); code != "" {
			byCode[code] = lang
		}
	}
	whitelist := map[whatlanggo.Lang]bool{}
	for _, code := range candidates {
		lang, ok := byCode[code]
		if !ok {
			return nil, fmt.Errorf("language identifier %s: unknown ISO 639-1 code %q", LIDBackend, code)
		}
		whitelist[lang] = true
	}
	return whatlangIdentifier{options: whatlanggo.Options{Whitelist: whitelist}}, nil
}

func (w whatlangIdentifier) Identify(text string) (string, float64) {
	info := whatlanggo.DetectWithOptions(text, w.options)
	if info.Lang < 0 {
		return "", 0
	}
	return info.Lang.Iso6391(), info.Confidence
}
