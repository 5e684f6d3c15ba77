package experiments

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/nrgraph/nrgraph/models"
)

// Verdict is what a run of repro says about one of the paper's claims.
type Verdict string

const (
	// Holds: the claimed ordering is there, beyond the seeds' noise.
	Holds Verdict = "holds"
	// DoesNotHold: the opposite ordering is there, beyond the noise.
	DoesNotHold Verdict = "does not hold"
	// WithinNoise: the difference is inside what the seeds' spread (or a
	// single seed, which measures none) allows.
	WithinNoise Verdict = "within the noise"
	// NotRun: a row the claim needs was not run.
	NotRun Verdict = "not run"
)

// ClaimResult is one claim of the paper's Table 2 judged on a held-out set.
type ClaimResult struct {
	Claim    string  `json:"claim"`
	P        float64 `json:"p"`
	Set      string  `json:"set"`
	Verdict  Verdict `json:"verdict"`
	Evidence string  `json:"evidence"`
}

// A difference is beyond the noise when Welch's two-sample t-test on the
// seeds rejects equal means at 5% (two-sided): 3 seeds a row is a small
// sample, so the t quantile, not 1.96, is what keeps a 0.01 bits/byte
// difference between two 3-seed rows from being called a result.
const claimLevel = "Welch's t-test, 5% two-sided"

// tQuantile975 is Student's t 0.975 quantile by degrees of freedom
// (standard tables); between entries the smaller df's value is used, which
// errs towards "within the noise".
var tQuantile975 = []struct {
	df float64
	t  float64
}{{1, 12.706}, {2, 4.303}, {3, 3.182}, {4, 2.776}, {5, 2.571}, {6, 2.447}, {7, 2.365}, {8, 2.306}, {9, 2.262},
	{10, 2.228}, {12, 2.179}, {15, 2.131}, {20, 2.086}, {30, 2.042}, {60, 2.000}, {120, 1.980}, {math.Inf(1), 1.960}}

func tCritical(df float64) float64 {
	t := tQuantile975[0].t
	for _, q := range tQuantile975 {
		if df >= q.df {
			t = q.t
		}
	}
	return t
}

// compareLess says whether a's mean is below b's (scaled by factor, the
// claim's allowance: 1.05 reads "a is at most 5% above b") beyond the
// noise of both samples.
func compareLess(a, b Summary, factor float64) Verdict {
	b.Mean *= factor
	b.SD *= factor
	d := b.Mean - a.Mean
	if a.N < 2 || b.N < 2 {
		return WithinNoise // one seed measures no spread: no evidence either way
	}
	va, vb := a.SD*a.SD/float64(a.N), b.SD*b.SD/float64(b.N)
	se := math.Sqrt(va + vb)
	if se == 0 {
		switch {
		case d > 0:
			return Holds
		case d < 0:
			return DoesNotHold
		}
		return WithinNoise
	}
	// Welch-Satterthwaite degrees of freedom.
	df := (va + vb) * (va + vb) / (va*va/float64(a.N-1) + vb*vb/float64(b.N-1))
	switch t := d / se; {
	case t > tCritical(df):
		return Holds
	case t < -tCritical(df):
		return DoesNotHold
	}
	return WithinNoise
}

// combine is the verdict of claims that all must hold: one opposite result
// decides against, any inconclusive one leaves the whole inconclusive.
func combine(vs ...Verdict) Verdict {
	switch {
	case len(vs) == 0 || slices.Contains(vs, NotRun):
		return NotRun
	case slices.Contains(vs, DoesNotHold):
		return DoesNotHold
	case slices.Contains(vs, WithinNoise):
		return WithinNoise
	}
	return Holds
}

// table2Methods are the rows of the paper's Table 2 (the sigmoid gate is
// its Table 4's ablation, not a Table 2 method).
var table2Methods = []models.Method{models.Finetune, models.LoRA, models.Adapters, models.NeutralResidues}

