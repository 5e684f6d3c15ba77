package prep

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// qualityFileMagic opens a saved QualityModel: magic, bucket count (uint32),
// bias (float32), one float32 weight per bucket, then a CRC-32 (IEEE) of all
// before it; little-endian. The feature recipe below is part of the format:
// changing it means a new magic.
const qualityFileMagic = "NRGQUAL1"

// maxQualityBuckets bounds what a model file may claim (256 MiB of weights).
const maxQualityBuckets = 1 << 26

// maxFeaturesPerDocument caps the features one training document keeps so a
// training set of long pages fits in memory; the first paragraphs of a page
// are plenty to tell its quality.
const maxFeaturesPerDocument = 1 << 15

// Feature recipe (fastText-style, the paper filters with a fastText linear
// classifier): per paragraph, lower-cased whitespace tokens, token bigrams,
// and character 3- to 5-grams of each token wrapped in '<' '>', all hashed
// into Buckets. Features never span paragraphs, which makes a document's
// score a sum over its paragraphs, computed by the workers in parallel and
// combined after deduplication has removed some paragraphs.
const (
	charNgramMin = 3
	charNgramMax = 5
)

// Seeds separating the feature kinds in the hash space.
const (
	seedWord   = 0x57
	seedBigram = 0xb1
	seedChar   = 0xc4
)

// QualityModel is a linear classifier with logistic loss over hashed
// features; Score > 0.5 means "looks like the good training set".
type QualityModel struct {
	Bias    float32
	Weights []float32 // len is a power of two
}

// qualityPartial is one paragraph's contribution to a document score.
type qualityPartial struct {
	weightSum float64
	features  int
}

func (q *qualityPartial) add(o qualityPartial) {
	q.weightSum += o.weightSum
	q.features += o.features
}

// featureHasher turns paragraphs into bucket ids, reusing its buffers.
type featureHasher struct {
	mask       uint64
	buf        []byte
	runeStarts []int
	bucket     []uint32
}

func newFeatureHasher(buckets int) *featureHasher {
	return &featureHasher{mask: uint64(buckets - 1)}
}

func mixSeed(h, seed uint64) uint64 { return bits.RotateLeft64(h, 17) ^ seed*0x9e3779b97f4a7c15 }

// features returns the bucket ids of paragraph; the slice is reused by the
// next call.
func (f *featureHasher) features(paragraph string) []uint32 {
	f.bucket = f.bucket[:0]
	var prevWord uint64
	havePrev := false
	for token := range strings.FieldsSeq(paragraph) {
		f.buf = append(f.buf[:0], '<')
		f.buf = append(f.buf, strings.ToLower(token)...)
		f.buf = append(f.buf, '>')
		word := xxhash.Sum64(f.buf)
		f.bucket = append(f.bucket, uint32(mixSeed(word, seedWord)&f.mask))
		if havePrev {
			f.bucket = append(f.bucket, uint32(mixSeed(prevWord*31+word, seedBigram)&f.mask))
		}
		prevWord, havePrev = word, true
		// Character n-grams on rune boundaries of "<token>".
		f.runeStarts = f.runeStarts[:0]
		for i := range string(f.buf) {
			f.runeStarts = append(f.runeStarts, i)
		}
		f.runeStarts = append(f.runeStarts, len(f.buf))
		runes := len(f.runeStarts) - 1
		for i := range runes {
			for n := charNgramMin; n <= charNgramMax && i+n <= runes; n++ {
				gram := f.buf[f.runeStarts[i]:f.runeStarts[i+n]]
				f.bucket = append(f.bucket, uint32(mixSeed(xxhash.Sum64(gram), seedChar)&f.mask))
			}
		}
	}
	return f.bucket
}

// partial scores one paragraph.
func (m *QualityModel) partial(f *featureHasher, paragraph string) qualityPartial {
	var q qualityPartial
	for _, b := range f.features(paragraph) {
		q.weightSum += float64(m.Weights[b])
	}
	q.features = len(f.bucket)
	return q
}

