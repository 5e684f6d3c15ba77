package scoring

import (
	"bufio"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/models/tokenizer"
	"github.com/nrgraph/nrgraph/runtime"
)

// TestInt8BackboneScoresCloseToFP32: the embedded backbone built with
// --backbone-precision int8 scores English and French text (the fixture
// sets' passages) like the fp32 build: per-token log-probs within 0.15
// nats on average and total NLL within 1% (measured: see the log line;
// mean |Δ| 0.016 nats on the previous, English-only backbone, 0.083 en /
// 0.091 fr on the current, better-trained one, whose sharper
// distributions move more per token while the totals stay within 0.13%),
// and not bit-identical, so the int8 path is what ran.
func TestInt8BackboneScoresCloseToFP32(t *testing.T) {
	if err := runtime.Init(""); err != nil {
		t.Skip(err)
	}
	texts := map[string][]string{
		"en": fixtureTexts(t, "../testdata/hellaswag/hellaswag_val.jsonl", "ctx", "endings"),
		"fr": fixtureTexts(t, "../testdata/belebele/fra_Latn.jsonl", "flores_passage", "question"),
	}
	scores := map[models.BackbonePrecision]map[string][]float64{}
	for _, p := range models.BackbonePrecisions {
		scores[p] = scoreEmbedded(t, p, texts)
	}
	for lang := range texts {
		fp32, int8 := scores[models.PrecisionFP32][lang], scores[models.PrecisionInt8][lang]
		require.Equal(t, len(fp32), len(int8))
		nll32, nll8, absDiff := 0.0, 0.0, 0.0
		for i := range fp32 {
			nll32, nll8, absDiff = nll32-fp32[i], nll8-int8[i], absDiff+math.Abs(fp32[i]-int8[i])
		}
		rel := (nll8 - nll32) / nll32
		t.Logf("%s: %d tokens, NLL/token fp32 %.4f int8 %.4f (%+.3f%%), mean |Δ log-prob| %.4f", lang, len(fp32),
			nll32/float64(len(fp32)), nll8/float64(len(fp32)), 100*rel, absDiff/float64(len(fp32)))
		assert.Less(t, math.Abs(rel), 0.01, lang)
		assert.Less(t, absDiff/float64(len(fp32)), 0.15, lang)
		assert.Greater(t, absDiff, 0.0, "%s: int8 scores are bit-identical to fp32", lang)
	}
}

// scoreEmbedded builds the embedded backbone at precision p and returns
// the log-prob of every token of each language's texts.
func scoreEmbedded(t *testing.T, p models.BackbonePrecision, texts map[string][]string) map[string][]float64 {
	dir := t.TempDir()
	ext, err := models.DefaultExtension(models.NeutralResidues)
	require.NoError(t, err)
	_, err = build.Build(build.BuildOptions{ModelDir: filepath.Join("..", "..", "models", "embedded", "en-llama-7m"), Ext: ext,
		Opt: graph.DefaultAdamW(), Seq: 128, Out: dir, Log: io.Discard, BackbonePrecision: p})
	require.NoError(t, err)
	tok, err := tokenizer.LoadFile(filepath.Join(dir, build.TokenizerFile))
	require.NoError(t, err)
	if p == models.PrecisionInt8 { // refused before any session opens
		_, err := OpenScorer(dir, tok, ScorerOptions{Threads: 1, Provider: "cuda"})
		require.ErrorContains(t, err, "cpu provider only")
	}
	s, err := OpenScorer(dir, tok, ScorerOptions{Threads: 1, BOS: tok.BOS})
	require.NoError(t, err)
	defer s.Close()
	out := map[string][]float64{}
	for lang, docs := range texts {
		var seqs [][]int
		for _, d := range docs {
			seqs = append(seqs, tok.Encode(d, true))
		}
		res, err := s.ScoreSequences(seqs)
		require.NoError(t, err)
		for _, r := range res {
			out[lang] = append(out[lang], r.LogProbs...)
		}
	}
	return out
}

// fixtureTexts joins the named string (or string-list) fields of each
// JSONL record into one document.
func fixtureTexts(t *testing.T, path string, fields ...string) []string {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var docs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec))
		var parts []string
		for _, field := range fields {
			switch v := rec[field].(type) {
			case string:
				parts = append(parts, v)
			case []any:
				for _, x := range v {
					parts = append(parts, x.(string))
				}
			}
		}
		docs = append(docs, strings.Join(parts, " "))
	}
	require.NoError(t, sc.Err())
	return docs
}
