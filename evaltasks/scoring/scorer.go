package scoring

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/nrgraph/nrgraph/evaltasks"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/models/tokenizer"
	"github.com/nrgraph/nrgraph/runtime"
)

// Scorer runs a build's score graph (the compiled forward) with a set of
// trained parameters: per-token log-probabilities for perplexity and
// benchmark scoring. It implements evaltasks.Scorer.
type Scorer struct {
	man *build.Manifest
	// paramsFile is the safetensors file the parameters came from.
	paramsFile string
	sess       *runtime.Session
	params     map[string]*runtime.Tensor
	tok        tokenizer.Encoder
	maxLen     int
	maxRows    int
	// BOS is prepended to every scored sequence when >= 0 (so the first
	// real token has a context).
	BOS int
	// Windows is how Perplexity cuts long documents; empty means
	// evaltasks.WindowsRolling, lm-eval's scheme.
	Windows evaltasks.WindowScheme
	// packed scores a question's continuations in one row (packed.go).
	packed packedScorer
	// positionsRead counts the token positions the model has read.
	positionsRead int64
}

// PositionsRead is how many token positions the model has read so far:
// the compute a benchmark run costs, padding aside.
func (s *Scorer) PositionsRead() int64 { return s.positionsRead }

// ScorerOptions configure OpenScorer.
type ScorerOptions struct {
	// Checkpoint is a run directory or checkpoint directory; empty uses the
	// build's initial weights (the unextended backbone for every method).
	Checkpoint string
	Threads    int
	Provider   string
	// Unpacked scores one row per continuation, as lm-eval does, even where
	// the build's packed graph could read a question's context once.
	Unpacked bool
	// MaxLen caps the scored window (default: the build's max positions).
	MaxLen  int
	MaxRows int // rows per batch (default 16)
	BOS     int // -1: none
}

// OpenScorer loads the score graph and parameters.
func OpenScorer(buildDir string, tok tokenizer.Encoder, o ScorerOptions) (*Scorer, error) {
	man, err := build.ReadManifest(buildDir)
	if err != nil {
		return nil, err
	}
	paramsFile := filepath.Join(buildDir, build.InitFile)
	if o.Checkpoint != "" {
		if paramsFile, err = build.CheckpointStateFile(o.Checkpoint, man, buildDir); err != nil {
			return nil, err
		}
	}
	values, err := build.ReadTensors(paramsFile)
	if err != nil {
		return nil, err
	}
	p := runtime.CPU
	if o.Provider != "" {
		if p, err = runtime.ParseProvider(o.Provider); err != nil {
			return nil, err
		}
	}
	if err := man.CheckProvider(p); err != nil {
		return nil, fmt.Errorf("%s: %w", buildDir, err)
	}
	io := man.Graphs["score"]
	outputs := []string{models.TargetLogProbs_, models.TargetIsArgmax}
	sess, err := runtime.Open(filepath.Join(buildDir, build.ScoreGraph), io.Inputs, outputs, runtime.Options{Threads: o.Threads, Provider: p, NoArena: man.LeanMemory()})
	if err != nil {
		return nil, err
	}
	s := &Scorer{man: man, paramsFile: paramsFile, sess: sess, params: map[string]*runtime.Tensor{}, tok: tok, maxLen: o.MaxLen, maxRows: o.MaxRows, BOS: o.BOS,
		packed: packedScorer{buildDir: buildDir, opts: runtime.Options{Threads: o.Threads, Provider: p, NoArena: man.LeanMemory()}, off: o.Unpacked}}
	if s.maxLen <= 0 {
		s.maxLen = man.Config.MaxPositions
	}
	if s.maxRows <= 0 {
		s.maxRows = 16
	}
	for _, pe := range man.Params {
		vals, ok := values[pe.Name]
		if !ok {
			s.Close()
			return nil, fmt.Errorf("%s: tensor %q missing", paramsFile, pe.Name)
		}
		t, err := runtime.NewTensor(pe.Shape, vals)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.params[pe.Name] = t
	}
	return s, nil
}

// Close releases the session and tensors.
func (s *Scorer) Close() {
	if s.sess != nil {
		s.sess.Close()
	}
	s.packed.close()
	for _, t := range s.params {
		t.Destroy()
	}
}