// probability turns summed paragraph contributions into P(good).
func (m *QualityModel) probability(q qualityPartial) float64 {
	z := float64(m.Bias)
	if q.features > 0 {
		z += q.weightSum / float64(q.features)
	}
	return sigmoid(z)
}

// Score is P(good) for a document given as paragraphs.
func (m *QualityModel) Score(paragraphs []string) float64 {
	f := newFeatureHasher(len(m.Weights))
	var total qualityPartial
	for _, p := range paragraphs {
		total.add(m.partial(f, p))
	}
	return m.probability(total)
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// QualityTrainConfig sets the SGD run of TrainQuality.
type QualityTrainConfig struct {
	Buckets         int     // hash buckets, a power of two; 0 means 1<<18 (1 MiB of weights)
	Epochs          int     // 0 means 10
	LearningRate    float64 // initial rate, decayed linearly to 0 as fastText does; 0 means 0.1
	HeldOutFraction float64 // share of each class kept out of training to measure accuracy; 0 means 0.1
	Seed            uint64  // shuffling seed; runs with equal seeds give equal models
}

func (c QualityTrainConfig) withDefaults() QualityTrainConfig {
	if c.Buckets == 0 {
		c.Buckets = 1 << 18
	}
	if c.Epochs == 0 {
		c.Epochs = 10
	}
	if c.LearningRate == 0 {
		c.LearningRate = 0.1
	}
	if c.HeldOutFraction == 0 {
		c.HeldOutFraction = 0.1
	}
	return c
}

// QualityReport says how well a trained model separates the two sets.
type QualityReport struct {
	GoodDocuments   int     `json:"good_documents"`
	BadDocuments    int     `json:"bad_documents"`
	TrainDocuments  int     `json:"train_documents"`
	HeldOutDocs     int     `json:"held_out_documents"`
	TrainAccuracy   float64 `json:"train_accuracy"`
	HeldOutAccuracy float64 `json:"held_out_accuracy"`
}

type labeledFeatures struct {
	buckets []uint32
	good    bool
}

// TrainQuality fits a QualityModel telling good documents from bad ones,
// each document given as paragraphs. Classes are weighted to count equally,
// since "random crawl" sets usually outnumber curated ones.
func TrainQuality(good, bad [][]string, cfg QualityTrainConfig) (*QualityModel, QualityReport, error) {
	cfg = cfg.withDefaults()
	if cfg.Buckets <= 0 || cfg.Buckets&(cfg.Buckets-1) != 0 || cfg.Buckets > maxQualityBuckets {
		return nil, QualityReport{}, fmt.Errorf("train quality: buckets %d is not a power of two in [1, %d]", cfg.Buckets, maxQualityBuckets)
	}
	if cfg.HeldOutFraction < 0 || cfg.HeldOutFraction >= 1 {
		return nil, QualityReport{}, fmt.Errorf("train quality: held-out fraction %g not in [0, 1)", cfg.HeldOutFraction)
	}
	// One generator for the split and the epochs, in that order, so equal
	// seeds give equal models.
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	report := QualityReport{GoodDocuments: len(good), BadDocuments: len(bad)}
	train, heldOut, err := splitQualityExamples(good, bad, cfg, rng)
	if err != nil {
		return nil, report, err
	}
	model := fitQuality(train, cfg, rng)
	report.TrainDocuments, report.HeldOutDocs = len(train), len(heldOut)
	report.TrainAccuracy = model.accuracy(train)
	report.HeldOutAccuracy = model.accuracy(heldOut)
	return model, report, nil
}

// splitQualityExamples hashes each document's features and splits every
// class at random into training and held-out examples, holding out at least
// one and training on at least one per class when HeldOutFraction > 0.
func splitQualityExamples(good, bad [][]string, cfg QualityTrainConfig, rng *rand.Rand) (train, heldOut []labeledFeatures, err error) {
	hasher := newFeatureHasher(cfg.Buckets)
	for _, class := range []struct {
		docs [][]string
		good bool
	}{{good, true}, {bad, false}} {
		examples := make([]labeledFeatures, 0, len(class.docs))
		for _, doc := range class.docs {
			var buckets []uint32
			for _, p := range doc {
				if len(buckets) >= maxFeaturesPerDocument {
					break
				}
				buckets = append(buckets, hasher.features(p)...)
			}
			if len(buckets) > 0 {
				examples = append(examples, labeledFeatures{buckets: buckets, good: class.good})
			}
		}
		if len(examples) < 2 {
			return nil, nil, fmt.Errorf("train quality: need at least 2 non-empty documents per class, have %d (good=%v)", len(examples), class.good)
		}
		rng.Shuffle(len(examples), func(i, j int) { examples[i], examples[j] = examples[j], examples[i] })
		nHeld := int(math.Round(cfg.HeldOutFraction * float64(len(examples))))
		if cfg.HeldOutFraction > 0 {
			nHeld = max(1, min(nHeld, len(examples)-1))
		}
		heldOut = append(heldOut, examples[:nHeld]...)
		train = append(train, examples[nHeld:]...)
	}
	return train, heldOut, nil
}

// fitQuality trains the logistic model by SGD over cfg.Epochs shuffled
// passes of train, with a linearly decaying learning rate.
func fitQuality(train []labeledFeatures, cfg QualityTrainConfig, rng *rand.Rand) *QualityModel {
	nGood := 0
	for _, e := range train {
		if e.good {
			nGood++
		}
	}
	classWeight := map[bool]float64{
		true:  float64(len(train)) / (2 * float64(nGood)),
		false: float64(len(train)) / (2 * float64(len(train)-nGood)),
	}

	model := &QualityModel{Weights: make([]float32, cfg.Buckets)}
	totalSteps := float64(cfg.Epochs * len(train))
	step := 0
	for range cfg.Epochs {
		rng.Shuffle(len(train), func(i, j int) { train[i], train[j] = train[j], train[i] })
		for _, e := range train {
			lr := cfg.LearningRate * (1 - float64(step)/totalSteps)
			step++
			p := model.probability(model.sumWeights(e.buckets))
			label := 0.0
			if e.good {
				label = 1
			}
			// d(logistic loss)/dz = p - y with z = bias + mean(feature weights),
			// so the true gradient of a weight is (p-y)/n. Stepping every
			// feature by (p-y) instead moves this example's z by about one
			// learning rate whatever the document's length: plain (p-y)/n
			// steps left long documents untrained after ten epochs.
			grad := (p - label) * classWeight[e.good] * lr
			for _, b := range e.buckets {
				model.Weights[b] -= float32(grad)
			}
			model.Bias -= float32(grad)
		}
	}
	return model
}

func (m *QualityModel) sumWeights(buckets []uint32) qualityPartial {
	q := qualityPartial{features: len(buckets)}
	for _, b := range buckets {
		q.weightSum += float64(m.Weights[b])
	}
	return q
}

func (m *QualityModel) accuracy(examples []labeledFeatures) float64 {
	if len(examples) == 0 {
		return math.NaN()
	}
	correct := 0
	for _, e := range examples {
		if (m.probability(m.sumWeights(e.buckets)) > 0.5) == e.good {
			correct++
		}
	}
	return float64(correct) / float64(len(examples))
}

// WriteTo writes the model in the saved format.
func (m *QualityModel) WriteTo(w io.Writer) (int64, error) {
	crc := crc32.NewIEEE()
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 1<<20)
	buf := make([]byte, 0, 16+4*len(m.Weights))
	buf = append(buf, qualityFileMagic...)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(m.Weights)))
	buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(m.Bias))
	for _, wt := range m.Weights {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(wt))
	}
	n, err := bw.Write(buf)
	if err != nil {
		return int64(n), err
	}
	if err := bw.Flush(); err != nil {
		return int64(n), err
	}
	m2, err := w.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32()))
	return int64(n + m2), err
}