// Table2Claims judges the paper's claims about Table 2 (section 4.2-4.3)
// on every forgetting and new-language set of res: each claim per mixing
// rate, from the rows that were run (labels are method names), with its
// numbers. Differences are judged by claimLevel over the rows' seeds.
func Table2Claims(res Results) []ClaimResult {
	rows, ps := rowsByLabel(res)
	get := func(m models.Method, p float64, set string) (Summary, bool) { return rows.get(string(m), p, set) }
	show := func(m models.Method, s Summary) string { return fmt.Sprintf("%s %s", m, formatSummary(s)) }

	// ordered: subject's set score below (lower) or above every other's.
	ordered := func(claim string, p float64, set string, subject models.Method, others []models.Method, lower bool) ClaimResult {
		c := ClaimResult{Claim: claim, P: p, Set: set}
		s, ok := get(subject, p, set)
		if !ok {
			c.Verdict, c.Evidence = NotRun, fmt.Sprintf("no %s row at p = %g", subject, p)
			return c
		}
		var vs []Verdict
		parts := []string{show(subject, s)}
		for _, o := range others {
			other, ok := get(o, p, set)
			if !ok {
				continue
			}
			v := compareLess(s, other, 1)
			if !lower {
				v = compareLess(other, s, 1)
			}
			vs = append(vs, v)
			parts = append(parts, fmt.Sprintf("%s (%s)", show(o, other), v))
		}
		if len(vs) == 0 {
			c.Verdict, c.Evidence = NotRun, fmt.Sprintf("no other Table 2 row at p = %g", p)
			return c
		}
		c.Verdict, c.Evidence = combine(vs...), strings.Join(parts, "; ")
		return c
	}
	others := func(except ...models.Method) []models.Method {
		var out []models.Method
		for _, m := range table2Methods {
			if !slices.Contains(except, m) {
				out = append(out, m)
			}
		}
		return out
	}

	// mixing: the method's p = 0.1 score on set below its p = 0 score
	// (times factor, the allowance).
	mixing := func(claim string, set string, m models.Method, factor float64) ClaimResult {
		a, okA := get(m, 0.1, set)
		b, okB := get(m, 0, set)
		c := ClaimResult{Claim: claim, P: 0.1, Set: set}
		if !okA || !okB {
			c.Verdict, c.Evidence = NotRun, "needs the p = 0 and p = 0.1 rows"
		} else {
			c.Verdict, c.Evidence = compareLess(a, b, factor), fmt.Sprintf("p = 0.1 %s; p = 0 %s", formatSummary(a), formatSummary(b))
		}
		return c
	}

	var out []ClaimResult
	for _, m := range table2Methods {
		for _, f := range res.Corpora.Forget {
			out = append(out, mixing(fmt.Sprintf("mixing in p = 0.1 original-language text reduces %s's forgetting", m), f.Name, m, 1))
		}
		for _, n := range res.Corpora.NewHeldOut {
			out = append(out, mixing(fmt.Sprintf("p = 0.1 costs %s at most 1%% of its new-language learning", m), n.Name, m, 1.01))
		}
	}
	for _, p := range ps {
		for _, f := range res.Corpora.Forget {
			out = append(out, ordered("neutral residues forgets least", p, f.Name, models.NeutralResidues, others(models.NeutralResidues), true))
			out = append(out, ordered("finetuning forgets most", p, f.Name, models.Finetune, others(models.Finetune), false))
			out = append(out, ordered("adapters forget less than LoRA", p, f.Name, models.Adapters, []models.Method{models.LoRA}, true))
		}
		for _, n := range res.Corpora.NewHeldOut {
			out = append(out, ordered("finetuning learns the new language best", p, n.Name, models.Finetune, others(models.Finetune), true))
			out = append(out, ordered("neutral residues learns best of the methods that keep the backbone frozen", p, n.Name,
				models.NeutralResidues, []models.Method{models.LoRA, models.Adapters}, true))
			out = append(out, ordered("adapters learn more than LoRA", p, n.Name, models.Adapters, []models.Method{models.LoRA}, true))
		}
		// The headline: less forgetting than finetuning at a small cost in
		// learning (the paper's gap is 4.6% at both rates).
		for _, f := range res.Corpora.Forget {
			for _, n := range res.Corpora.NewHeldOut {
				c := ClaimResult{Claim: "neutral residues forgets less than finetuning and learns within 5% of it", P: p, Set: f.Name + ", " + n.Name}
				nrF, ok1 := get(models.NeutralResidues, p, f.Name)
				ftF, ok2 := get(models.Finetune, p, f.Name)
				nrN, ok3 := get(models.NeutralResidues, p, n.Name)
				ftN, ok4 := get(models.Finetune, p, n.Name)
				if !ok1 || !ok2 || !ok3 || !ok4 {
					c.Verdict, c.Evidence = NotRun, fmt.Sprintf("needs the finetune and neutral-residues rows at p = %g", p)
				} else {
					forget, learn := compareLess(nrF, ftF, 1), compareLess(nrN, ftN, 1.05)
					c.Verdict = combine(forget, learn)
					c.Evidence = fmt.Sprintf("%s: %s vs %s (%s); %s: %s vs %s (within 5%%: %s)",
						f.Name, show(models.NeutralResidues, nrF), show(models.Finetune, ftF), forget,
						n.Name, show(models.NeutralResidues, nrN), show(models.Finetune, ftN), learn)
				}
				out = append(out, c)
			}
		}
	}
	return out
}

