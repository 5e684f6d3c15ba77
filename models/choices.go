package models

import "github.com/nrgraph/nrgraph/graph"

// Names of the choice-scoring graph's extra input and outputs.
const (
	// ChoiceIDs are the candidate next tokens scored at every position, the
	// same for every row of a batch (lettered tasks' " A".." D").
	ChoiceIDs = "choice_ids" // int64 [choices]
	Choices   = "choices"
	// ChoiceLogProbs[b, s, k] = log p(ChoiceIDs[k] | ids[b, :s+1]).
	ChoiceLogProbs = "choice_logprobs" // [batch, seq, choices]
	// ChoiceIsArgmax says whether that candidate is the model's top token.
	ChoiceIsArgmax = "choice_is_argmax" // bool [batch, seq, choices]
)

// BuildChoiceScoreGraph builds the forward graph that scores several
// single-token continuations of one context in one row: lm-eval needs a
// forward per choice for MMLU, CSQA and Belebele, whose continuations " A"
// .. " E" are one token each, yet every choice reads the same context, and
// only the log-probability read at its last position differs. The inputs are
// the score graph's without targets, plus ChoiceIDs.
func BuildChoiceScoreGraph(m Model) (*graph.Graph, error) {
	return graph.Build("score_choices_"+string(m.Ext.Method), func(g *graph.Graph) {
		e := BuildExtended(g, m)
		choices := g.Input(ChoiceIDs, graph.Int64, graph.S(Choices))
		logp := graph.LogSoftmax(e.Logits, -1)
		picked := graph.Gather(logp, choices, 2)
		g.Output(ChoiceLogProbs, picked)
		g.Output(ChoiceIsArgmax, graph.Not(graph.Less(picked, graph.ReduceMax(logp, []int{-1}, true))))
	})
}
