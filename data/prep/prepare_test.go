package prep

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func readOutput(t testing.TB, path string) []OutputDocument {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var docs []OutputDocument
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var d OutputDocument
		require.NoError(t, json.Unmarshal(sc.Bytes(), &d), "line %q", sc.Text())
		docs = append(docs, d)
	}
	return docs
}

// pipelineFixture writes a small mixed crawl: HTML pages (one English, one
// mixing French with English and Danish, two sharing a paragraph), a WARC.gz
// with a damaged member and a page repeating a paragraph, and a JSONL file
// with a bad line. It returns the directory and the French paragraphs.
func pipelineFixture(t testing.TB) (string, []string) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(11, 12))
	fr := make([]string, 10)
	for i := range fr {
		fr[i] = frenchParagraph(rng, 2)
	}
	english := "The weather should improve over the weekend, according to the national forecast published this morning."
	danish := "Vejret skulle blive bedre i løbet af weekenden, siger den nationale vejrudsigt i morges."
	writeFile(t, dir, "a.html", []byte(htmlPage("Premier article", fr[0], fr[1], fr[2])))
	writeFile(t, dir, "b.html", []byte(htmlPage("Deuxième article", fr[1], fr[3])))
	writeFile(t, dir, "c.html", []byte(htmlPage("Article mixte", fr[4], english, danish)))
	writeFile(t, dir, "d.html", []byte(htmlPage("English page", english+" It will be sunny.", "Children under twelve must be accompanied by an adult at all times.")))
	warc := warcBytes(t, true,
		warcRecord{recordType: "response", url: "http://fr.example/1", status: 200, contentType: "text/html", body: htmlPage("Page web", fr[5], fr[6])},
		warcRecord{recordType: "response", url: "http://fr.example/2", status: 404, contentType: "text/html", body: "introuvable"},
	)
	warc = append(warc, 0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff, 0x07, 0x00)
	warc = append(warc, warcBytes(t, true,
		warcRecord{recordType: "response", url: "http://fr.example/3", status: 200, contentType: "text/html", body: htmlPage("Reprise", fr[0], fr[7])})...)
	writeFile(t, dir, "e.warc.gz", warc)
	writeFile(t, dir, "f.jsonl", []byte(fmt.Sprintf("{\"text\":%q,\"url\":\"http://fr.example/j\"}\n{broken\n", fr[8]+"\n"+fr[9])))
	return dir, fr
}

func TestPrepareEndToEnd(t *testing.T) {
	dir, fr := pipelineFixture(t)
	outDir := t.TempDir()
	var outputs [][]byte
	for _, workers := range []int{1, 4} {
		out := filepath.Join(outDir, fmt.Sprintf("out-%d.jsonl", workers))
		stats, err := Prepare(context.Background(), Config{
			Inputs: []string{dir}, OutputPath: out, Lang: "fr", MinLangScore: 0.5, Workers: workers,
		})
		require.NoError(t, err)
		data, err := os.ReadFile(out)
		require.NoError(t, err)
		outputs = append(outputs, data)

		assert.Equal(t, 6, stats.Files)
		assert.Equal(t, int64(9), stats.DocumentsIn) // 4 HTML + 2 WARC pages + 1 damaged member + 1 JSONL doc + 1 bad line
		assert.Equal(t, int64(6), stats.DocumentsKept)
		assert.Equal(t, map[string]int64{DropCorrupt: 2, DropLanguage: 1}, stats.DocumentsDropped)
		assert.Equal(t, int64(2), stats.ParagraphsDropped[DropDuplicate]) // fr[1] in b.html, fr[0] in the WARC
		assert.Equal(t, map[string]int64{"http_status": 1}, stats.RecordsSkipped)
		assert.Equal(t, stats.ParagraphsIn, stats.ParagraphsKept+stats.ParagraphsDropped[DropLanguage]+stats.ParagraphsDropped[DropDuplicate])
		statsFile, err := os.ReadFile(out + ".stats.json")
		require.NoError(t, err)
		assert.Contains(t, string(statsFile), `"documents_kept": 6`)
	}
	assert.Equal(t, string(outputs[0]), string(outputs[1]), "output must not depend on --workers")

	docs := readOutput(t, filepath.Join(outDir, "out-1.jsonl"))
	var all []string
	for _, d := range docs {
		assert.Equal(t, "fr", d.Lang)
		assert.GreaterOrEqual(t, d.LangScore, 0.5)
		assert.Nil(t, d.Quality)
		all = append(all, strings.Split(d.Text, "\n")...)
	}
	for i, p := range fr {
		n := 0
		for _, got := range all {
			if got == p {
				n++
			}
		}
		assert.Equal(t, 1, n, "French paragraph %d appears exactly once", i)
	}
	joined := strings.Join(all, "\n")
	assert.NotContains(t, joined, "weather", "English paragraph of the mixed page is dropped")
	assert.NotContains(t, joined, "Vejret", "Danish paragraph of the mixed page is dropped")
	assert.NotContains(t, joined, "Accueil", "navigation is dropped")

	golden := strings.ReplaceAll(string(outputs[0]), dir, "$DIR")
	goldenPath := filepath.Join("testdata", "prepare_golden."+LIDBackend+".jsonl")
	if *update {
		require.NoError(t, os.WriteFile(goldenPath, []byte(golden), 0o644))
	}
	want, err := os.ReadFile(goldenPath)
	require.NoError(t, err, "run go test -run TestPrepareEndToEnd -update to create it")
	assert.Equal(t, string(want), golden)
}