// labeledRows are a result's rows by label and mixing rate.
type labeledRows map[string]map[float64]Row

// rowsByLabel indexes res's rows; ps are the mixing rates run, ascending.
func rowsByLabel(res Results) (rows labeledRows, ps []float64) {
	rows = labeledRows{}
	for _, r := range res.Rows() {
		if rows[r.Run.Label] == nil {
			rows[r.Run.Label] = map[float64]Row{}
		}
		rows[r.Run.Label][r.Run.P] = r
		if !slices.Contains(ps, r.Run.P) {
			ps = append(ps, r.Run.P)
		}
	}
	slices.Sort(ps)
	return rows, ps
}

// get is the label's summary on set at p (false: not run).
func (rows labeledRows) get(label string, p float64, set string) (Summary, bool) {
	r, ok := rows[label][p]
	if !ok {
		return Summary{}, false
	}
	return r.BitsPerByte[set], true
}

// ablationClaims: on the forgetting (else the new-language) sets, row
// lower scores below row than times factor.
var ablationClaims = []struct {
	claim       string
	forgetting  bool
	lower, than string
	factor      float64
}{
	{"the block gate matters: ReLU gate + L1 forgets less than L1 without a gate (Table 4, 5 vs 1)", true, AblationOurs, AblationNoGate, 1},
	{"ReLU gate + L1 forgets less than sigmoid gate + CE (Table 4, 5 vs 2)", true, AblationOurs, AblationSigmoidCE, 1},
	{"the L1 loss costs no forgetting: ReLU gate + L1 within 1% of the ReLU gate alone (Table 4, 5 vs 4)", true, AblationOurs, AblationNoLoss, 1.01},
	{"the low-variance init forgets no more than He's: within 1% (Table 5)", true, AblationOurs, AblationHeInit, 1.01},
	{"α over two orders of magnitude keeps forgetting within 1%: α = 0.01 vs 0.001 (Table 6)", true, AblationOurs, AblationAlphaSmall, 1.01},
	{"α over two orders of magnitude keeps forgetting within 1%: α = 0.01 vs 0.1 (Table 6)", true, AblationOurs, AblationAlphaLarge, 1.01},
	{"extra capacity is almost neutral for forgetting: 50% within 1% of 20% (Table 9)", true, AblationCapacityLarge, AblationOurs, 1.01},
	{"the block gate matters: ReLU gate + L1 learns more than L1 without a gate (Table 4, 5 vs 1)", false, AblationOurs, AblationNoGate, 1},
	{"ReLU gate + L1 learns more than sigmoid gate + CE (Table 4, 5 vs 2)", false, AblationOurs, AblationSigmoidCE, 1},
	{"the low-variance init learns more than He's (Table 5)", false, AblationOurs, AblationHeInit, 1},
	{"more capacity learns more: 20% vs 5% (Table 9)", false, AblationOurs, AblationCapacitySmall, 1},
	{"more capacity learns more: 50% vs 20% (Table 9)", false, AblationCapacityLarge, AblationOurs, 1},
}

