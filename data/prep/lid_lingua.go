//go:build lingua

package prep

import (
	"fmt"
	"strings"

	"github.com/pemistahl/lingua-go"
)

// LIDBackend names the language-identification library compiled in.
const LIDBackend = "lingua"

type linguaIdentifier struct {
	detector lingua.LanguageDetector
}

// NewLanguageIdentifier returns the compiled-in identifier restricted to
// candidates (ISO 639-1 codes); no candidates means every language the
// backend knows. lingua loads a language's models on first use, so a short
// candidate list also keeps memory and start-up small.
func NewLanguageIdentifier(candidates []string) (LanguageIdentifier, error) {
	candidates = normalizeLanguageCodes(candidates)
	builder := lingua.NewLanguageDetectorBuilder()
	if len(candidates) == 0 {
		return linguaIdentifier{detector: builder.FromAllLanguages().Build()}, nil
	}
	var languages []lingua.Language
	for _, code := range candidates {
		iso := lingua.GetIsoCode639_1FromValue(strings.ToUpper(code))
		lang := lingua.GetLanguageFromIsoCode639_1(iso)
		if iso == lingua.UnknownIsoCode639_1 || lang == lingua.Unknown {
			return nil, fmt.Errorf("language identifier %s: unknown ISO 639-1 code %q", LIDBackend, code)
		}
		languages = append(languages, lang)
	}
	if len(languages) == 1 {
		// lingua needs two candidates to compare; with one, every text would
		// be that language, so compare against English as a foil.
		foil := lingua.English
		if languages[0] == lingua.English {
			foil = lingua.French
		}
		languages = append(languages, foil)
	}
	return linguaIdentifier{detector: builder.FromLanguages(languages...).Build()}, nil
}

func (l linguaIdentifier) Identify(text string) (string, float64) {
	values := l.detector.ComputeLanguageConfidenceValues(text)
	if len(values) == 0 || values[0].Value() == 0 {
		return "", 0
	}
	return strings.ToLower(values[0].Language().IsoCode639_1().String()), values[0].Value()
}
