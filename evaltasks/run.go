package evaltasks

import (
	"fmt"
	"io"
)

// Options controls Run.
type Options struct {
	// Shots is the number of solved examples before each question
	// (Task.DefaultShots holds the paper's choice).
	Shots int
	// Seed picks the few-shot examples for SampleRandom tasks (lm-eval's
	// default is 1234, though its Python draws cannot be reproduced here).
	Seed uint64
	// Limit evaluates only the first Limit documents; 0 means all.
	Limit int
	// DocsPerCall is how many documents' requests go to the Scorer at once;
	// 0 means 32.
	DocsPerCall int
	// Progress, when set, receives a line every 5% of the documents and
	// the truncation warning.
	Progress io.Writer
	// Samples, when set, receives one SampleRecord JSON line per document
	// (lm-eval's --log_samples).
	Samples io.Writer
}

const defaultDocsPerCall = 32

// Run scores every document of task with scorer and computes all metrics.
func Run(task *Task, scorer Scorer, opts Options) (*TaskResult, error) {
	numDocs := len(task.Docs)
	if opts.Limit < 0 {
		return nil, fmt.Errorf("run %s: negative limit %d", task.Name, opts.Limit)
	}
	if opts.Limit > 0 && opts.Limit < numDocs {
		numDocs = opts.Limit
	}
	docsPerCall := opts.DocsPerCall
	if docsPerCall <= 0 {
		docsPerCall = defaultDocsPerCall
	}
	if opts.Shots > 0 && task.FewshotDocs == nil && opts.Progress != nil {
		fmt.Fprintf(opts.Progress, "warning: %s: few-shot examples come from the evaluated file %s itself; lm-eval draws them from the training split: give it as the task's few-shot path\n", task.Name, task.Source)
	}
	unconditional := newUnconditionalCache(scorer)
	scores := make([]DocScore, 0, numDocs)
	progress := progressPrinter{w: opts.Progress, task: task.Name, metric: DefaultMetric(task.Benchmark), total: numDocs, lastTwentieth: -1}
	samples := newSampleWriter(opts.Samples)
	truncatedDocs, mostDropped := 0, 0
	for start := 0; start < numDocs; start += docsPerCall {
		end := min(start+docsPerCall, numDocs)
		var reqs []Request
		for i := start; i < end; i++ {
			docReqs, err := task.Requests(i, opts.Shots, opts.Seed)
			if err != nil {
				return nil, fmt.Errorf("run %s: %w", task.Name, err)
			}
			reqs = append(reqs, docReqs...)
		}
		results, err := scoreChecked(scorer, reqs)
		if err != nil {
			return nil, fmt.Errorf("run %s: documents %d-%d: %w", task.Name, start, end-1, err)
		}
		if err := unconditional.fill(task.Docs[start:end]); err != nil {
			return nil, fmt.Errorf("run %s: unconditional scores: %w", task.Name, err)
		}
		for i := start; i < end; i++ {
			doc := task.Docs[i]
			docResults := results[:len(doc.Choices)]
			docScore, err := newDocScore(i, doc, docResults, unconditional.lookup(doc))
			if err != nil {
				return nil, fmt.Errorf("run %s: %w", task.Name, err)
			}
			dropped := 0
			for _, res := range docResults {
				dropped = max(dropped, res.ContextTokensDropped)
			}
			if dropped > 0 {
				truncatedDocs++
				mostDropped = max(mostDropped, dropped)
			}
			if err := samples.write(task.Name, doc, docScore, reqs[:len(doc.Choices)], dropped); err != nil {
				return nil, err
			}
			results, reqs = results[len(doc.Choices):], reqs[len(doc.Choices):]
			scores = append(scores, docScore)
		}
		progress.update(scores)
	}
	if truncatedDocs > 0 && opts.Progress != nil {
		fmt.Fprintf(opts.Progress, "warning: %s: %d of %d prompts were cut on the left to fit the model's window (up to %d tokens dropped); scores are not comparable with untruncated runs: use fewer --shots or a longer window\n",
			task.Name, truncatedDocs, numDocs, mostDropped)
	}
	result := newTaskResult(task.Name, task.Benchmark, opts.Shots, opts.Seed, scores)
	result.Source = task.Source
	result.FewshotSource = task.fewshotSource(opts.Shots)
	result.TruncatedDocs = truncatedDocs
	return result, nil
}

// scoreChecked calls the scorer and checks it answered every request.
func scoreChecked(scorer Scorer, reqs []Request) ([]Result, error) {
	results, err := scorer.LogLikelihoods(reqs)
	if err != nil {
		return nil, err
	}
	if len(results) != len(reqs) {
		return nil, fmt.Errorf("scorer returned %d results for %d requests", len(results), len(reqs))
	}
	return results, nil
}

// unconditionalCache scores each distinct continuation once after the
// unconditional context: lettered tasks have only " A".." E", so PMI costs
// them nothing after the first call.
type unconditionalCache struct {
	scorer Scorer
	byText map[string]Result
}

func newUnconditionalCache(scorer Scorer) *unconditionalCache {
	return &unconditionalCache{scorer: scorer, byText: map[string]Result{}}
}

func (u *unconditionalCache) fill(docs []Doc) error {
	var reqs []Request
	pending := map[string]bool{}
	for _, doc := range docs {
		for _, choice := range doc.Choices {
			cont := targetDelimiter + choice
			if _, done := u.byText[cont]; !done && !pending[cont] {
				pending[cont] = true
				reqs = append(reqs, Request{Context: unconditionalContext, Continuation: cont})
			}
		}
	}
	if len(reqs) == 0 {
		return nil
	}
	results, err := scoreChecked(u.scorer, reqs)
	if err != nil {
		return err
	}
	for i, req := range reqs {
		u.byText[req.Continuation] = results[i]
	}
	return nil
}

func (u *unconditionalCache) lookup(doc Doc) []Result {
	out := make([]Result, len(doc.Choices))
	for c, choice := range doc.Choices {
		out[c] = u.byText[targetDelimiter+choice]
	}
	return out
}

// progressPrinter writes a line whenever another 5% of the documents is done.
type progressPrinter struct {
	w             io.Writer
	task          string
	metric        Metric
	total         int
	lastTwentieth int
}

func (p *progressPrinter) update(done []DocScore) {
	if p.w == nil || p.total == 0 {
		return
	}
	twentieth := len(done) * 20 / p.total
	if twentieth == p.lastTwentieth {
		return
	}
	p.lastTwentieth = twentieth
	correct := 0
	for _, d := range done {
		if d.Prediction(p.metric) == d.Gold {
			correct++
		}
	}
	fmt.Fprintf(p.w, "%s: %d/%d documents (%.0f%%), %s so far %.4f\n",
		p.task, len(done), p.total, 100*float64(len(done))/float64(p.total), p.metric, float64(correct)/float64(len(done)))
}
