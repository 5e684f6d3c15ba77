package prep

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// spamLine mimics low-quality crawl text: keyword lists, prices, shouting.
func spamLine(rng *rand.Rand) string {
	words := []string{"PROMO", "gratuit", "cliquez", "ici", "achat", "pas", "cher", "livraison", "offre", "casino",
		"bonus", "€", "!!!", "meilleur", "prix", "top", "vente", "la", "le", "de"}
	var b strings.Builder
	for i := range 6 + rng.IntN(8) {
		if i > 0 {
			b.WriteByte(' ')
		}
		if rng.IntN(5) == 0 {
			fmt.Fprintf(&b, "%d,%02d", rng.IntN(999), rng.IntN(100))
		} else {
			b.WriteString(words[rng.IntN(len(words))])
		}
	}
	return b.String()
}

// syntheticQualitySets makes two overlapping distributions: good documents
// are prose; bad ones mix the same prose with spam lines, so the classifier
// must weigh features rather than spot a single marker.
func syntheticQualitySets(rng *rand.Rand, n int) (good, bad [][]string) {
	for range n {
		var g, b []string
		for range 2 + rng.IntN(4) {
			g = append(g, frenchParagraph(rng, 2))
			if rng.IntN(2) == 0 {
				b = append(b, frenchParagraph(rng, 1))
			} else {
				b = append(b, spamLine(rng))
			}
		}
		b = append(b, spamLine(rng))
		good, bad = append(good, g), append(bad, b)
	}
	return good, bad
}

func TestTrainQualitySeparatesSyntheticDistributions(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	good, bad := syntheticQualitySets(rng, 400)
	model, report, err := TrainQuality(good, bad, QualityTrainConfig{Buckets: 1 << 16, Seed: 7})
	require.NoError(t, err)
	t.Logf("report %+v", report)
	assert.Equal(t, 80, report.HeldOutDocs)
	assert.GreaterOrEqual(t, report.HeldOutAccuracy, 0.95)
	assert.GreaterOrEqual(t, report.TrainAccuracy, 0.95)

	// Fresh documents from the same distributions, scored through Score.
	freshGood, freshBad := syntheticQualitySets(rand.New(rand.NewPCG(3, 4)), 100)
	correct := 0
	for i := range freshGood {
		if model.Score(freshGood[i]) > 0.5 {
			correct++
		}
		if model.Score(freshBad[i]) < 0.5 {
			correct++
		}
	}
	assert.GreaterOrEqual(t, float64(correct)/200, 0.95)

	// Same seed, same model.
	again, _, err := TrainQuality(good, bad, QualityTrainConfig{Buckets: 1 << 16, Seed: 7})
	require.NoError(t, err)
	assert.Equal(t, model.Weights, again.Weights)
}

func TestTrainQualityFilesAndSaveLoad(t *testing.T) {
	dir := t.TempDir()
	good, bad := syntheticQualitySets(rand.New(rand.NewPCG(5, 6)), 60)
	writeDocs := func(name string, docs [][]string) string {
		var b bytes.Buffer
		for _, d := range docs {
			fmt.Fprintf(&b, "{\"text\":%q}\n", strings.Join(d, "\n"))
		}
		return writeFile(t, dir, name, b.Bytes())
	}
	model, report, err := TrainQualityFiles(context.Background(), []string{writeDocs("good.jsonl", good)},
		[]string{writeDocs("bad.jsonl", bad)}, 2, QualityTrainConfig{Buckets: 1 << 12, Seed: 1})
	require.NoError(t, err)
	assert.Equal(t, 60, report.GoodDocuments)
	assert.Equal(t, 60, report.BadDocuments)
	assert.GreaterOrEqual(t, report.HeldOutAccuracy, 0.9)

	path := filepath.Join(dir, "quality.bin")
	require.NoError(t, model.Save(path))
	loaded, err := LoadQualityModel(path)
	require.NoError(t, err)
	assert.Equal(t, model, loaded)
}

func TestTrainQualityRejectsBadConfig(t *testing.T) {
	docs := [][]string{{"un"}, {"deux"}, {"trois"}}
	for _, tc := range []struct {
		name      string
		good, bad [][]string
		cfg       QualityTrainConfig
		want      string
	}{
		{"buckets not power of two", docs, docs, QualityTrainConfig{Buckets: 1000}, "power of two"},
		{"held out too large", docs, docs, QualityTrainConfig{HeldOutFraction: 1}, "held-out"},
		{"empty class", docs, nil, QualityTrainConfig{}, "at least 2"},
	} {
		_, _, err := TrainQuality(tc.good, tc.bad, tc.cfg)
		assert.ErrorContains(t, err, tc.want, tc.name)
	}
}

func TestReadQualityModelRejectsDamage(t *testing.T) {
	model := &QualityModel{Bias: 0.5, Weights: []float32{1, -2, 3, 0.25}}
	var good bytes.Buffer
	_, err := model.WriteTo(&good)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", good.Bytes()[:20], "weights"},
		{"no checksum", good.Bytes()[:good.Len()-4], "checksum"},
		{"flipped weight", flipByte(good.Bytes(), 18), "checksum"},
		{"bad bucket count", append(append([]byte(qualityFileMagic), 3, 0, 0, 0), good.Bytes()[12:]...), "power of two"},
	} {
		_, err := ReadQualityModel(bytes.NewReader(tc.data))
		assert.ErrorContains(t, err, tc.want, tc.name)
	}
}

func FuzzReadQualityModel(f *testing.F) {
	var good bytes.Buffer
	_, _ = (&QualityModel{Bias: 1, Weights: []float32{1, 2}}).WriteTo(&good)
	f.Add(good.Bytes())
	f.Add([]byte(qualityFileMagic + "\x00\x00\x00\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		model, err := ReadQualityModel(bytes.NewReader(data))
		if err != nil {
			return
		}
		require.Equal(t, 0, len(model.Weights)&(len(model.Weights)-1))
		_ = model.Score([]string{"un test", "deux"})
	})
}
