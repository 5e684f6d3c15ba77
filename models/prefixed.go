package models

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nrgraph/nrgraph/graph"
)

// tensorPrefix is where a multimodal checkpoint keeps its language model:
// model replaces "model." and lmHead replaces "lm_head." of a causal LM's
// tensor names.
type tensorPrefix struct{ model, lmHead string }

// checkpointName is the name a causal-LM tensor has under p.
func (p tensorPrefix) checkpointName(name string) string {
	if rest, ok := strings.CutPrefix(name, "model."); ok {
		return p.model + rest
	}
	if rest, ok := strings.CutPrefix(name, "lm_head."); ok {
		return p.lmHead + rest
	}
	return name
}

// languageModelWeights shows the language model of a multimodal
// checkpoint under causal-LM names; the other tensors (vision tower,
// projector) are not part of it.
type languageModelWeights struct {
	w     Weights
	p     tensorPrefix
	names map[string]string // causal-LM name -> checkpoint name
}

func (l *languageModelWeights) Tensor(name string) (*graph.Data, error) {
	full, ok := l.names[name]
	if !ok {
		return nil, fmt.Errorf("tensor %q (%q in the checkpoint) not found", name, l.p.checkpointName(name))
	}
	return l.w.Tensor(full)
}

func (l *languageModelWeights) Names() []string {
	out := make([]string, 0, len(l.names))
	for n := range l.names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// languageModel returns w as c's architecture names it: for a multimodal
// architecture, the tensors under the first prefix that has any, and
// c.TensorPrefix set to it.
func languageModel(c *Config, w Weights) (Weights, error) {
	prefixes := architectures[c.Arch].prefixes
	if len(prefixes) == 0 {
		return w, nil
	}
	for _, p := range prefixes {
		view := &languageModelWeights{w: w, p: p, names: map[string]string{}}
		for _, n := range w.Names() {
			if rest, ok := strings.CutPrefix(n, p.model); ok {
				view.names["model."+rest] = n
			} else if rest, ok := strings.CutPrefix(n, p.lmHead); ok {
				view.names["lm_head."+rest] = n
			}
		}
		if len(view.names) > 0 {
			c.TensorPrefix = p.model
			return view, nil
		}
	}
	want := make([]string, len(prefixes))
	for i, p := range prefixes {
		want[i] = p.model
	}
	return nil, fmt.Errorf("%s checkpoint has no language-model tensors (looked for names starting with %s)", c.Arch, strings.Join(want, " or "))
}
