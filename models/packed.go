package models

import "github.com/nrgraph/nrgraph/graph"

// BuildPackedScoreGraph builds the score graph over packed rows
// (ForwardOptions.Packed): the inputs of BuildScoreGraph plus PositionIDs
// and SegmentIDs. lm-eval reads a question's context once per choice; a
// packed row reads it once, followed by every choice as its own segment.
func BuildPackedScoreGraph(m Model) (*graph.Graph, error) {
	m.Packed = true
	g, _, err := BuildScoreGraph(m)
	return g, err
}