// AblationClaims judges the paper's ablation claims that its perplexity
// columns make (section 4.4: Tables 4, 5, 6 and 9) on the ablation rows of
// res (labels of AblationRuns), per mixing rate run and held-out set.
// Where the paper's perplexities of two variants are equal to its three
// decimals, the claim is "within 1%" (factor 1.01), not an ordering.
func AblationClaims(res Results) []ClaimResult {
	rows, ps := rowsByLabel(res)
	// below: a's score on set is below b's times factor, beyond the noise.
	below := func(claim string, p float64, set, a, b string, factor float64) ClaimResult {
		c := ClaimResult{Claim: claim, P: p, Set: set}
		sa, okA := rows.get(a, p, set)
		sb, okB := rows.get(b, p, set)
		if !okA || !okB {
			c.Verdict, c.Evidence = NotRun, fmt.Sprintf("needs the %q and %q rows at p = %g", a, b, p)
			return c
		}
		c.Verdict = compareLess(sa, sb, factor)
		c.Evidence = fmt.Sprintf("%s %s; %s %s", a, formatSummary(sa), b, formatSummary(sb))
		return c
	}
	var out []ClaimResult
	for _, p := range ps {
		for _, a := range ablationClaims {
			sets := res.Corpora.NewHeldOut
			if a.forgetting {
				sets = res.Corpora.Forget
			}
			for _, set := range sets {
				out = append(out, below(a.claim, p, set.Name, a.lower, a.than, a.factor))
			}
		}
	}
	return out
}

// anyRun says whether some claim could be judged.
func anyRun(claims []ClaimResult) bool {
	return slices.ContainsFunc(claims, func(c ClaimResult) bool { return c.Verdict != NotRun })
}

// ClaimsReport is the markdown of the claims res's rows can judge: Table
// 2's, the ablations' or both ("" when neither was run).
func ClaimsReport(res Results) string {
	var parts []string
	if c := Table2Claims(res); anyRun(c) {
		parts = append(parts, ClaimsMarkdown(c, "Table 2", "--methods finetune,lora,adapters,neutral-residues --p 0,0.1"))
	}
	if c := AblationClaims(res); anyRun(c) {
		parts = append(parts, ClaimsMarkdown(c, "ablation", "--ablations"))
	}
	return strings.Join(parts, "\n")
}

// ClaimsMarkdown lists the claims that were run (NotRun ones are counted,
// not listed), one line each; what names the table ("Table 2", "ablation")
// and runAll the flags that run every row.
func ClaimsMarkdown(claims []ClaimResult, what, runAll string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "The paper's %s claims at this scale (%s over the seeds; one seed is never evidence):\n\n", what, claimLevel)
	skipped := 0
	for _, c := range claims {
		if c.Verdict == NotRun {
			skipped++
			continue
		}
		fmt.Fprintf(&b, "- %s (p = %g, %s): **%s**. %s\n", c.Claim, c.P, c.Set, c.Verdict, c.Evidence)
	}
	if skipped > 0 {
		fmt.Fprintf(&b, "\n%d claims need rows that were not run (all of them: %s).\n", skipped, runAll)
	}
	return b.String()
}
