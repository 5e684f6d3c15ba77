package evaltasks

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// TradeoffPoint is one model on the learning/forgetting plane.
type TradeoffPoint struct {
	// Method groups points: one method's points are joined by a line in the
	// order given (Figure 1 joins the learning rates of each method).
	Method string
	// Label is written next to the point, e.g. the learning rate.
	Label string
	X, Y  float64
	// XErr and YErr, when positive, draw error bars of ± that much (the
	// standard deviation over seeds, for a mean).
	XErr, YErr float64
	// Samples are the points a mean was taken over (one per seed), drawn
	// as small hollow markers in the method's colour so the spread shows.
	Samples []XY
}

// XY is one sample on the plane.
type XY struct{ X, Y float64 }

// TradeoffPlotOptions sizes and labels the figure.
type TradeoffPlotOptions struct {
	Title, XLabel, YLabel string
	// WidthPx and HeightPx are the PNG's size in pixels; 0 means 800x600.
	WidthPx, HeightPx int
}

// plotDPI is fixed so that pixel sizes are exact.
const plotDPI = 96

// methodColors are distinguishable on screen and in grayscale print.
var methodColors = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xd6, 0x27, 0x28, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0xff, 0x7f, 0x0e, 0xff}, {0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
}

// WriteTradeoffPlot draws the paper's Figure 1 as a PNG: x is the English
// score (or English bits per byte), y the target-language score, one
// labelled marker per model and a line through each method's points.
func WriteTradeoffPlot(w io.Writer, points []TradeoffPoint, opts TradeoffPlotOptions) error {
	width, height := opts.WidthPx, opts.HeightPx
	if width == 0 && height == 0 {
		width, height = 800, 600
	}
	if width <= 0 || height <= 0 {
		return fmt.Errorf("trade-off plot: size %dx%d", width, height)
	}
	p, err := tradeoffPlot(points, opts, width, height)
	if err != nil {
		return err
	}
	canvas := vgimg.NewWith(vgimg.UseWH(pixels(width), pixels(height)), vgimg.UseDPI(plotDPI))
	p.Draw(draw.New(canvas))
	if _, err := (vgimg.PngCanvas{Canvas: canvas}).WriteTo(w); err != nil {
		return fmt.Errorf("trade-off plot: write png: %w", err)
	}
	return nil
}

// tradeoffPlot builds the figure WriteTradeoffPlot draws, so tests can read
// back its title, labels, ticks and legend placement.
func tradeoffPlot(points []TradeoffPoint, opts TradeoffPlotOptions, width, height int) (*plot.Plot, error) {
	if len(points) == 0 {
		return nil, fmt.Errorf("trade-off plot: no points")
	}
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = opts.Title, opts.XLabel, opts.YLabel
	p.Title.Padding = vg.Points(6)
	p.X.Tick.Marker, p.Y.Tick.Marker = niceTicks{}, niceTicks{}
	p.Add(plotter.NewGrid())

	var methods []string
	byMethod := map[string]plotter.XYs{}
	labels := plotter.XYLabels{}
	for _, pt := range points {
		if _, seen := byMethod[pt.Method]; !seen {
			methods = append(methods, pt.Method)
		}
		byMethod[pt.Method] = append(byMethod[pt.Method], plotter.XY{X: pt.X, Y: pt.Y})
		labels.XYs = append(labels.XYs, plotter.XY{X: pt.X, Y: pt.Y})
		labels.Labels = append(labels.Labels, pt.Label)
	}
	for i, method := range methods {
		line, scatter, err := plotter.NewLinePoints(byMethod[method])
		if err != nil {
			return nil, fmt.Errorf("trade-off plot: method %s: %w", method, err)
		}
		c := methodColors[i%len(methodColors)]
		line.Color, scatter.Color = c, c
		scatter.Shape = draw.CircleGlyph{}
		scatter.Radius = vg.Points(3)
		if err := addSpread(p, points, method, c); err != nil {
			return nil, err
		}
		p.Add(line, scatter)
		p.Legend.Add(method, line, scatter)
	}
	pointLabels, err := plotter.NewLabels(labels)
	if err != nil {
		return nil, fmt.Errorf("trade-off plot: labels: %w", err)
	}
	pointLabels.Offset = vg.Point{X: vg.Points(4), Y: vg.Points(4)}
	p.Add(pointLabels)
	padAxis(&p.X, 0.08)
	padAxis(&p.Y, 0.08)
	placeLegend(p, withSamples(points), methods, width, height)
	return p, nil
}