// ReadQualityModel parses a saved model.
func ReadQualityModel(r io.Reader) (*QualityModel, error) {
	br := bufio.NewReader(r)
	var header [16]byte
	if _, err := io.ReadFull(br, header[:]); err != nil {
		return nil, fmt.Errorf("quality model: header: %w", err)
	}
	if string(header[:8]) != qualityFileMagic {
		return nil, fmt.Errorf("quality model: bad magic %q (want %q)", header[:8], qualityFileMagic)
	}
	buckets := binary.LittleEndian.Uint32(header[8:])
	if buckets == 0 || buckets&(buckets-1) != 0 || buckets > maxQualityBuckets {
		return nil, fmt.Errorf("quality model: bucket count %d is not a power of two in [1, %d]", buckets, maxQualityBuckets)
	}
	crc := crc32.Update(0, crc32.IEEETable, header[:])
	model := &QualityModel{Bias: math.Float32frombits(binary.LittleEndian.Uint32(header[12:]))}
	// Read in chunks so a lying header fails at end of input, not by
	// allocating its claim up front.
	chunk := make([]byte, 4*min(int(buckets), 1<<16))
	for remaining := int(buckets); remaining > 0; {
		n := min(remaining, len(chunk)/4)
		if _, err := io.ReadFull(br, chunk[:4*n]); err != nil {
			return nil, fmt.Errorf("quality model: weights: %w", err)
		}
		crc = crc32.Update(crc, crc32.IEEETable, chunk[:4*n])
		for i := range n {
			model.Weights = append(model.Weights, math.Float32frombits(binary.LittleEndian.Uint32(chunk[4*i:])))
		}
		remaining -= n
	}
	var sum [4]byte
	if _, err := io.ReadFull(br, sum[:]); err != nil {
		return nil, fmt.Errorf("quality model: checksum: %w", err)
	}
	if got := binary.LittleEndian.Uint32(sum[:]); got != crc {
		return nil, fmt.Errorf("quality model: checksum %#x, want %#x", got, crc)
	}
	return model, nil
}

