package main

import (
	"fmt"
	"os"

	"github.com/nrgraph/nrgraph/evaltasks"
	"github.com/nrgraph/nrgraph/evaltasks/scoring"
)

func init() {
	register(subcommand{name: "report", summary: "collect eval results into the paper's tables and a trade-off plot", run: runReport})
}

func runReport(args []string) error {
	fs := newFlagSet("report", "EVAL_JSON... [--markdown FILE] [--json FILE] [--plot FILE.png]")
	md := fs.String("markdown", "", "write the Table 3-style markdown here (default: stdout)")
	js := fs.String("json", "", "write every number as JSON here")
	plotPath := fs.String("plot", "", "write a Figure 1-style trade-off PNG here")
	xAxis := fs.String("x", "score", "plot x axis: score (English task average) or bpb (English bits per byte)")
	metrics := fs.StringArray("metric", nil, "show BENCHMARK=METRIC in that column instead of the metric it was evaluated for (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("give eval JSON files written by nrgraph eval --out")
	}
	rep, err := scoring.CollectReport(fs.Args())
	if err != nil {
		return err
	}
	if rep.Metrics, err = evaltasks.ParseMetricOverrides(*metrics); err != nil {
		return err
	}
	table := rep.Markdown() + "\n" + scoring.PerplexityTable(rep)
	if *md == "" {
		fmt.Print(table)
	} else {
		if err := os.WriteFile(*md, []byte(table), 0o644); err != nil {
			return err
		}
		for _, warning := range rep.Warnings() { // the file has them too
			fmt.Fprintln(os.Stderr, "warning:", warning)
		}
	}
	if *js != "" {
		f, err := os.Create(*js)
		if err != nil {
			return err
		}
		if err := rep.WriteJSON(f, false); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if *plotPath != "" {
		axis := evaltasks.XEnglishScore
		if *xAxis == "bpb" {
			axis = evaltasks.XEnglishBitsPerByte
		}
		points, err := rep.TradeoffPoints(0, axis)
		if err != nil {
			return err
		}
		opts := rep.TradeoffLabels(0, axis, false)
		if len(points) == 0 {
			// No benchmark scores: plot held-out bits per byte on both axes.
			points = scoring.BitsPerBytePoints(rep, 0)
			opts = rep.TradeoffLabels(0, evaltasks.XEnglishBitsPerByte, true)
		}
		f, err := os.Create(*plotPath)
		if err != nil {
			return err
		}
		if err := evaltasks.WriteTradeoffPlot(f, points, opts); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", *plotPath)
	}
	return nil
}
