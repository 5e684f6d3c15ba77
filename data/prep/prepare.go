package prep

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync/atomic"
	"time"
)

// Reasons a document or paragraph is dropped, as counted in Stats.
const (
	DropCorrupt       = "corrupt"        // record or line that could not be parsed
	DropTooLarge      = "too_large"      // page over 16 MiB
	DropExtractFailed = "extract_failed" // HTML the extractor could not handle
	DropNoText        = "no_text"        // nothing left after extraction
	DropLanguage      = "language"       // not the target language, or not confidently
	DropDuplicate     = "duplicate"      // paragraph already seen in this run or a persisted one
	DropQuality       = "quality"        // quality score under --min-quality
)

// Config is one run of the data-preparation pipeline.
type Config struct {
	Inputs     []string // files or directories; see ExpandInputs
	OutputPath string   // JSONL written atomically: text, url, lang, lang_score, quality
	StatsPath  string   // stats JSON; "" means OutputPath + ".stats.json"

	Lang         string   // ISO 639-1 code to keep, per paragraph; "" keeps every language
	MinLangScore float64  // paragraphs identified with lower confidence are dropped (only with Lang)
	LIDLanguages []string // candidate languages for identification; nil means all the backend knows

	SeenPath     string // persisted dedup set: loaded if present, saved at the end; "" keeps it in memory
	SeenMaxBytes int64  // memory budget of the dedup set; 0 means 1 GiB

	QualityModelPath string  // model from TrainQualityFiles; "" skips quality scoring
	MinQuality       float64 // documents scoring lower are dropped

	Workers   int // 0 means runtime.NumCPU()
	Shard     int // this machine's shard in [0, NumShards)
	NumShards int // 0 or 1 means no sharding

	Progress         io.Writer     // progress lines; nil is silent
	ProgressInterval time.Duration // 0 means 2 s

	// LID replaces the identifier built from LIDLanguages (tests).
	LID LanguageIdentifier
}

// Stats counts what a run read, kept and dropped.
type Stats struct {
	Files             int              `json:"files"`
	BytesIn           int64            `json:"bytes_in"`
	DocumentsIn       int64            `json:"documents_in"`
	DocumentsKept     int64            `json:"documents_kept"`
	DocumentsDropped  map[string]int64 `json:"documents_dropped"`
	ParagraphsIn      int64            `json:"paragraphs_in"`
	ParagraphsKept    int64            `json:"paragraphs_kept"`
	ParagraphsDropped map[string]int64 `json:"paragraphs_dropped"`
	// RecordsSkipped are WARC records that are no page at all (requests,
	// redirects, images), by reason; they are not documents.
	RecordsSkipped map[string]int64 `json:"records_skipped"`
	SeenSetEntries int              `json:"seen_set_entries"`
	// SeenSetRefused counts paragraphs kept but not remembered because the
	// dedup set hit its memory budget: raise --seen-max-mb if nonzero.
	SeenSetRefused int64   `json:"seen_set_refused"`
	Seconds        float64 `json:"seconds"`
}

func newStats() *Stats {
	return &Stats{DocumentsDropped: map[string]int64{}, ParagraphsDropped: map[string]int64{}, RecordsSkipped: map[string]int64{}}
}

// OutputDocument is one line of the output JSONL. Quality is null when no
// model was given.
type OutputDocument struct {
	Text      string   `json:"text"`
	URL       string   `json:"url"`
	Lang      string   `json:"lang"`
	LangScore float64  `json:"lang_score"`
	Quality   *float64 `json:"quality"`
}

// scoredParagraph is a paragraph after the parallel stage.
type scoredParagraph struct {
	text      string
	lang      string
	langScore float64
	langOK    bool
	hash      uint64
	quality   qualityPartial
}

// scoredDocument is a document after the parallel stage; drop is set when
// it is rejected as a whole before deduplication.
type scoredDocument struct {
	url        string
	drop       string
	paragraphs []scoredParagraph
}

