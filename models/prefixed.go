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

// CheckpointName is the name tensor name (as the decoder names it) has in
// c's checkpoint: the same, except under a multimodal checkpoint's
// language-model prefix.
func CheckpointName(c Config, name string) string {
	if c.TensorPrefix == "" {
		return name
	}
	for _, p := range architectures[c.Arch].prefixes {
		if p.model == c.TensorPrefix {
			return p.checkpointName(name)
		}
	}
	return name
}

// HFCheckpoint names lm, the language model's tensors, as c's checkpoint
// does; for a multimodal checkpoint it adds the tensors of the model in
// dir that are not part of the language model (vision tower, projector),
// unchanged, so the result is the whole model again.
func HFCheckpoint(c Config, dir string, lm map[string]*graph.Data) (map[string]*graph.Data, error) {
	if c.TensorPrefix == "" {
		return lm, nil
	}
	out := map[string]*graph.Data{}
	for name, d := range lm {
		out[CheckpointName(c, name)] = d
	}
	if dir == "" {
		return nil, fmt.Errorf("%s: the rest of the multimodal checkpoint (vision tower) comes from its model directory, and none is recorded", c.Arch)
	}
	all, err := OpenSafetensors(dir)
	if err != nil {
		return nil, err
	}
	lmHead := CheckpointName(c, "lm_head.")
	for _, name := range all.Names() {
		if !strings.HasPrefix(name, c.TensorPrefix) && !strings.HasPrefix(name, lmHead) {
			out[name] = all[name]
		}
	}
	return out, nil
}