// Shards processed one after the other share a persisted seen-set, so a
// paragraph kept by shard 0 is a duplicate in shard 1.
func TestPrepareShardsDedupeThroughPersistedSeenSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	shared, only0, only1 := frenchParagraph(rng, 2), frenchParagraph(rng, 2), frenchParagraph(rng, 2)
	dir := t.TempDir()
	writeFile(t, dir, "s0.html", []byte(htmlPage("", shared, only0)))
	writeFile(t, dir, "s1.html", []byte(htmlPage("", shared, only1)))
	outDir := t.TempDir()
	run := func(shard int, seen string) []string {
		out := filepath.Join(outDir, fmt.Sprintf("shard-%d.jsonl", shard))
		_, err := Prepare(context.Background(), Config{
			Inputs: []string{dir}, OutputPath: out, Lang: "fr", MinLangScore: 0.5,
			Shard: shard, NumShards: 2, SeenPath: seen, Workers: 2,
		})
		require.NoError(t, err)
		var paragraphs []string
		for _, d := range readOutput(t, out) {
			paragraphs = append(paragraphs, strings.Split(d.Text, "\n")...)
		}
		return paragraphs
	}
	// Control: without a persisted set each shard keeps the shared paragraph.
	assert.Equal(t, []string{shared, only1}, run(1, ""))

	seen := filepath.Join(outDir, "seen.bin")
	assert.Equal(t, []string{shared, only0}, run(0, seen))
	assert.Equal(t, []string{only1}, run(1, seen))
	set, err := LoadSeenSet(seen, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, 3, set.Len())
}

func TestPrepareQualityFilter(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	good, bad := syntheticQualitySets(rng, 300)
	model, _, err := TrainQuality(good, bad, QualityTrainConfig{Buckets: 1 << 14, Seed: 3})
	require.NoError(t, err)
	dir := t.TempDir()
	modelPath := filepath.Join(dir, "quality.bin")
	require.NoError(t, model.Save(modelPath))

	freshGood, freshBad := syntheticQualitySets(rand.New(rand.NewPCG(33, 34)), 20)
	var lines bytes.Buffer
	for i := range freshGood {
		fmt.Fprintf(&lines, "{\"text\":%q,\"url\":\"good-%d\"}\n", strings.Join(freshGood[i], "\n"), i)
		fmt.Fprintf(&lines, "{\"text\":%q,\"url\":\"bad-%d\"}\n", strings.Join(freshBad[i], "\n"), i)
	}
	input := writeFile(t, dir, "docs.jsonl", lines.Bytes())
	out := filepath.Join(dir, "out.jsonl")
	stats, err := Prepare(context.Background(), Config{
		Inputs: []string{input}, OutputPath: out, QualityModelPath: modelPath, MinQuality: 0.5, Workers: 2,
	})
	require.NoError(t, err)
	keptGood, keptBad := 0, 0
	for _, d := range readOutput(t, out) {
		require.NotNil(t, d.Quality)
		assert.GreaterOrEqual(t, *d.Quality, 0.5)
		if strings.HasPrefix(d.URL, "good-") {
			keptGood++
		} else {
			keptBad++
		}
	}
	assert.GreaterOrEqual(t, keptGood, 19)
	assert.LessOrEqual(t, keptBad, 1)
	assert.Equal(t, int64(40-keptGood-keptBad), stats.DocumentsDropped[DropQuality])
}

func TestPrepareRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	page := writeFile(t, dir, "p.html", []byte(htmlPage("x", "y")))
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no output", Config{Inputs: []string{page}}, "no output"},
		{"bad shard", Config{Inputs: []string{page}, OutputPath: filepath.Join(dir, "o"), Shard: 2, NumShards: 2}, "shard 2"},
		{"unknown input", Config{Inputs: []string{filepath.Join(dir, "model.bin")}, OutputPath: filepath.Join(dir, "o")}, "model.bin"},
		{"unknown language", Config{Inputs: []string{page}, OutputPath: filepath.Join(dir, "o"), LIDLanguages: []string{"xx"}}, `"xx"`},
	} {
		_, err := Prepare(context.Background(), tc.cfg)
		assert.ErrorContains(t, err, tc.want, tc.name)
	}
}