// Prepare runs the pipeline of Config: read, extract, identify language
// per paragraph, deduplicate paragraphs, score quality, write JSONL and the
// stats file, then persist the dedup set. The output is identical for any
// Workers value.
func Prepare(ctx context.Context, cfg Config) (*Stats, error) {
	start := time.Now()
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	files, err := ExpandInputs(cfg.Inputs)
	if err != nil {
		return nil, err
	}
	files = ShardFiles(files, cfg.Shard, cfg.NumShards)
	filters, err := loadFilters(cfg)
	if err != nil {
		return nil, err
	}

	stats := newStats()
	stats.Files = len(files)
	var bytesRead, docsDone atomic.Int64
	stopProgress := startProgress(cfg.Progress, cfg.ProgressInterval, start, &bytesRead, &docsDone)
	counts := &readerCounts{}
	err = writeFileAtomic(cfg.OutputPath, writerToFunc(func(w io.Writer) error {
		return writeKeptDocuments(ctx, w, cfg, files, filters, stats, &bytesRead, &docsDone, counts)
	}))
	stopProgress()
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}

	stats.BytesIn = bytesRead.Load()
	stats.addReaderCounts(counts)
	stats.SeenSetEntries = filters.seen.Len()
	stats.SeenSetRefused = filters.seen.Refused()
	stats.Seconds = time.Since(start).Seconds()
	if err := writeFileAtomic(cfg.StatsPath, writerToFunc(func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(stats)
	})); err != nil {
		return stats, err
	}
	// The seen set is saved last: were it saved before the output and the
	// run then failed, a rerun would drop this shard's paragraphs as
	// duplicates of text that was never written.
	if cfg.SeenPath != "" {
		if err := filters.seen.SaveAtomic(cfg.SeenPath); err != nil {
			return stats, err
		}
	}
	return stats, nil
}

// withDefaults checks the output and shard settings and fills in the
// documented defaults of zero fields.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.OutputPath == "" {
		return cfg, fmt.Errorf("prepare: no output path")
	}
	if cfg.NumShards > 1 && (cfg.Shard < 0 || cfg.Shard >= cfg.NumShards) {
		return cfg, fmt.Errorf("prepare: shard %d not in [0, %d)", cfg.Shard, cfg.NumShards)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.NumCPU()
	}
	if cfg.SeenMaxBytes <= 0 {
		cfg.SeenMaxBytes = 1 << 30
	}
	if cfg.StatsPath == "" {
		cfg.StatsPath = cfg.OutputPath + ".stats.json"
	}
	return cfg, nil
}

// documentFilters are what every paragraph is checked against: the language
// identifier, the quality model (nil without --quality-model) and the dedup
// set, loaded before any input is read so a bad model fails fast.
type documentFilters struct {
	lid     LanguageIdentifier
	quality *QualityModel
	seen    *SeenSet
}

func loadFilters(cfg Config) (documentFilters, error) {
	var f documentFilters
	var err error
	f.lid = cfg.LID
	if f.lid == nil {
		if f.lid, err = NewLanguageIdentifier(cfg.LIDLanguages); err != nil {
			return f, err
		}
	}
	if cfg.QualityModelPath != "" {
		if f.quality, err = LoadQualityModel(cfg.QualityModelPath); err != nil {
			return f, err
		}
	}
	f.seen = NewSeenSet(cfg.SeenMaxBytes)
	if cfg.SeenPath != "" {
		if f.seen, err = LoadSeenSet(cfg.SeenPath, cfg.SeenMaxBytes); err != nil {
			return f, err
		}
	}
	return f, nil
}

// writeKeptDocuments runs the pipeline over files and writes every kept
// document to w as one JSONL line, counting the rest in stats.
func writeKeptDocuments(ctx context.Context, w io.Writer, cfg Config, files []string, filters documentFilters,
	stats *Stats, bytesRead, docsDone *atomic.Int64, counts *readerCounts) error {
	newProcess := func() func(rawDocument) scoredDocument {
		var hasher *featureHasher
		if filters.quality != nil {
			hasher = newFeatureHasher(len(filters.quality.Weights))
		}
		return func(doc rawDocument) scoredDocument {
			return scoreDocument(doc, cfg.Lang, cfg.MinLangScore, filters.lid, filters.quality, hasher)
		}
	}
	out := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	consume := func(doc scoredDocument) error {
		docsDone.Add(1)
		kept, ok := keepDocument(doc, cfg.Lang, filters.seen, filters.quality, cfg.MinQuality, stats)
		if !ok {
			return nil
		}
		return enc.Encode(kept)
	}
	if err := runOrdered(ctx, files, cfg.Workers, bytesRead, counts, newProcess, consume); err != nil {
		return err
	}
	return out.Flush()
}

// addReaderCounts adds the records the reader dropped or skipped before they
// became documents: damaged ones still count as documents read.
func (stats *Stats) addReaderCounts(counts *readerCounts) {
	stats.DocumentsIn += counts.corrupt + counts.tooLarge
	addCount(stats.DocumentsDropped, DropCorrupt, counts.corrupt)
	addCount(stats.DocumentsDropped, DropTooLarge, counts.tooLarge)
	for reason, n := range counts.skipped {
		stats.RecordsSkipped[reason] += n
	}
}

// writerToFunc adapts a function to io.WriterTo for writeFileAtomic.
type writerToFunc func(io.Writer) error

func (f writerToFunc) WriteTo(w io.Writer) (int64, error) { return 0, f(w) }

func addCount(m map[string]int64, key string, n int64) {
	if n != 0 {
		m[key] += n
	}
}