// LoadQualityModel reads a model saved by Save.
func LoadQualityModel(path string) (*QualityModel, error) {
	return loadFile(path, ReadQualityModel)
}

// Save writes the model to path atomically.
func (m *QualityModel) Save(path string) error {
	return writeFileAtomic(path, m)
}

// TrainQualityFiles reads good and bad documents from files (any input
// format; HTML goes through the same extraction as Prepare, so the model
// sees the text it will later score) and trains a model on them.
func TrainQualityFiles(ctx context.Context, goodFiles, badFiles []string, workers int, cfg QualityTrainConfig) (*QualityModel, QualityReport, error) {
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	var classes [2][][]string
	for i, inputs := range [][]string{goodFiles, badFiles} {
		files, err := ExpandInputs(inputs)
		if err != nil {
			return nil, QualityReport{}, err
		}
		var bytesRead atomic.Int64
		newProcess := func() func(rawDocument) []string {
			return func(doc rawDocument) []string {
				if !doc.isHTML {
					return SplitParagraphs(string(doc.body))
				}
				paragraphs, _ := ExtractMainText(doc.body) // an unreadable page is just not a training example
				return paragraphs
			}
		}
		consume := func(paragraphs []string) error {
			if len(paragraphs) > 0 {
				classes[i] = append(classes[i], paragraphs)
			}
			return nil
		}
		if err := runOrdered(ctx, files, workers, &bytesRead, &readerCounts{}, newProcess, consume); err != nil {
			return nil, QualityReport{}, fmt.Errorf("train quality: %w", err)
		}
	}
	return TrainQuality(classes[0], classes[1], cfg)
}
