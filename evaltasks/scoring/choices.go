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

// choiceScorer runs the build's choice graph (models.BuildChoiceScoreGraph):
// a question whose choices are one token each (MMLU, CSQA, Belebele: " A"
// .. " E") costs one row over its context instead of one row per choice.
// Its session opens on first use; builds without the graph, or
// ScorerOptions.PerChoice, keep one row per choice.
type choiceScorer struct {
	buildDir string
	opts     runtime.Options
	off      bool
	tried    bool
	sess     *runtime.Session
}

func (c *choiceScorer) session(man *build.Manifest) (*runtime.Session, error) {
	if c.off || c.tried {
		return c.sess, nil
	}
	c.tried = true
	io, ok := man.Graphs["score_choices"]
	path := filepath.Join(c.buildDir, build.ChoiceScoreGraph)
	if _, err := os.Stat(path); !ok || err != nil {
		return nil, nil // an older build: one row per choice
	}
	sess, err := runtime.Open(path, io.Inputs, []string{models.ChoiceLogProbs, models.ChoiceIsArgmax}, c.opts)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	c.sess = sess
	return sess, nil
}

func (c *choiceScorer) close() {
	if c.sess != nil {
		c.sess.Close()
		c.sess = nil
	}
}

// choiceGroup is a run of requests sharing every token but the last: the
// choices of one question.
type choiceGroup struct {
	first   int   // index of the first request
	context []int // the shared tokens the model reads
	choices []int // each request's last token, in request order
}

// singleTokenGroups finds runs of at least two consecutive requests whose
// continuation is one token and whose sequences agree on all other tokens.
func singleTokenGroups(seqs [][]int, contLen []int) []choiceGroup {
	var groups []choiceGroup
	for i := 0; i < len(seqs); {
		j := i
		for j < len(seqs) && contLen[j] == 1 && len(seqs[j]) >= 2 && len(seqs[j]) == len(seqs[i]) &&
			slices.Equal(seqs[j][:len(seqs[j])-1], seqs[i][:len(seqs[i])-1]) {
			j++
		}
		if j-i >= 2 {
			g := choiceGroup{first: i, context: seqs[i][:len(seqs[i])-1]}
			for k := i; k < j; k++ {
				g.choices = append(g.choices, seqs[k][len(seqs[k])-1])
			}
			groups = append(groups, g)
			i = j
		} else {
			i = max(j, i+1)
		}
	}
	return groups
}

// scoreChoiceGroups scores the single-token choice groups among the
// requests in one row each, filling res for them and reporting which
// requests it answered. Rows of a batch share one candidate list, so groups
// are batched by their choices (" A".." D" for all of MMLU).
func (s *Scorer) scoreChoiceGroups(seqs [][]int, contLen, dropped []int, res []evaltasks.Result) ([]bool, error) {
	done := make([]bool, len(seqs))
	groups := singleTokenGroups(seqs, contLen)
	if len(groups) == 0 {
		return done, nil
	}
	sess, err := s.choices.session(s.man)
	if err != nil || sess == nil {
		return done, err
	}
	byChoices := map[string][]choiceGroup{}
	var order []string
	for _, g := range groups {
		key := fmt.Sprint(g.choices)
		if _, ok := byChoices[key]; !ok {
			order = append(order, key)
		}
		byChoices[key] = append(byChoices[key], g)
	}
	for _, key := range order {
		batch := byChoices[key]
		for start := 0; start < len(batch); start += s.maxRows {
			part := batch[start:min(start+s.maxRows, len(batch))]
			if err := s.scoreChoiceBatch(sess, part, res); err != nil {
				return nil, err
			}
			for _, g := range part {
				for k := range g.choices {
					done[g.first+k] = true
					res[g.first+k].ContextTokensDropped = dropped[g.first+k]
				}
			}
		}
	}
	return done, nil
}

// scoreChoiceBatch runs rows that share a candidate list and reads each
// row's candidates at its last position.
func (s *Scorer) scoreChoiceBatch(sess *runtime.Session, groups []choiceGroup, res []evaltasks.Result) error {
	width := 1
	for _, g := range groups {
		width = max(width, len(g.context))
	}
	b := build.NewBatch(len(groups), width)
	for r, g := range groups {
		for i := 0; i < width; i++ {
			k := r*width + i
			if i < len(g.context) {
				b.IDs[k] = int64(g.context[i])
			} else {
				b.AttnMask[k], b.LossMask[k] = 0, 0
			}
		}
	}
	choiceIDs := make([]int64, len(groups[0].choices))
	for k, c := range groups[0].choices {
		choiceIDs[k] = int64(c)
	}
	choices, err := runtime.NewTensor([]int64{int64(len(choiceIDs))}, choiceIDs)
	if err != nil {
		return err
	}
	defer choices.Destroy()
	outs, err := s.runBatch(sess, b, map[string]*runtime.Tensor{models.ChoiceIDs: choices})
	if err != nil {
		return err
	}
	defer outs[0].Destroy()
	defer outs[1].Destroy()
	lp, greedy := outs[0].Float32s(), outs[1].Bools()
	numChoices := len(choiceIDs)
	for r, g := range groups {
		last := (r*width + len(g.context) - 1) * numChoices
		for k := range g.choices {
			res[g.first+k] = evaltasks.Result{LogLikelihood: float64(lp[last+k]), NumTokens: 1, IsGreedy: greedy[last+k]}
		}
		s.positionsRead += int64(len(g.context))
	}
	return nil
}