// addSpread draws one method's per-seed samples and error bars, beneath
// its means.
func addSpread(p *plot.Plot, points []TradeoffPoint, method string, c color.RGBA) error {
	var samples plotter.XYs
	bars := errorBars{}
	for _, pt := range points {
		if pt.Method != method {
			continue
		}
		for _, s := range pt.Samples {
			samples = append(samples, plotter.XY{X: s.X, Y: s.Y})
		}
		if pt.XErr > 0 || pt.YErr > 0 {
			bars.XYs = append(bars.XYs, plotter.XY{X: pt.X, Y: pt.Y})
			bars.xErr, bars.yErr = append(bars.xErr, pt.XErr), append(bars.yErr, pt.YErr)
		}
	}
	if len(samples) > 0 {
		sc, err := plotter.NewScatter(samples)
		if err != nil {
			return fmt.Errorf("trade-off plot: method %s samples: %w", method, err)
		}
		sc.Color, sc.Shape, sc.Radius = c, draw.RingGlyph{}, vg.Points(2)
		p.Add(sc)
	}
	if len(bars.XYs) == 0 {
		return nil
	}
	xb, err := plotter.NewXErrorBars(bars)
	if err != nil {
		return fmt.Errorf("trade-off plot: method %s error bars: %w", method, err)
	}
	yb, err := plotter.NewYErrorBars(bars)
	if err != nil {
		return fmt.Errorf("trade-off plot: method %s error bars: %w", method, err)
	}
	xb.Color, yb.Color = c, c
	p.Add(xb, yb)
	return nil
}

// errorBars are means with symmetric ± sd bars, for gonum's error-bar
// plotters.
type errorBars struct {
	plotter.XYs
	xErr, yErr []float64
}

func (e errorBars) XError(i int) (float64, float64) { return e.xErr[i], e.xErr[i] }
func (e errorBars) YError(i int) (float64, float64) { return e.yErr[i], e.yErr[i] }

// withSamples adds each point's samples and error-bar ends as unlabelled
// points, so the legend avoids them too.
func withSamples(points []TradeoffPoint) []TradeoffPoint {
	out := append([]TradeoffPoint{}, points...)
	for _, pt := range points {
		for _, s := range pt.Samples {
			out = append(out, TradeoffPoint{Method: pt.Method, X: s.X, Y: s.Y})
		}
		for _, sign := range []float64{-1, 1} {
			out = append(out, TradeoffPoint{Method: pt.Method, X: pt.X + sign*pt.XErr, Y: pt.Y + sign*pt.YErr})
		}
	}
	return out
}

// placeLegend puts the legend in a corner of the data area that no point
// (nor its label, drawn up and right of it) falls in; when every corner is
// taken, the y axis grows at the top to make room for it there.
func placeLegend(p *plot.Plot, points []TradeoffPoint, methods []string, width, height int) {
	longest := 0
	for _, m := range methods {
		longest = max(longest, len(m))
	}
	// The legend's size as a fraction of the data area, from its font
	// (about 0.55 em per character) and one line per method; the data area
	// is roughly the figure less 70 pixels of axes and title each way.
	font := float64(p.Legend.TextStyle.Font.Size) * plotDPI / 72
	boxW := (float64(longest)*0.55*font + 40) / float64(max(1, width-70))
	boxH := (float64(len(methods))*1.25*font + 10) / float64(max(1, height-70))
	// A point's label extends right of it by its length and 20 pixels up; a
	// 15-pixel margin keeps markers clear of the legend's padding.
	labelH := 20 / float64(max(1, height-70))
	marginW, marginH := 15/float64(max(1, width-70)), 15/float64(max(1, height-70))
	boxW, boxH = boxW+marginW, boxH+marginH
	occupied := func(left, top bool) bool {
		for _, pt := range points {
			labelW := (float64(len(pt.Label))*0.55*font + 10) / float64(max(1, width-70))
			x := (pt.X - p.X.Min) / (p.X.Max - p.X.Min)
			y := (pt.Y - p.Y.Min) / (p.Y.Max - p.Y.Min)
			inX := (left && x < boxW) || (!left && x+labelW > 1-boxW)
			inY := (top && y+labelH > 1-boxH) || (!top && y < boxH)
			if inX && inY {
				return true
			}
		}
		return false
	}
	// Good models sit top-right (little forgetting, much learning), so the
	// bottom corners are tried first.
	for _, corner := range []struct{ left, top bool }{{true, false}, {false, false}, {true, true}, {false, true}} {
		if !occupied(corner.left, corner.top) {
			p.Legend.Left, p.Legend.Top = corner.left, corner.top
			return
		}
	}
	span := p.Y.Max - p.Y.Min
	p.Y.Max += span * (boxH + labelH) / max(0.2, 1-boxH-labelH)
	p.Legend.Left, p.Legend.Top = true, true
}

