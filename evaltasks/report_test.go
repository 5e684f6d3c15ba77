package evaltasks

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var table3Benchmarks = []string{BenchmarkBelebele, BenchmarkHellaSwag, BenchmarkARCChallenge, BenchmarkCommonsenseQA, BenchmarkMMLU}

// results builds task results from percentages in table3Benchmarks order;
// a negative percentage means the benchmark was not run (the paper's N/A).
func results(percent ...float64) []*TaskResult {
	shots := map[string]int{BenchmarkARCChallenge: 5, BenchmarkCommonsenseQA: 5, BenchmarkMMLU: 5}
	var out []*TaskResult
	for i, p := range percent {
		if p < 0 {
			continue
		}
		bench := table3Benchmarks[i]
		out = append(out, &TaskResult{
			Task: bench, Benchmark: bench, Shots: shots[bench], NumDocs: 1000, Metric: AccNorm,
			Scores: map[Metric]Score{AccNorm: {Value: p / 100, Stderr: 0.01}, Acc: {Value: p / 200}},
			Docs:   []DocScore{{ID: "kept only with includeDocs"}},
		})
	}
	return out
}

// paperReport holds rows of the paper's Table 3 (French and Danish blocks).
func paperReport() Report {
	english := results(46.3, 69.7, 47.0, 63.0, 40.2)
	return Report{
		Benchmarks: table3Benchmarks,
		Sections: []Section{
			{Target: "French", Methods: []MethodResult{
				{Method: "Backbone", English: english, Target: results(44.3, 50.3, 40.9, 53.3, 33.9),
					EnglishText: &PerplexityResult{BitsPerByte: 0.663}},
				{Method: "Finetuning", LearningRate: 5e-5, English: results(45.7, 62.7, 45.9, 57.3, 37.2), Target: results(44.9, 60.8, 43.9, 63.8, 35.9),
					EnglishText: &PerplexityResult{BitsPerByte: 0.705}},
				{Method: "Ours", LearningRate: 2e-4, English: results(48.2, 68.5, 47.3, 63.3, 39.2), Target: results(46.8, 57.9, 39.7, 59.8, 36.7),
					EnglishText: &PerplexityResult{BitsPerByte: 0.668}},
			}},
			{Target: "Danish", Methods: []MethodResult{
				{Method: "Backbone", English: english, Target: results(41.6, 43.1, 35.6, -1, 32.3)},
				{Method: "Ours", English: results(45.4, 69.4, 46.6, 60.4, 38.1), Target: results(42.4, 55.8, 38.7, -1, 34.7)},
			}},
		},
	}
}

func TestReportMarkdownTable3(t *testing.T) {
	table := paperReport().Markdown()
	compareGolden(t, "testdata/golden/table3.md", table)
	for _, want := range []string{
		"| Target | Method | Forgetting: English |",
		"| Learning: Target |",
		"| BeleBele (0) | HellaS (0) | Arc C (5) | CSQA (5) | MMLU (5) | Avg. |",
		// The paper's row, ranked among the three methods kept here. The
		// paper prints 44.6 for the French average of unrounded scores; the
		// mean of the rounded ones is 44.54.
		"| French | Backbone | <u>46.3</u> | **69.7** | <u>47.0</u> | <u>63.0</u> | **40.2** | <u>53.2</u> | 44.3 | 50.3 | <u>40.9</u> | 53.3 | 33.9 | 44.5 |",
		// Danish has no CSQA: N/A, and the average is over the other four (38.15).
		"| Danish | Backbone | **46.3** | **69.7** | **47.0** | **63.0** | **40.2** | **53.2** | <u>41.6</u> | <u>43.1</u> | <u>35.6</u> | N/A | <u>32.3</u> | <u>38.2</u> |",
	} {
		assert.Contains(t, table, want)
	}
}

