package experiments

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/nrgraph/nrgraph/evaltasks"
	"github.com/nrgraph/nrgraph/export"
	"github.com/nrgraph/nrgraph/trainer"
)

// Table renders the results like the paper's Table 2: held-out bits per
// byte (lower is better) on each forgetting set and each new-language set,
// per run, as mean ± sample sd over the row's seeds, with a caption that
// states what was scored.
func Table(res Results) string {
	sets := res.Corpora.HeldOut()
	var b strings.Builder
	b.WriteString("| method | p | lr | seeds |")
	for _, c := range res.Corpora.Forget {
		fmt.Fprintf(&b, " %s bits/byte (forgetting) |", c.Name)
	}
	for _, c := range res.Corpora.NewHeldOut {
		fmt.Fprintf(&b, " %s bits/byte (learning) |", c.Name)
	}
	b.WriteString("\n|---|---|---|---|" + strings.Repeat("---|", len(sets)) + "\n| backbone | – | – | – |")
	for _, c := range sets {
		fmt.Fprintf(&b, " %.4f |", res.Backbone[c.Name].BitsPerByte)
	}
	b.WriteString("\n")
	for _, row := range res.Rows() {
		fmt.Fprintf(&b, "| %s | %g | %g | %d |", row.Run.Label, row.Run.P, row.Run.LR, len(row.Seeds))
		for _, c := range sets {
			fmt.Fprintf(&b, " %s |", formatSummary(row.BitsPerByte[c.Name]))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n" + Caption(res) + "\n")
	return b.String()
}

// formatSummary is "mean ± sd", or the mean alone for a single seed.
func formatSummary(s Summary) string {
	if s.N < 2 {
		return fmt.Sprintf("%.4f", s.Mean)
	}
	return fmt.Sprintf("%.4f ± %.4f", s.Mean, s.SD)
}

// Caption says what the table's numbers are: the seeds, and how much of
// each held-out set was scored.
func Caption(res Results) string {
	var seeds []string
	seen := map[uint64]bool{}
	for _, o := range res.Outcomes {
		if !seen[o.Run.Seed] {
			seen[o.Run.Seed] = true
			seeds = append(seeds, strconv.FormatUint(o.Run.Seed, 10))
		}
	}
	var scored []string
	for _, c := range res.Corpora.HeldOut() {
		scored = append(scored, fmt.Sprintf("%s %d", c.Name, res.Backbone[c.Name].Tokens))
	}
	how := "every whole window of each held-out set"
	if res.HeldOutTokens > 0 {
		how = fmt.Sprintf("a budget of %d tokens per held-out set, as evenly spaced windows across the whole set", res.HeldOutTokens)
	}
	return fmt.Sprintf("Held-out bits per byte, lower is better; mean ± sample sd over seeds %s (no ± with one seed). Scored %s: %s tokens.",
		strings.Join(seeds, ","), how, strings.Join(scored, ", "))
}

// Plot writes a Figure 1-style PNG on the first forgetting set (x,
// forgetting grows to the right) and the first new-language set (y,
// learning goes down): each row's mean with ± sd error bars, its seeds as
// small rings, and a line through each method's p values.
func Plot(path string, res Results) error {
	if len(res.Outcomes) == 0 {
		return nil
	}
	x, y := res.Corpora.Forget[0].Name, res.Corpora.NewHeldOut[0].Name
	points := []evaltasks.TradeoffPoint{{Method: "backbone", X: res.Backbone[x].BitsPerByte, Y: res.Backbone[y].BitsPerByte}}
	for _, row := range res.Rows() {
		pt := evaltasks.TradeoffPoint{Method: row.Run.Label, Label: fmt.Sprintf("p=%g", row.Run.P),
			X: row.BitsPerByte[x].Mean, Y: row.BitsPerByte[y].Mean, XErr: row.BitsPerByte[x].SD, YErr: row.BitsPerByte[y].SD}
		if len(row.Outcomes) > 1 {
			for _, o := range row.Outcomes {
				pt.Samples = append(pt.Samples, evaltasks.XY{X: o.Scores[x].BitsPerByte, Y: o.Scores[y].BitsPerByte})
			}
		}
		points = append(points, pt)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	newLang, orig := res.Corpora.NewTrain.Name, res.Corpora.OrigTrain.Name
	if err := evaltasks.WriteTradeoffPlot(f, points, evaltasks.TradeoffPlotOptions{
		Title:  fmt.Sprintf("Learning %s vs forgetting %s (held-out bits per byte; lower is better)\nmean ± sd over seeds; rings: single seeds", newLang, orig),
		XLabel: x + " bits/byte (forgetting →)", YLabel: y + " bits/byte (↓ learning)"}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// resultsJSON is the JSON results file: every seed's numbers, and the
// rows' summaries.
type resultsJSON struct {
	Corpora       Corpora                       `json:"corpora"`
	HeldOutTokens int64                         `json:"heldout_tokens"` // 0: whole sets
	Backbone      map[string]trainer.EvalResult `json:"backbone"`
	Runs          []runJSON                     `json:"runs"`
	Rows          []rowJSON                     `json:"rows"`
	// Claims are the paper's Table 2 claims judged on the rows
	// (Table2Claims), AblationClaims its ablations' (AblationClaims); each
	// absent when none of its claims could be judged.
	Claims         []ClaimResult `json:"table2_claims,omitempty"`
	AblationClaims []ClaimResult `json:"ablation_claims,omitempty"`
}

type runJSON struct {
	Label         string                        `json:"label"`
	Method        string                        `json:"method"`
	P             float64                       `json:"p"`
	LR            float64                       `json:"lr"`
	Steps         int                           `json:"steps"`
	Seed          uint64                        `json:"seed"`
	Scores        map[string]trainer.EvalResult `json:"scores"`
	GateOrig      float64                       `json:"gate_mean_orig"`
	GateNew       float64                       `json:"gate_mean_new"`
	AdapterL1Orig float64                       `json:"adapter_l1_orig"`
	AdapterL1New  float64                       `json:"adapter_l1_new"`
	TrainSeconds  float64                       `json:"train_seconds"`
	RunDir        string                        `json:"run_dir"`
}

type rowJSON struct {
	Label       string             `json:"label"`
	P           float64            `json:"p"`
	LR          float64            `json:"lr"`
	Seeds       []uint64           `json:"seeds"`
	BitsPerByte map[string]Summary `json:"bits_per_byte"`
}

// WriteJSON writes the results with every seed's numbers.
func WriteJSON(path string, res Results) error {
	out := resultsJSON{Corpora: res.Corpora, HeldOutTokens: res.HeldOutTokens, Backbone: res.Backbone, Runs: []runJSON{}, Rows: []rowJSON{}}
	for _, o := range res.Outcomes {
		out.Runs = append(out.Runs, runJSON{Label: o.Run.Label, Method: string(o.Run.Ext.Method), P: o.Run.P, LR: o.Run.LR, Steps: o.Run.Steps, Seed: o.Run.Seed,
			Scores: o.Scores, GateOrig: o.GateOrig, GateNew: o.GateNew, AdapterL1Orig: o.AdapterL1Orig, AdapterL1New: o.AdapterL1New,
			TrainSeconds: o.TrainSeconds, RunDir: o.RunDir})
	}
	for _, row := range res.Rows() {
		out.Rows = append(out.Rows, rowJSON{Label: row.Run.Label, P: row.Run.P, LR: row.Run.LR, Seeds: row.Seeds, BitsPerByte: row.BitsPerByte})
	}
	if claims := Table2Claims(res); anyRun(claims) {
		out.Claims = claims
	}
	if claims := AblationClaims(res); anyRun(claims) {
		out.AblationClaims = claims
	}
	raw, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	return export.WriteFileAtomic(path, append(raw, '\n'))
}
