package prep

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var benchCorpusMB = flag.Int("dataprep.bench-mb", 5, "size of the generated HTML corpus for BenchmarkPrepare, in MB")

// writeBenchCorpus writes about megabytes of HTML pages: French articles
// with navigation, a boilerplate paragraph shared by every page (a dedup
// hit per page) and an English aside (a language drop per page).
func writeBenchCorpus(b *testing.B, dir string, megabytes int) (pages int, bytes int64) {
	rng := rand.New(rand.NewPCG(42, 42))
	for bytes < int64(megabytes)*1e6 {
		paragraphs := []string{"Inscrivez-vous à notre lettre d'information pour recevoir chaque semaine les meilleurs articles du site."}
		for range 8 {
			paragraphs = append(paragraphs, frenchParagraph(rng, 3))
		}
		paragraphs = append(paragraphs, "This article was also published in English by our partner newspaper last week.")
		page := htmlPage(fmt.Sprintf("Article numéro %d", pages), paragraphs...)
		// Pad with a realistic amount of markup: scripts and menus dominate real pages.
		page = strings.Replace(page, "</head>", "<script>"+strings.Repeat("var x = 1;\n", 200)+"</script></head>", 1)
		writeFile(b, dir, fmt.Sprintf("page-%06d.html", pages), []byte(page))
		pages++
		bytes += int64(len(page))
	}
	return pages, bytes
}

// BenchmarkPrepare measures the whole pipeline (extraction, LID, dedup,
// writing) on generated pages; run with -dataprep.bench-mb=50 for the
// figures in README.md. Each iteration is one full pass over the corpus.
func BenchmarkPrepare(b *testing.B) {
	dir := b.TempDir()
	pages, corpusBytes := writeBenchCorpus(b, dir, *benchCorpusMB)
	// Candidate languages dominate the cost of whatlanggo: compare all of
	// them (the default) with a short European list.
	european := []string{"fr", "en", "de", "es", "it", "pt", "nl", "da", "sv", "pl"}
	for _, tc := range []struct {
		name       string
		workers    int
		candidates []string
	}{
		{"workers=1/lid=all", 1, nil},
		{fmt.Sprintf("workers=%d/lid=all", runtime.NumCPU()), runtime.NumCPU(), nil},
		{"workers=1/lid=10", 1, european},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(corpusBytes)
			out := filepath.Join(b.TempDir(), "out.jsonl")
			for b.Loop() {
				stats, err := Prepare(context.Background(), Config{Inputs: []string{dir}, OutputPath: out, Lang: "fr",
					MinLangScore: 0.5, LIDLanguages: tc.candidates, Workers: tc.workers})
				require.NoError(b, err)
				require.Equal(b, int64(pages), stats.DocumentsKept)
			}
			perSecond := float64(b.N) * float64(pages) / b.Elapsed().Seconds()
			b.ReportMetric(perSecond, "pages/s")
			b.ReportMetric(perSecond/float64(tc.workers), "pages/s/worker")
		})
	}
}