// scoreDocument is the parallel stage: extraction, language identification
// and quality features of every paragraph.
func scoreDocument(doc rawDocument, targetLang string, minLangScore float64, lid LanguageIdentifier, quality *QualityModel, hasher *featureHasher) scoredDocument {
	out := scoredDocument{url: doc.url}
	var paragraphs []string
	if doc.isHTML {
		var err error
		if paragraphs, err = ExtractMainText(doc.body); err != nil {
			out.drop = DropExtractFailed
			return out
		}
	} else {
		paragraphs = SplitParagraphs(string(doc.body))
	}
	if len(paragraphs) == 0 {
		out.drop = DropNoText
		return out
	}
	out.paragraphs = make([]scoredParagraph, len(paragraphs))
	for i, text := range paragraphs {
		p := scoredParagraph{text: text}
		p.lang, p.langScore = lid.Identify(text)
		p.langOK = targetLang == "" || (p.lang == targetLang && p.langScore >= minLangScore)
		if p.langOK {
			p.hash = ParagraphHash(text)
			if quality != nil {
				p.quality = quality.partial(hasher, text)
			}
		}
		out.paragraphs[i] = p
	}
	return out
}

// keepDocument is the ordered stage: paragraph dedup against everything
// seen before, then the document's language and quality. It returns the
// line to write, or false when the document is dropped.
func keepDocument(doc scoredDocument, targetLang string, seen *SeenSet, quality *QualityModel, minQuality float64, stats *Stats) (OutputDocument, bool) {
	stats.DocumentsIn++
	stats.ParagraphsIn += int64(len(doc.paragraphs))
	if doc.drop != "" {
		stats.DocumentsDropped[doc.drop]++
		return OutputDocument{}, false
	}
	var kept []scoredParagraph
	var langDropped, dupDropped int64
	for _, p := range doc.paragraphs {
		switch {
		case !p.langOK:
			langDropped++
		case seen.CheckAndAdd(p.hash):
			dupDropped++
		default:
			kept = append(kept, p)
		}
	}
	addCount(stats.ParagraphsDropped, DropLanguage, langDropped)
	addCount(stats.ParagraphsDropped, DropDuplicate, dupDropped)
	if len(kept) == 0 {
		reason := DropLanguage
		if dupDropped > langDropped {
			reason = DropDuplicate
		}
		stats.DocumentsDropped[reason]++
		return OutputDocument{}, false
	}

	out := OutputDocument{URL: doc.url}
	out.Lang, out.LangScore = documentLanguage(kept, targetLang)
	if quality != nil {
		var total qualityPartial
		for _, p := range kept {
			total.add(p.quality)
		}
		q := round4(quality.probability(total))
		if q < minQuality {
			stats.DocumentsDropped[DropQuality]++
			stats.ParagraphsDropped[DropQuality] += int64(len(kept))
			return OutputDocument{}, false
		}
		out.Quality = &q
	}
	size := len(kept) - 1
	for _, p := range kept {
		size += len(p.text)
	}
	text := make([]byte, 0, size)
	for i, p := range kept {
		if i > 0 {
			text = append(text, '\n')
		}
		text = append(text, p.text...)
	}
	out.Text = string(text)
	stats.DocumentsKept++
	stats.ParagraphsKept += int64(len(kept))
	return out, true
}

// documentLanguage is the target language, or else the language covering
// the most characters, with the character-weighted confidence of the
// paragraphs in it (paragraphs in other languages count as 0).
func documentLanguage(kept []scoredParagraph, targetLang string) (string, float64) {
	chars := map[string]int{}
	total := 0
	for _, p := range kept {
		chars[p.lang] += len(p.text)
		total += len(p.text)
	}
	lang := targetLang
	if lang == "" {
		for _, p := range kept { // first-seen wins ties: deterministic, unlike map order
			if chars[p.lang] > chars[lang] || lang == "" {
				lang = p.lang
			}
		}
	}
	var weighted float64
	for _, p := range kept {
		if p.lang == lang {
			weighted += p.langScore * float64(len(p.text))
		}
	}
	return lang, round4(weighted / float64(total))
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// startProgress prints throughput to w every interval until the returned
// stop is called, which prints a final line.
func startProgress(w io.Writer, interval time.Duration, start time.Time, bytesRead, docsDone *atomic.Int64) (stop func()) {
	if w == nil {
		return func() {}
	}
	if interval <= 0 {
		interval = 2 * time.Second
	}
	report := func() {
		elapsed := time.Since(start).Seconds()
		docs, mb := docsDone.Load(), float64(bytesRead.Load())/1e6
		fmt.Fprintf(w, "data prepare: %d documents (%.0f/s), %.1f MB read (%.2f MB/s), %.0fs\n",
			docs, float64(docs)/elapsed, mb, mb/elapsed, elapsed)
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-ticker.C:
				report()
			case <-done:
				report()
				return
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