// Manifest of the scored build.
func (s *Scorer) Manifest() *build.Manifest { return s.man }

// TokenScores are the scores of one sequence's tokens 1..n-1 given their
// prefixes: LogProbs[i] = log p(ids[i+1] | ids[:i+1]).
type TokenScores struct {
	LogProbs []float64
	IsArgmax []bool
}

// ScoreSequences scores token sequences (each at most MaxLen+1 long, at
// least 2), batching rows of similar length and right-padding.
func (s *Scorer) ScoreSequences(seqs [][]int) ([]TokenScores, error) {
	out := make([]TokenScores, len(seqs))
	for start := 0; start < len(seqs); start += s.maxRows {
		end := min(start+s.maxRows, len(seqs))
		if err := s.scoreBatch(seqs[start:end], out[start:end]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Scorer) scoreBatch(seqs [][]int, out []TokenScores) error {
	width := 1
	for i, q := range seqs {
		if len(q) < 2 {
			return fmt.Errorf("sequence %d has %d tokens; scoring needs at least 2", i, len(q))
		}
		if len(q)-1 > s.maxLen {
			return fmt.Errorf("sequence %d has %d tokens, over the %d-token window", i, len(q), s.maxLen+1)
		}
		width = max(width, len(q)-1)
	}
	rows := len(seqs)
	b := build.NewBatch(rows, width)
	for r, q := range seqs {
		for i := 0; i < width; i++ {
			k := r*width + i
			if i < len(q)-1 {
				b.IDs[k], b.Targets[k] = int64(q[i]), int64(q[i+1])
			} else {
				b.AttnMask[k], b.LossMask[k] = 0, 0
			}
		}
	}
	outs, err := s.runBatch(s.sess, b, nil)
	if err != nil {
		return err
	}
	defer outs[0].Destroy()
	defer outs[1].Destroy()
	lp, greedy := outs[0].Float32s(), outs[1].Bools()
	for r, q := range seqs {
		n := len(q) - 1
		s.positionsRead += int64(n)
		out[r] = TokenScores{LogProbs: make([]float64, n), IsArgmax: make([]bool, n)}
		for i := 0; i < n; i++ {
			out[r].LogProbs[i] = float64(lp[r*width+i])
			out[r].IsArgmax[i] = greedy[r*width+i]
		}
	}
	return nil
}

// runBatch feeds a filled batch, extra inputs and the parameters to sess and
// returns its two outputs, which the caller destroys.
func (s *Scorer) runBatch(sess *runtime.Session, b *build.Batch, extra map[string]*runtime.Tensor) ([]*runtime.Tensor, error) {
	bt, err := tensorsFor(b)
	if err != nil {
		return nil, err
	}
	defer bt.Destroy()
	ins := make([]*runtime.Tensor, len(sess.Inputs))
	if err := build.ResolveInputs(ins, sess.Inputs, bt.ByName, extra, s.params); err != nil {
		return nil, err
	}
	return sess.Run(ins, []*runtime.Tensor{nil, nil})
}

// tensorsFor wraps a filled batch (any size) as ORT tensors.
func tensorsFor(b *build.Batch) (*build.BatchTensors, error) {
	bt, err := build.NewBatchTensors(b.Rows, b.Seq)
	if err != nil {
		return nil, err
	}
	copy(bt.Batch.IDs, b.IDs)
	copy(bt.Batch.Targets, b.Targets)
	copy(bt.Batch.AttnMask, b.AttnMask)
	copy(bt.Batch.LossMask, b.LossMask)
	return bt, nil
}

// LogLikelihoods implements evaltasks.Scorer the way lm-evaluation-harness
// does: trailing context whitespace moves to the continuation, the context
// and context+continuation are encoded, the tokens past the context's are
// scored, and over-long inputs are cut on the left.
func (s *Scorer) LogLikelihoods(reqs []evaltasks.Request) ([]evaltasks.Result, error) {
	if s.tok == nil {
		return nil, fmt.Errorf("benchmark scoring needs the model's tokenizer")
	}
	seqs := make([][]int, len(reqs))
	contLen, dropped := make([]int, len(reqs)), make([]int, len(reqs))
	for i, r := range reqs {
		ctx, cont := r.Context, r.Continuation
		trimmed := strings.TrimRight(ctx, " \t\n")
		cont = ctx[len(trimmed):] + cont
		ctx = trimmed
		ctxIDs := s.tok.Encode(ctx, false)
		whole := s.tok.Encode(ctx+cont, false)
		n := len(whole) - len(ctxIDs)
		if n <= 0 || !samePrefix(ctxIDs, whole) {
			// Tokenization merged across the boundary: encode separately.
			whole = append(append([]int{}, ctxIDs...), s.tok.Encode(cont, false)...)
			n = len(whole) - len(ctxIDs)
		}
		if s.BOS >= 0 {
			whole = append([]int{s.BOS}, whole...)
		}
		if len(whole) > s.maxLen+1 {
			dropped[i] = len(whole) - (s.maxLen + 1)
			whole = whole[dropped[i]:]
		}
		seqs[i], contLen[i] = whole, n
	}
	res := make([]evaltasks.Result, len(reqs))
	for i := range seqs {
		contLen[i] = min(contLen[i], len(seqs[i])-1) // truncation may have cut into the continuation
	}
	done, err := s.scorePacked(seqs, contLen, dropped, res)
	if err != nil {
		return nil, err
	}
	var rest []int // requests still to score one row each
	for i := range reqs {
		if !done[i] {
			rest = append(rest, i)
		}
	}
	restSeqs := make([][]int, len(rest))
	for j, i := range rest {
		restSeqs[j] = seqs[i]
	}
	scores, err := s.ScoreSequences(restSeqs)
	if err != nil {
		return nil, err
	}
	for j, sc := range scores {
		i := rest[j]
		n := min(contLen[i], len(sc.LogProbs))
		ll, greedy := 0.0, true
		for _, k := range sc.LogProbs[len(sc.LogProbs)-n:] {
			ll += k
		}
		for _, g := range sc.IsArgmax[len(sc.IsArgmax)-n:] {
			greedy = greedy && g
		}
		res[i] = evaltasks.Result{LogLikelihood: ll, NumTokens: n, IsGreedy: greedy, ContextTokensDropped: dropped[i]}
	}
	return res, nil
}

func samePrefix(prefix, whole []int) bool {
	if len(prefix) > len(whole) {
		return false
	}
	for i := range prefix {
		if prefix[i] != whole[i] {
			return false
		}
	}
	return true
}

// Perplexity scores token documents in windows of the model's length planned
// by s.Windows (each token scored once), returning per-document NLL for
// evaltasks.AggregatePerplexity.
func (s *Scorer) Perplexity(docs [][]int, docBytes []int) ([]evaltasks.DocumentNLL, error) {
	window := s.maxLen
	out := make([]evaltasks.DocumentNLL, len(docs))
	type job struct {
		doc   int
		seq   []int
		first int // first scored position within seq's targets
	}
	var jobs []job
	for d, ids := range docs {
		if len(ids) < 2 {
			continue
		}
		wins, err := evaltasks.PlanDocumentWindows(s.Windows, len(ids), window+1)
		if err != nil {
			return nil, err
		}
		for _, w := range wins {
			// A window covers ids[Begin:End]; targets from FirstTarget on are new.
			jobs = append(jobs, job{doc: d, seq: ids[w.Begin:w.End], first: max(0, w.FirstTarget-w.Begin-1)})
		}
	}
	for start := 0; start < len(jobs); start += s.maxRows {
		end := min(start+s.maxRows, len(jobs))
		seqs := make([][]int, end-start)
		for i := range seqs {
			seqs[i] = jobs[start+i].seq
		}
		scores, err := s.ScoreSequences(seqs)
		if err != nil {
			return nil, err
		}
		for i, sc := range scores {
			j := jobs[start+i]
			for _, lp := range sc.LogProbs[j.first:] {
				out[j.doc].NLL -= lp
				out[j.doc].Tokens++
			}
		}
	}
	for d := range out {
		out[d].Bytes = docBytes[d]
	}
	return out, nil
}
