package evaltasks

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"

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
}

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
	if len(points) == 0 {
		return fmt.Errorf("trade-off plot: no points")
	}
	width, height := opts.WidthPx, opts.HeightPx
	if width == 0 && height == 0 {
		width, height = 800, 600
	}
	if width <= 0 || height <= 0 {
		return fmt.Errorf("trade-off plot: size %dx%d", width, height)
	}
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = opts.Title, opts.XLabel, opts.YLabel
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
			return fmt.Errorf("trade-off plot: method %s: %w", method, err)
		}
		c := methodColors[i%len(methodColors)]
		line.Color, scatter.Color = c, c
		scatter.Shape = draw.CircleGlyph{}
		scatter.Radius = vg.Points(3)
		p.Add(line, scatter)
		p.Legend.Add(method, line, scatter)
	}
	pointLabels, err := plotter.NewLabels(labels)
	if err != nil {
		return fmt.Errorf("trade-off plot: labels: %w", err)
	}
	pointLabels.Offset = vg.Point{X: vg.Points(4), Y: vg.Points(4)}
	p.Add(pointLabels)
	// Good models sit top-right (little forgetting, much learning); the
	// bottom-left corner is where the legend hides nothing.
	p.Legend.Left, p.Legend.Top = true, false
	padAxis(&p.X, 0.08)
	padAxis(&p.Y, 0.08)

	canvas := vgimg.NewWith(vgimg.UseWH(pixels(width), pixels(height)), vgimg.UseDPI(plotDPI))
	p.Draw(draw.New(canvas))
	if _, err := (vgimg.PngCanvas{Canvas: canvas}).WriteTo(w); err != nil {
		return fmt.Errorf("trade-off plot: write png: %w", err)
	}
	return nil
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
	benchmarks, metric := r.benchmarks(), r.metric()
	var points []TradeoffPoint
	for _, m := range r.Sections[section].Methods {
		target := groupScores(m.Target, benchmarks, metric).Average
		english := groupScores(m.English, benchmarks, metric).Average
		if target == nil {
			continue
		}
		pt := TradeoffPoint{Method: m.Method, Y: 100 * *target}
		if m.LearningRate != 0 {
			pt.Label = strconv.FormatFloat(m.LearningRate, 'g', -1, 64)
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
