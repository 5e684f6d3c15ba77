package trained

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/nrgraph/nrgraph/export"
	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/tokenizer"
	"github.com/nrgraph/nrgraph/runtime"
)

// GenerateOptions configure Generate.
type GenerateOptions struct {
	// ModelDir is an HF model directory; or Build (+ Checkpoint) for an
	// extended model.
	ModelDir   string
	Build      string
	Checkpoint string
	GatesOff   bool
	Prompt     string
	MaxNew     int
	// Temperature 0 is greedy decoding.
	Temperature float64
	TopK        int
	Seed        uint64
	BOS, EOS    int
	Tokenizer   tokenizer.Codec
	Threads     int
	// Out receives the text as it is generated.
	Out io.Writer
}

// Generate continues a prompt token by token, recomputing the whole
// sequence each step (simple, and enough to see that a model works).
func Generate(o GenerateOptions) (string, error) {
	var g *graph.Graph
	var err error
	var maxPos int
	if o.Build != "" {
		dir, err := os.MkdirTemp("", "nrgraph-generate-")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(dir)
		if err := Export(ExportOptions{Build: o.Build, Checkpoint: o.Checkpoint, Out: dir, GatesOff: o.GatesOff}); err != nil {
			return "", err
		}
		return generateFrom(filepath.Join(dir, ExportONNX), o, 0)
	}
	c, w, err := models.LoadModelDir(o.ModelDir)
	if err != nil {
		return "", err
	}
	maxPos = c.MaxPositions
	ext, _ := models.DefaultExtension(models.Adapters)
	ext.GatesOff = true
	if g, err = models.BuildLogitsGraph(models.Model{Config: c, Weights: w, Ext: ext}); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "nrgraph-generate-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.onnx")
	if err := export.Save(g, path, export.Options{}); err != nil {
		return "", err
	}
	return generateFrom(path, o, maxPos)
}

func generateFrom(path string, o GenerateOptions, maxPos int) (string, error) {
	s, err := runtime.Open(path, []string{models.InputIDs, models.AttentionMask}, []string{"logits"}, runtime.Options{Threads: o.Threads})
	if err != nil {
		return "", err
	}
	defer s.Close()
	ids := o.Tokenizer.Encode(o.Prompt, false)
	if o.BOS >= 0 {
		ids = append([]int{o.BOS}, ids...)
	}
	if len(ids) == 0 {
		return "", fmt.Errorf("empty prompt and no BOS token")
	}
	rng := rand.New(rand.NewPCG(o.Seed, 7))
	start := len(ids)
	printed := ""
	for step := 0; step < o.MaxNew; step++ {
		window := ids
		if maxPos > 0 && len(window) > maxPos {
			window = window[len(window)-maxPos:]
		}
		in := make([]int64, len(window))
		mask := make([]float32, len(window))
		for i, id := range window {
			in[i], mask[i] = int64(id), 1
		}
		it, err := runtime.NewTensor([]int64{1, int64(len(in))}, in)
		if err != nil {
			return "", err
		}
		mt, err := runtime.NewTensor([]int64{1, int64(len(in))}, mask)
		if err != nil {
			it.Destroy()
			return "", err
		}
		out, err := s.Run([]*runtime.Tensor{it, mt}, []*runtime.Tensor{nil})
		it.Destroy()
		mt.Destroy()
		if err != nil {
			return "", err
		}
		logits := out[0].Float32s()
		vocab := int(out[0].Shape[2])
		last := append([]float32{}, logits[(len(in)-1)*vocab:len(in)*vocab]...)
		out[0].Destroy()
		next := sample(last, o.Temperature, o.TopK, rng)
		if next == o.EOS {
			break
		}
		ids = append(ids, next)
		text := o.Tokenizer.Decode(ids[start:])
		if o.Out != nil && len(text) > len(printed) {
			fmt.Fprint(o.Out, text[len(printed):])
			printed = text
		}
	}
	return o.Tokenizer.Decode(ids[start:]), nil
}

// sample picks the argmax (temperature 0) or samples from softmax(l/T)
// restricted to the top k.
func sample(logits []float32, temperature float64, topK int, rng *rand.Rand) int {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	if temperature <= 0 {
		return best
	}
	type cand struct {
		id int
		p  float64
	}
	cands := make([]cand, 0, len(logits))
	for i, v := range logits {
		cands = append(cands, cand{i, float64(v)})
	}
	if topK > 0 && topK < len(cands) {
		// Partial selection of the k largest.
		for i := 0; i < topK; i++ {
			m := i
			for j := i + 1; j < len(cands); j++ {
				if cands[j].p > cands[m].p {
					m = j
				}
			}
			cands[i], cands[m] = cands[m], cands[i]
		}
		cands = cands[:topK]
	}
	total := 0.0
	for i := range cands {
		cands[i].p = math.Exp((cands[i].p - float64(logits[best])) / temperature)
		total += cands[i].p
	}
	u := rng.Float64() * total
	for _, c := range cands {
		u -= c.p
		if u <= 0 {
			return c.id
		}
	}
	return cands[len(cands)-1].id
}