func TestReportJSON(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, paperReport().WriteJSON(&buf, false))
	var decoded struct {
		Metrics  map[string]Metric `json:"metrics"`
		Sections []struct {
			Methods []struct {
				Method     string      `json:"method"`
				Forgetting GroupScores `json:"forgetting_english"`
				Learning   GroupScores `json:"learning_target"`
				English    []TaskResult
			} `json:"methods"`
		} `json:"sections"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &decoded))
	assert.Equal(t, AccNorm, decoded.Metrics[BenchmarkARCChallenge], "the metric the results were run for")
	backbone := decoded.Sections[0].Methods[0]
	assert.InDelta(t, 0.5324, *backbone.Forgetting.Average, 1e-9)
	assert.InDelta(t, 0.4454, *backbone.Learning.Average, 1e-9)
	assert.InDelta(t, 0.01, backbone.English[0].Scores[AccNorm].Stderr, 1e-12, "standard errors are kept")
	assert.InDelta(t, 0.2315, backbone.English[0].Scores[Acc].Value, 1e-12, "every metric is kept")
	assert.Empty(t, backbone.English[0].Docs)
	danish := decoded.Sections[1].Methods[0]
	assert.NotContains(t, danish.Learning.Scores, BenchmarkCommonsenseQA)
	assert.InDelta(t, (0.416+0.431+0.356+0.323)/4, *danish.Learning.Average, 1e-9)

	buf.Reset()
	require.NoError(t, paperReport().WriteJSON(&buf, true))
	assert.Contains(t, buf.String(), "kept only with includeDocs")

	french := paperReport()
	french.Sections = french.Sections[:1]
	french.Sections[0].Methods = french.Sections[0].Methods[:1]
	buf.Reset()
	require.NoError(t, french.WriteJSON(&buf, false))
	compareGolden(t, "testdata/golden/report.json", buf.String())
}

func TestTradeoffPoints(t *testing.T) {
	report := paperReport()
	points, err := report.TradeoffPoints(0, XEnglishScore)
	require.NoError(t, err)
	require.Len(t, points, 3)
	assert.Equal(t, "Finetuning", points[1].Method)
	assert.Equal(t, "lr 5e-05", points[1].Label)
	assert.InDelta(t, 49.76, points[1].X, 1e-9)
	assert.InDelta(t, 49.86, points[1].Y, 1e-9)

	points, err = report.TradeoffPoints(0, XEnglishBitsPerByte)
	require.NoError(t, err)
	assert.InDelta(t, 0.668, points[2].X, 1e-12)

	points, err = report.TradeoffPoints(1, XEnglishBitsPerByte)
	require.NoError(t, err)
	assert.Empty(t, points, "Danish rows have no perplexities")
	_, err = report.TradeoffPoints(2, XEnglishScore)
	assert.ErrorContains(t, err, "section 2 of 2")
}

func TestWriteTradeoffPlotPNG(t *testing.T) {
	points := []TradeoffPoint{
		{Method: "Backbone", Label: "0", X: 47.0, Y: 32.9},
		{Method: "Fine-tuning", Label: "2e-5", X: 45.2, Y: 36.3},
		{Method: "Fine-tuning", Label: "5e-5", X: 44.4, Y: 41.1},
		{Method: "Fine-tuning", Label: "2e-4", X: 38.9, Y: 43.6},
		{Method: "Neutral residues", Label: "2e-4", X: 47.1, Y: 43.6},
	}
	var buf bytes.Buffer
	require.NoError(t, WriteTradeoffPlot(&buf, points, TradeoffPlotOptions{
		Title: "Learning or forgetting?", XLabel: "English tasks avg.", YLabel: "French tasks avg.", WidthPx: 640, HeightPx: 480,
	}))
	img, err := png.Decode(&buf)
	require.NoError(t, err)
	assert.Equal(t, image.Rect(0, 0, 640, 480), img.Bounds())

	// The first method's colour must be drawn somewhere: the plot is not blank.
	want := methodColors[0]
	found := false
	for y := 0; y < 480 && !found; y++ {
		for x := 0; x < 640 && !found; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			found = uint8(r>>8) == want.R && uint8(g>>8) == want.G && uint8(b>>8) == want.B
		}
	}
	assert.True(t, found, "no pixel in the first method's colour")

	assert.ErrorContains(t, WriteTradeoffPlot(&buf, nil, TradeoffPlotOptions{}), "no points")
	assert.ErrorContains(t, WriteTradeoffPlot(&buf, points, TradeoffPlotOptions{WidthPx: -1, HeightPx: 10}), "size -1x10")
}

// The figure a reader gets without the command line: title and axis labels
// naming the languages and metrics, round tick labels, and a legend in a
// corner no point is in.
func TestTradeoffPlotReadsOnItsOwn(t *testing.T) {
	report := paperReport()
	points, err := report.TradeoffPoints(0, XEnglishScore)
	require.NoError(t, err)
	assert.Equal(t, "lr 5e-05", points[1].Label)
	opts := report.TradeoffLabels(0, XEnglishScore, false)
	assert.Equal(t, "Learning French vs. forgetting English\nmetrics: BeleBele acc_norm, HellaS acc_norm, Arc C acc_norm, CSQA acc_norm, MMLU acc_norm", opts.Title)
	assert.Equal(t, "English tasks, average % (higher: less forgetting)", opts.XLabel)
	assert.Equal(t, "French tasks, average % (higher: more learning)", opts.YLabel)
	bits := report.TradeoffLabels(1, XEnglishBitsPerByte, true)
	assert.Equal(t, "Danish held-out bits per byte (lower: more learning)", bits.YLabel)
	assert.Equal(t, "English held-out bits per byte (lower: less forgetting)", bits.XLabel)

	p, err := tradeoffPlot(points, opts, 800, 600)
	require.NoError(t, err)
	assert.Equal(t, opts.Title, p.Title.Text)
	assert.Equal(t, opts.XLabel, p.X.Label.Text)
	assert.Equal(t, opts.YLabel, p.Y.Label.Text)
	var labelled []string
	for _, tick := range p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max) {
		if tick.Label != "" {
			labelled = append(labelled, tick.Label)
		}
	}
	// English averages 49.76..53.32, padded by 8% a side: whole percents.
	assert.Equal(t, []string{"50", "51", "52", "53"}, labelled)
	assert.True(t, p.Legend.Left)
	assert.False(t, p.Legend.Top, "the bottom-left corner is empty in the paper's French block")

	// A point in every corner: the y axis grows so the legend sits above them all.
	corners := []TradeoffPoint{{Method: "Backbone", X: 0, Y: 0}, {Method: "Fine-tuning", X: 10, Y: 0}, {Method: "LoRA", X: 0, Y: 10}, {Method: "LoRA", X: 10, Y: 10}}
	p, err = tradeoffPlot(corners, TradeoffPlotOptions{}, 800, 600)
	require.NoError(t, err)
	assert.True(t, p.Legend.Top)
	assert.Greater(t, p.Y.Max, 10*1.08+1, "headroom above the highest point")
}

func TestNiceTicks(t *testing.T) {
	labels := func(lo, hi float64) []string {
		var out []string
		for _, tick := range (niceTicks{}).Ticks(lo, hi) {
			if tick.Label != "" {
				out = append(out, tick.Label)
			}
		}
		return out
	}
	assert.Equal(t, []string{"0", "20", "40", "60", "80", "100"}, labels(-3, 104))
	assert.Equal(t, []string{"0.66", "0.67", "0.68", "0.69", "0.70"}, labels(0.655, 0.705))
	assert.Equal(t, []string{"38", "40", "42", "44", "46", "48", "50", "52"}, labels(37.1, 52.4))
}

// Seeds show: each sample and each error bar's ends lie inside the axes
// (they are drawn: a bar past the axis would be cut).
func TestTradeoffPlotSeedsAndErrorBars(t *testing.T) {
	points := []TradeoffPoint{
		{Method: "backbone", X: 2.95, Y: 4.50},
		{Method: "finetune", Label: "p=0.1", X: 3.00, Y: 3.00, XErr: 0.20, YErr: 0.05,
			Samples: []XY{{2.80, 2.95}, {3.20, 3.05}}},
		{Method: "neutral-residues", Label: "p=0.1", X: 2.97, Y: 3.80, XErr: 0.01, YErr: 0.30,
			Samples: []XY{{2.96, 3.50}, {2.98, 4.10}, {2.97, 3.80}}},
	}
	p, err := tradeoffPlot(points, TradeoffPlotOptions{}, 800, 600)
	require.NoError(t, err)
	// Without the bars the x range would be 2.95..3.00 and y 3.00..4.50.
	assert.Less(t, p.X.Max-p.X.Min, 0.6)
	assert.LessOrEqual(t, p.X.Min, 2.80, "the finetune bar's left end (3.00 - 0.20)")
	assert.GreaterOrEqual(t, p.X.Max, 3.20)
	assert.LessOrEqual(t, p.Y.Min, 2.95)
	assert.GreaterOrEqual(t, p.Y.Max, 4.50)
	var buf bytes.Buffer
	require.NoError(t, WriteTradeoffPlot(&buf, points, TradeoffPlotOptions{Title: "seeds"}))
}
