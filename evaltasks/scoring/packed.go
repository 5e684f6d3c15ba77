package scoring

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/nrgraph/nrgraph/evaltasks"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/runtime"
)

// packedScorer runs the build's packed score graph
// (models.BuildPackedScoreGraph): the requests of one question share their
// context, so one row holds the context once and every continuation after
// it as its own segment, instead of one row per continuation as lm-eval
// runs. Its session opens on first use; builds without the graph, or
// ScorerOptions.Unpacked, keep one row per continuation.
type packedScorer struct {
	buildDir string
	opts     runtime.Options
	off      bool
	tried    bool
	sess     *runtime.Session
}

func (p *packedScorer) session(man *build.Manifest) (*runtime.Session, error) {
	if p.off || p.tried {
		return p.sess, nil
	}
	p.tried = true
	io, ok := man.Graphs["score_packed"]
	path := filepath.Join(p.buildDir, build.PackedScoreGraph)
	if _, err := os.Stat(path); !ok || err != nil {
		return nil, nil // an older build: one row per continuation
	}
	sess, err := runtime.Open(path, io.Inputs, []string{models.TargetLogProbs_, models.TargetIsArgmax}, p.opts)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	p.sess = sess
	return sess, nil
}

func (p *packedScorer) close() {
	if p.sess != nil {
		p.sess.Close()
		p.sess = nil
	}
}

// packGroup is a run of requests whose sequences share everything before
// their continuations: the choices of one question.
type packGroup struct {
	first int
	// prefix is the shared context; the row holds prefix[:len-1] once, then
	// per continuation prefix[len-1] followed by all but its last token, so
	// each continuation token is predicted from exactly its unpacked context.
	prefix        []int
	continuations [][]int
}

// width is the packed row's length.
func (g packGroup) width() int {
	w := len(g.prefix) - 1
	for _, c := range g.continuations {
		w += len(c)
	}
	return w
}

// packGroups finds runs of at least two consecutive requests with the same
// context tokens whose packed row fits the window.
func packGroups(seqs [][]int, contLen []int, maxLen int) []packGroup {
	prefixOf := func(i int) []int { return seqs[i][:len(seqs[i])-contLen[i]] }
	var groups []packGroup
	for i := 0; i < len(seqs); {
		j := i + 1
		for j < len(seqs) && slices.Equal(prefixOf(j), prefixOf(i)) {
			j++
		}
		g := packGroup{first: i, prefix: prefixOf(i)}
		for k := i; k < j; k++ {
			g.continuations = append(g.continuations, seqs[k][len(seqs[k])-contLen[k]:])
		}
		if j-i >= 2 && len(g.prefix) >= 1 && g.width() <= maxLen {
			groups = append(groups, g)
		}
		i = j
	}
	return groups
}

// scorePacked scores the packable groups among the requests, filling res
// for them and reporting which requests it answered. contLen must already
// be capped to what the sequence holds.
func (s *Scorer) scorePacked(seqs [][]int, contLen, dropped []int, res []evaltasks.Result) ([]bool, error) {
	done := make([]bool, len(seqs))
	groups := packGroups(seqs, contLen, s.maxLen)
	if len(groups) == 0 {
		return done, nil
	}
	sess, err := s.packed.session(s.man)
	if err != nil || sess == nil {
		return done, err
	}
	for start := 0; start < len(groups); start += s.maxRows {
		part := groups[start:min(start+s.maxRows, len(groups))]
		if err := s.scorePackedBatch(sess, part, res); err != nil {
			return nil, err
		}
		for _, g := range part {
			for k := range g.continuations {
				done[g.first+k] = true
				res[g.first+k].ContextTokensDropped = dropped[g.first+k]
			}
		}
	}
	return done, nil
}

// scorePackedBatch lays each group out as one row and sums each
// continuation's target log-probabilities over its segment.
func (s *Scorer) scorePackedBatch(sess *runtime.Session, groups []packGroup, res []evaltasks.Result) error {
	width := 1
	for _, g := range groups {
		width = max(width, g.width())
	}
	b := build.NewBatch(len(groups), width)
	positions, segments := make([]int64, len(groups)*width), make([]int64, len(groups)*width)
	type span struct{ start, n int }
	spans := make([][]span, len(groups))
	for r, g := range groups {
		row := r * width
		shared := len(g.prefix) - 1
		for i := 0; i < shared; i++ {
			b.IDs[row+i], b.Targets[row+i] = int64(g.prefix[i]), int64(g.prefix[i+1])
			positions[row+i] = int64(i)
		}
		at := shared
		for k, cont := range g.continuations {
			spans[r] = append(spans[r], span{at, len(cont)})
			inputs := append([]int{g.prefix[shared]}, cont[:len(cont)-1]...)
			for i, id := range inputs {
				b.IDs[row+at+i], b.Targets[row+at+i] = int64(id), int64(cont[i])
				positions[row+at+i], segments[row+at+i] = int64(shared+i), int64(k+1)
			}
			at += len(cont)
		}
		for i := at; i < width; i++ {
			b.AttnMask[row+i], b.LossMask[row+i] = 0, 0
			segments[row+i] = -1
		}
		s.positionsRead += int64(at)
	}
	posT, err := runtime.NewTensor([]int64{int64(len(groups)), int64(width)}, positions)
	if err != nil {
		return err
	}
	defer posT.Destroy()
	segT, err := runtime.NewTensor([]int64{int64(len(groups)), int64(width)}, segments)
	if err != nil {
		return err
	}
	defer segT.Destroy()
	outs, err := s.runBatch(sess, b, map[string]*runtime.Tensor{models.PositionIDs: posT, models.SegmentIDs: segT})
	if err != nil {
		return err
	}
	defer outs[0].Destroy()
	defer outs[1].Destroy()
	lp, greedy := outs[0].Float32s(), outs[1].Bools()
	for r, g := range groups {
		for k, sp := range spans[r] {
			ll, allGreedy := 0.0, true
			for i := r*width + sp.start; i < r*width+sp.start+sp.n; i++ {
				ll += float64(lp[i])
				allGreedy = allGreedy && greedy[i]
			}
			res[g.first+k] = evaltasks.Result{LogLikelihood: ll, NumTokens: sp.n, IsGreedy: allGreedy}
		}
	}
	return nil
}