// padAxis widens an axis by fraction of its span on both sides so that point
// labels near the edges stay inside the plot.
func padAxis(axis *plot.Axis, fraction float64) {
	span := axis.Max - axis.Min
	if span == 0 {
		span = max(1, math.Abs(axis.Max))
	}
	axis.Min -= fraction * span
	axis.Max += fraction * span
}

// niceTicks labels round values — steps of 1, 2 or 5 times a power of ten,
// four to eight labels per axis — with as many decimals as the step needs, and
// puts unlabelled minor ticks between them. (gonum's default ticks keep
// only a few labels, at odd values such as 45, 48, 51.)
type niceTicks struct{}

func (niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 4, 64)}}
	}
	raw := (hi - lo) / 8
	magnitude := math.Pow(10, math.Floor(math.Log10(raw)))
	step := magnitude
	for _, m := range []float64{1, 2, 5, 10} {
		if m*magnitude >= raw {
			step = m * magnitude
			break
		}
	}
	decimals := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	minor := step / 5
	if math.Abs(step/magnitude-2) < 1e-9 {
		minor = step / 4
	}
	var ticks []plot.Tick
	for i := math.Ceil(lo / minor); i*minor <= hi+1e-9*step; i++ {
		v := i*minor + 0 // + 0 turns -0 into 0
		tick := plot.Tick{Value: v}
		if r := math.Mod(math.Abs(v)+step/1e6, step); r < step/1e3 {
			tick.Label = strconv.FormatFloat(v, 'f', decimals, 64)
		}
		ticks = append(ticks, tick)
	}
	return ticks
}

func pixels(n int) vg.Length { return vg.Length(n) * vg.Inch / plotDPI }

// XAxis chooses what TradeoffPoints puts on the horizontal axis.
type XAxis int

const (
	// XEnglishScore is the English task average (Figure 1).
	XEnglishScore XAxis = iota
	// XEnglishBitsPerByte is English held-out bits per byte (Tables 1-2).
	XEnglishBitsPerByte
)

// TradeoffPoints turns one report section into plot points: y is the target
// task average in percent; x the English average in percent or English bits
// per byte. Methods lacking the needed numbers are skipped.
func (r Report) TradeoffPoints(section int, x XAxis) ([]TradeoffPoint, error) {
	if section < 0 || section >= len(r.Sections) {
		return nil, fmt.Errorf("trade-off points: section %d of %d", section, len(r.Sections))
	}
	benchmarks := r.benchmarks()
	metrics := r.columnMetrics(benchmarks)
	var points []TradeoffPoint
	rowLabels := RowLabels(r.Sections[section].Methods)
	for i, m := range r.Sections[section].Methods {
		target := groupScores(m.Target, benchmarks, metrics).Average
		english := groupScores(m.English, benchmarks, metrics).Average
		if target == nil {
			continue
		}
		pt := TradeoffPoint{Method: m.Method, Y: 100 * *target}
		// The learning rate, or whatever else tells the row apart in the table.
		if m.LearningRate != 0 {
			pt.Label = "lr " + strconv.FormatFloat(m.LearningRate, 'g', -1, 64)
		} else {
			pt.Label = strings.TrimSpace(strings.TrimPrefix(rowLabels[i], m.Method))
		}
		switch {
		case x == XEnglishBitsPerByte && m.EnglishText != nil:
			pt.X = m.EnglishText.BitsPerByte
		case x == XEnglishScore && english != nil:
			pt.X = 100 * *english
		default:
			continue
		}
		points = append(points, pt)
	}
	return points, nil
}

// TradeoffLabels titles a section's trade-off plot and labels its axes with
// the languages and metrics plotted, so the PNG reads without the command
// line. yBitsPerByte is for plots of held-out bits per byte on both axes.
func (r Report) TradeoffLabels(section int, x XAxis, yBitsPerByte bool) TradeoffPlotOptions {
	target := "target"
	if section >= 0 && section < len(r.Sections) && r.Sections[section].Target != "" {
		target = r.Sections[section].Target
	}
	opts := TradeoffPlotOptions{Title: "Learning " + target + " vs. forgetting English"}
	if x == XEnglishBitsPerByte {
		opts.XLabel = "English held-out bits per byte (lower: less forgetting)"
	} else {
		opts.XLabel = "English tasks, average % (higher: less forgetting)"
	}
	if yBitsPerByte {
		opts.YLabel = target + " held-out bits per byte (lower: more learning)"
		return opts
	}
	opts.YLabel = target + " tasks, average % (higher: more learning)"
	benchmarks := r.benchmarks()
	metrics := r.columnMetrics(benchmarks)
	var parts []string
	for _, bench := range benchmarks {
		parts = append(parts, columnName(bench)+" "+string(metrics[bench]))
	}
	if len(parts) > 0 {
		opts.Title += "\nmetrics: " + strings.Join(parts, ", ")
	}
	return opts
}
