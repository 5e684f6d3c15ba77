// Command bench measures nrgraph against a PyTorch implementation of the
// same model and step on this machine (`make bench`): adapter training
// tokens/s, forward scoring tokens/s and peak RSS, at d=256/L=4 and
// d=512/L=8 (seq 128, batch 16), at 1 and 2 threads, for nrgraph with an
// fp32 and an int8 backbone (--backbone-precision) and PyTorch in fp32 and
// with bf16 autocast, plus the matrix-unit rates each library reached in
// the same run (ORT fp32 and int8 GEMM, PyTorch fp32 and bf16) as
// yardsticks, and the CPU model and flags they depend on.
//
// Each measurement runs in its own process so peak RSS is its own.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/nrgraph/nrgraph/bench/internal/cpuinfo"
	"github.com/nrgraph/nrgraph/export"
	"github.com/nrgraph/nrgraph/graph"
	"github.com/nrgraph/nrgraph/models"
	"github.com/nrgraph/nrgraph/models/build"
	"github.com/nrgraph/nrgraph/runtime"
)

type result struct {
	Side        string  `json:"side"`
	D           int     `json:"d"`
	Layers      int     `json:"layers"`
	Threads     int     `json:"threads"`
	TrainTokS   float64 `json:"train_tokens_per_s"`
	ScoreTokS   float64 `json:"score_tokens_per_s"`
	PeakRSSMB   float64 `json:"peak_rss_mb"`
	GemmGFLOPS  float64 `json:"gemm_gflops,omitempty"`
	TrainGFLOPS float64 `json:"train_gflops,omitempty"`
	// Int8GFLOPS is ORT's DynamicQuantizeMatMul rate (gemm:T measurements).
	Int8GFLOPS float64 `json:"int8_gflops,omitempty"`
	// TorchFP32/BF16 are PyTorch's matmul rates (torch_step.py --gemm).
	TorchFP32 float64 `json:"fp32_gflops,omitempty"`
	TorchBF16 float64 `json:"bf16_gflops,omitempty"`
}

const batch, seq = 16, 128

func config(d, layers int) models.Config {
	ffn := 688
	if d != 256 {
		ffn = (8*d/3 + 7) / 8 * 8
	}
	return models.Config{Arch: "LlamaForCausalLM", Vocab: 4096, Hidden: d, Intermediate: ffn, Layers: layers, Heads: d / 64, KVHeads: d / 64,
		HeadDim: 64, RMSEps: 1e-5, RopeTheta: 10000, MaxPositions: seq, Act: "silu", QueryScale: 0.125}
}

// benchFlags choose what a run measures.
type benchFlags struct {
	steps, rounds        int
	shapes               [][2]int
	threads              []int
	bf16Batch, bf16Steps int
	noBF16, noInt8       bool
}

func main() {
	one := flag.String("one", "", "internal: measure one configuration (nrgraph:D:L:T[:int8] or gemm:T)")
	var f benchFlags
	flag.IntVar(&f.steps, "steps", 8, "timed steps per measurement (the median step counts)")
	flag.IntVar(&f.rounds, "rounds", 3, "alternating rounds of every side; each figure is the best round")
	shapes := flag.String("shapes", "256:4,512:8", "d:layers of the table's rows")
	threads := flag.String("threads", "1,2", "thread counts of the table's rows")
	flag.IntVar(&f.bf16Batch, "bf16-batch", batch, "sequences per PyTorch bf16-autocast step (a CPU without native bf16 runs it at ~1 GFLOP/s: a smaller batch keeps a round in minutes)")
	flag.IntVar(&f.bf16Steps, "bf16-steps", 0, "timed PyTorch bf16-autocast steps (0: -steps)")
	flag.BoolVar(&f.noBF16, "no-bf16", false, "skip the PyTorch bf16-autocast side")
	flag.BoolVar(&f.noInt8, "no-int8", false, "skip nrgraph's --backbone-precision int8 side")
	flag.Parse()
	if *one != "" {
		r, err := measure(*one, f.steps)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		json.NewEncoder(os.Stdout).Encode(r)
		return
	}
	f.shapes, f.threads = parseShapes(*shapes), parseInts(*threads)
	if f.bf16Steps == 0 {
		f.bf16Steps = f.steps
	}
	printTable(runRounds(f), f)
}

func parseInts(s string) []int {
	var out []int
	for _, part := range strings.Split(s, ",") {
		var n int
		if _, err := fmt.Sscan(part, &n); err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "bad number %q in %q\n", part, s)
			os.Exit(2)
		}
		out = append(out, n)
	}
	return out
}

func parseShapes(s string) [][2]int {
	var out [][2]int
	for _, part := range strings.Split(s, ",") {
		d, l, _ := strings.Cut(part, ":")
		dl := parseInts(d + "," + l)
		out = append(out, [2]int{dl[0], dl[1]})
	}
	return out
}

type benchKey struct{ d, layers, threads int }

// The table's sides, in column order.
const (
	nrgraphFP32 = iota
	nrgraphInt8
	torchFP32
	torchBF16
	numSides
)

var sideNames = [numSides]string{"nrgraph fp32", "nrgraph int8", "PyTorch fp32", "PyTorch bf16 autocast"}

// yardsticks are the matrix-unit rates each side could use, measured in
// the same run per thread count: ONNX Runtime's fp32 MatMul and int8
// DynamicQuantizeMatMul, PyTorch's fp32 and bf16 matmul.
type yardsticks struct{ ortFP32, ortInt8, torchFP32, torchBF16 float64 }

// bestResults keep each side's best figures and the yardsticks per
// thread count.
type bestResults struct {
	gemm map[int]yardsticks
	best map[benchKey][numSides]result
}

func (b bestResults) keep(k benchKey, side int, r result) {
	v := b.best[k]
	v[side].TrainTokS = max(v[side].TrainTokS, r.TrainTokS)
	v[side].ScoreTokS = max(v[side].ScoreTokS, r.ScoreTokS)
	v[side].PeakRSSMB = max(v[side].PeakRSSMB, r.PeakRSSMB)
	b.best[k] = v
}

// runJSON runs one measurement in its own process and decodes its result.
func runJSON(args ...string) (result, error) {
	var r result
	out, err := exec.Command(args[0], args[1:]...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return r, fmt.Errorf("%v: %s", args, ee.Stderr)
		}
		return r, err
	}
	err = json.Unmarshal(out, &r)
	return r, err
}

func mustResult(r result, err error) result {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return r
}

// runRounds measures every shape and thread count on every side.
// This VM's speed drifts by up to 1.7x over tens of seconds (other
// tenants), within one process as much as across them. Each figure is
// therefore the best of several rounds that alternate the sides, so all
// get the same chances at a quiet machine.
func runRounds(f benchFlags) bestResults {
	b := bestResults{gemm: map[int]yardsticks{}, best: map[benchKey][numSides]result{}}
	torchOK := true
	for round := 1; round <= f.rounds; round++ {
		for _, t := range f.threads {
			torchOK = b.measureGemm(t, torchOK)
		}
		for _, shape := range f.shapes {
			for _, t := range f.threads {
				k := benchKey{shape[0], shape[1], t}
				fmt.Fprintf(os.Stderr, "round %d/%d: d=%d L=%d threads=%d\n", round, f.rounds, k.d, k.layers, t)
				torchOK = b.measureShape(k, f, torchOK)
			}
		}
	}
	return b
}

// measureGemm keeps the best yardsticks at t threads (PyTorch's only
// while torchOK).
func (b bestResults) measureGemm(t int, torchOK bool) bool {
	self, _ := os.Executable()
	y := b.gemm[t]
	r := mustResult(runJSON(self, "-one", fmt.Sprintf("gemm:%d", t)))
	y.ortFP32, y.ortInt8 = max(y.ortFP32, r.GemmGFLOPS), max(y.ortInt8, r.Int8GFLOPS)
	if torchOK {
		tr, err := runJSON("/usr/bin/python3", "bench/torch_step.py", "--threads", fmt.Sprint(t), "--gemm", "1024")
		if err != nil {
			fmt.Fprintf(os.Stderr, "PyTorch side failed, measuring nrgraph alone (make bench-deps installs it): %v\n", err)
			torchOK = false
		}
		y.torchFP32, y.torchBF16 = max(y.torchFP32, tr.TorchFP32), max(y.torchBF16, tr.TorchBF16)
	}
	b.gemm[t] = y
	return torchOK
}

// measureShape runs every side once at k, alternating.
func (b bestResults) measureShape(k benchKey, f benchFlags, torchOK bool) bool {
	self, _ := os.Executable()
	spec := fmt.Sprintf("nrgraph:%d:%d:%d", k.d, k.layers, k.threads)
	steps := fmt.Sprint(f.steps)
	b.keep(k, nrgraphFP32, mustResult(runJSON(self, "-one", spec, "-steps", steps)))
	if !f.noInt8 {
		b.keep(k, nrgraphInt8, mustResult(runJSON(self, "-one", spec+":int8", "-steps", steps)))
	}
	if !torchOK {
		return false
	}
	torch := []string{"/usr/bin/python3", "bench/torch_step.py", "--d", fmt.Sprint(k.d), "--layers", fmt.Sprint(k.layers),
		"--heads", fmt.Sprint(k.d / 64), "--threads", fmt.Sprint(k.threads)}
	r, err := runJSON(append(torch, "--steps", steps)...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "PyTorch side failed: %v\n", err)
		return false
	}
	b.keep(k, torchFP32, r)
	if !f.noBF16 {
		r, err = runJSON(append(torch, "--bf16-autocast", "--steps", fmt.Sprint(f.bf16Steps), "--batch", fmt.Sprint(f.bf16Batch))...)
		if err != nil {
			fmt.Fprintf(os.Stderr, "PyTorch bf16 side failed: %v\n", err)
			return true
		}
		b.keep(k, torchBF16, r)
	}
	return true
}

// printTable writes the README's markdown tables: tokens/s of every side,
// then memory and each side's FLOP rate against the fastest matrix unit
// its library reached in this run.
func printTable(b bestResults, f benchFlags) {
	host, _ := os.Hostname()
	fmt.Printf("# nrgraph vs PyTorch, %s, %s, %d CPUs, best of %d rounds\n\n", time.Now().Format("2006-01-02"), host, goruntime.NumCPU(), f.rounds)
	fmt.Printf("CPU: %s; %s\n\n", cpuinfo.Model(), cpuinfo.Flags())
	for _, t := range f.threads {
		y := b.gemm[t]
		fmt.Printf("GEMM at %d thread(s), GFLOP/s: ONNX Runtime 2048³ fp32 %.0f, int8 (DynamicQuantizeMatMul) %.0f; PyTorch 1024³ fp32 %.0f, bf16 %.1f\n",
			t, y.ortFP32, y.ortInt8, y.torchFP32, y.torchBF16)
	}
	if f.bf16Batch != batch {
		fmt.Printf("\nPyTorch bf16 autocast ran %d sequences per step (the others %d), %d timed step(s).\n", f.bf16Batch, batch, f.bf16Steps)
	}
	fmt.Println("\n| d / layers | threads | train tok/s: nrgraph fp32 | nrgraph int8 | PyTorch fp32 | PyTorch bf16 | int8 / bf16 | score tok/s: nrgraph fp32 | nrgraph int8 | PyTorch fp32 | PyTorch bf16 | int8 / bf16 |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, shape := range f.shapes {
		for _, t := range f.threads {
			r := b.best[benchKey{shape[0], shape[1], t}]
			fmt.Printf("| %d / %d | %d |", shape[0], shape[1], t)
			for _, pick := range []func(result) float64{func(x result) float64 { return x.TrainTokS }, func(x result) float64 { return x.ScoreTokS }} {
				for side := 0; side < numSides; side++ {
					fmt.Printf(" %s |", figure(pick(r[side]), "%.0f"))
				}
				fmt.Printf(" %s |", ratio(pick(r[nrgraphInt8]), pick(r[torchBF16])))
			}
			fmt.Println()
		}
	}
	printEfficiency(b, f)
}

// printEfficiency is the second table: peak RSS and the share of the
// fastest matrix unit each side's library reached (nrgraph: the better of
// ORT's fp32 and int8 GEMM; PyTorch: the better of its fp32 and bf16).
func printEfficiency(b bestResults, f benchFlags) {
	fmt.Println("\n| d / layers | threads | peak RSS MB: nrgraph fp32 / int8 / PyTorch fp32 / bf16 | train, % of fastest GEMM: nrgraph fp32 / int8 / PyTorch fp32 / bf16 | score, % of fastest GEMM |")
	fmt.Println("|---|---|---|---|---|")
	for _, shape := range f.shapes {
		for _, t := range f.threads {
			r, y := b.best[benchKey{shape[0], shape[1], t}], b.gemm[t]
			c := config(shape[0], shape[1])
			hidden := adapterHidden(c)
			unit := [numSides]float64{max(y.ortFP32, y.ortInt8), max(y.ortFP32, y.ortInt8), max(y.torchFP32, y.torchBF16), max(y.torchFP32, y.torchBF16)}
			var rss, train, score []string
			for side := 0; side < numSides; side++ {
				pct := func(flops, tokS float64) float64 { return 100 * flops * tokS / 1e9 / unit[side] }
				rss = append(rss, figure(r[side].PeakRSSMB, "%.0f"))
				train = append(train, figure(pct(trainFLOPs(c, hidden), r[side].TrainTokS), "%.0f%%"))
				score = append(score, figure(pct(scoreFLOPs(c, hidden), r[side].ScoreTokS), "%.0f%%"))
			}
			fmt.Printf("| %d / %d | %d | %s | %s | %s |\n", shape[0], shape[1], t, strings.Join(rss, " / "), strings.Join(train, " / "), strings.Join(score, " / "))
		}
	}
}

// figure formats x, or – when the side was not measured.
func figure(x float64, format string) string {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	return fmt.Sprintf(format, x)
}

func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// adapterHidden is the neutral-residues adapter width nrgraph gives c.
func adapterHidden(c models.Config) int {
	ext, _ := models.DefaultExtension(models.NeutralResidues)
	return models.AdapterHidden(c, ext.Capacity)
}

func peakRSS() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024
}

func measure(spec string, steps int) (result, error) {
	if err := runtime.Init(""); err != nil {
		return result{}, err
	}
	parts := strings.Split(spec, ":")
	var r result
	if parts[0] == "gemm" {
		fmt.Sscan(parts[1], &r.Threads)
		var err error
		if r.GemmGFLOPS, err = gemmRate(r.Threads, false); err != nil {
			return r, err
		}
		r.Int8GFLOPS, err = gemmRate(r.Threads, true)
		return r, err
	}
	fmt.Sscan(parts[1], &r.D)
	fmt.Sscan(parts[2], &r.Layers)
	fmt.Sscan(parts[3], &r.Threads)
	r.Side = "nrgraph"
	c := config(r.D, r.Layers)
	dir, _ := os.MkdirTemp("", "nrgraph-bench-")
	defer os.RemoveAll(dir)
	scoring := os.Getenv("NRGRAPH_BENCH_ONLY") != "train"
	precision := models.PrecisionFP32
	if len(parts) > 4 {
		precision = models.BackbonePrecision(parts[4])
		r.Side += " " + parts[4]
	}
	step, score, err := prepareGraphs(c, precision, dir, scoring)
	if err != nil {
		return r, err
	}
	// The graphs and their random weights were only needed to write the
	// ONNX files; hand the Go heap back so peak RSS measures what
	// `nrgraph train` holds (ONNX Runtime plus the trainable state).
	debug.FreeOSMemory()
	if r.TrainTokS, err = step.time(r.Threads, steps); err != nil {
		return r, err
	}
	r.TrainGFLOPS = trainFLOPs(c, adapterHidden(c)) * r.TrainTokS / 1e9
	if scoring {
		if r.ScoreTokS, err = score.time(r.Threads, steps); err != nil {
			return r, err
		}
	}
	r.PeakRSSMB = peakRSS()
	return r, nil
}

// prepareGraphs writes the neutral-residues training step (and the score
// graph) for c under dir with their inputs.
func prepareGraphs(c models.Config, precision models.BackbonePrecision, dir string, scoring bool) (step, score *job, err error) {
	ext, _ := models.DefaultExtension(models.NeutralResidues)
	m := models.Model{Config: c, Weights: models.RandomWeights(c, 1, 0.02), Ext: ext, BackbonePrecision: precision}
	if precision == models.PrecisionInt8 {
		if m.Int8File, err = models.CreateInt8File(filepath.Join(dir, "backbone.int8.data")); err != nil {
			return nil, nil, err
		}
		defer m.Int8File.Close()
	}
	est, err := models.EstimateMemory(c, ext, seq, batch, seq*batch)
	if err != nil {
		return nil, nil, err
	}
	est = est.WithBuildOptions(c, ext, false, precision)
	g, e, err := models.BuildTrainGraph(m, graph.DefaultAdamW(), models.FusedStep)
	if err != nil {
		return nil, nil, err
	}
	if step, err = prepare(g, e, dir, "step.onnx"); err != nil {
		return nil, nil, err
	}
	step.noArena = build.LeanMemoryFor(est.TrainPeak)
	if !scoring {
		return step, nil, nil
	}
	g, e, err = models.BuildScoreGraph(m)
	if err != nil {
		return nil, nil, err
	}
	if score, err = prepare(g, e, dir, "score.onnx"); err != nil {
		return nil, nil, err
	}
	score.noArena = step.noArena
	return step, score, nil
}

// trainFLOPs per token of the adapter training step: forward of every
// projection, input gradients through the frozen ones, and forward, input
// and weight gradients of the adapters (attention score products included).
func trainFLOPs(c models.Config, hidden int) float64 {
	d, f, h, L, V := float64(c.Hidden), float64(c.Intermediate), float64(hidden), float64(c.Layers), float64(c.Vocab)
	frozen := L*(4*d*d+3*d*f) + V*d
	adapter := L * 3 * d * h
	attn := L * 2 * seq * d // QK and PV per token (causal not exploited)
	return 2*(2*frozen) + 2*(3*adapter) + 2*(2*attn)
}

// scoreFLOPs per token of the forward pass (every projection, the
// adapters and attention's two products).
func scoreFLOPs(c models.Config, hidden int) float64 {
	d, f, h, L, V := float64(c.Hidden), float64(c.Intermediate), float64(hidden), float64(c.Layers), float64(c.Vocab)
	return 2*(L*(4*d*d+3*d*f)+V*d) + 2*(L*3*d*h) + 2*(L*2*seq*d)
}

// job is an exported graph with its inputs, ready to time.
type job struct {
	path, file string
	// noArena is what nrgraph train and eval would choose for this model
	// (build.LeanMemoryFor its estimated step).
	noArena bool
	names   []string
	ins     []*runtime.Tensor
	outs    []string
	pre     []*runtime.Tensor
}

// prepare exports g under dir and makes random inputs (trainable state
// from e's initial values).
func prepare(g *graph.Graph, e *models.Extended, dir, file string) (*job, error) {
	j := &job{path: filepath.Join(dir, file), file: file}
	if err := export.Save(g, j.path, export.Options{}); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewSource(1))
	for _, v := range g.Inputs() {
		dims, err := v.Shape.Bind(map[string]int64{models.Batch: batch, models.Seq: seq})
		if err != nil {
			return nil, err
		}
		n := graph.NumElements(dims)
		var t *runtime.Tensor
		if v.DType == graph.Int64 {
			ids := make([]int64, n)
			for i := range ids {
				ids[i] = int64(rng.Intn(4096))
			}
			t, err = runtime.NewTensor(dims, ids)
		} else {
			vals := make([]float32, n)
			if d := e.Init[v.Name()]; d != nil {
				f, _ := d.Float64s()
				for i := range vals {
					vals[i] = float32(f[i])
				}
			} else {
				for i := range vals {
					vals[i] = 1
				}
			}
			if v.Name() == graph.LRInput {
				vals[0] = 1e-4
			}
			t, err = runtime.NewTensor(dims, vals)
		}
		if err != nil {
			return nil, err
		}
		j.names = append(j.names, v.Name())
		j.ins = append(j.ins, t)
	}
	// Every output, as the trainer and scorer ask for them (the PyTorch
	// side computes the same: the targets' log-probs and is-greedy flags).
	outVals := g.Outputs()
	for _, v := range outVals {
		j.outs = append(j.outs, v.Name())
	}
	var err error
	j.pre, err = runtime.OutputsFor(outVals)
	return j, err
}

// time runs the job's graph and returns tokens/s.
func (j *job) time(threads, steps int) (float64, error) {
	s, err := runtime.Open(j.path, j.names, j.outs, runtime.Options{Threads: threads, NoArena: j.noArena,
		ProfilePrefix: profilePrefix(j.file), OptimizedModelPath: optimizedPath(j.file), Config: ortConfig()})
	if err != nil {
		return 0, err
	}
	defer s.Close()
	res, err := s.Run(j.ins, j.pre)
	if err != nil {
		return 0, err
	}
	times := make([]float64, steps)
	for i := range times {
		start := time.Now()
		if _, err := s.Run(j.ins, res); err != nil {
			return 0, err
		}
		times[i] = time.Since(start).Seconds()
	}
	if os.Getenv("NRGRAPH_BENCH_VERBOSE") != "" {
		fmt.Fprintf(os.Stderr, "%s step times (s): %.3f\n", j.file, times)
	}
	return float64(batch*seq) / median(times), nil
}

// median of xs (sorted in place). The VM this runs on is noisy (steps of
// the same graph vary by 20-30%); the median step is what both sides
// report.
func median(xs []float64) float64 {
	sort.Float64s(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// profilePrefix is where ORT writes a per-node profile of file's graph
// when NRGRAPH_BENCH_PROFILE is set (e.g. /tmp/prof -> /tmp/prof-step...json).
func profilePrefix(file string) string {
	p := os.Getenv("NRGRAPH_BENCH_PROFILE")
	if p == "" {
		return ""
	}
	return p + "-" + strings.TrimSuffix(file, ".onnx")
}

// ortConfig reads extra ORT session config entries from
// NRGRAPH_BENCH_ORT_CONFIG ("key=value;key=value"), for trying settings.
func ortConfig() map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(os.Getenv("NRGRAPH_BENCH_ORT_CONFIG"), ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// optimizedPath is where ORT writes file's graph after its optimizations
// when NRGRAPH_BENCH_OPTIMIZED is set (a directory).
func optimizedPath(file string) string {
	if dir := os.Getenv("NRGRAPH_BENCH_OPTIMIZED"); dir != "" {
		return filepath.Join(dir, "optimized-"+file)
	}
	return ""
}

// gemmRate measures the product of 2048x2048 matrices through ORT: fp32
// MatMul, or (int8) DynamicQuantizeMatMul against a constant uint8 matrix
// as the int8 backbone runs it (a constant, so ORT pre-packs it).
func gemmRate(threads int, int8 bool) (float64, error) {
	const n = 2048
	vals := make([]float32, n*n)
	for i := range vals {
		vals[i] = float32(i%7) * 0.1
	}
	g, err := graph.Build("gemm", func(g *graph.Graph) {
		a := g.Input("a", graph.Float32, graph.S(n, n))
		if int8 {
			q, scales := models.QuantizeRows(graph.NewData([]int64{n, n}, vals))
			zero, _ := graph.RawData(graph.Uint8, nil, []byte{128})
			g.Output("c", graph.DynamicQuantizeMatMul(a, g.Initializer("b", q), g.Initializer("s", scales), graph.Const(g, zero)))
			return
		}
		g.Output("c", graph.MatMul(a, g.Input("b", graph.Float32, graph.S(n, n))))
	})
	if err != nil {
		return 0, err
	}
	model, err := export.Marshal(g, export.Options{})
	if err != nil {
		return 0, err
	}
	names := []string{"a", "b"}
	if int8 {
		names = names[:1]
	}
	s, err := runtime.OpenBytes(model, names, []string{"c"}, runtime.Options{Threads: threads})
	if err != nil {
		return 0, err
	}
	defer s.Close()
	a, _ := runtime.NewTensor([]int64{n, n}, vals)
	b, _ := runtime.NewTensor([]int64{n, n}, vals)
	c, _ := runtime.NewEmpty(graph.Float32, []int64{n, n})
	ins, outs := []*runtime.Tensor{a, b}[:len(names)], []*runtime.Tensor{c}
	if _, err := s.Run(ins, outs); err != nil {
		return 0, err
	}
	const reps = 5
	start := time.Now()
	for i := 0; i < reps; i++ {
		if _, err := s.Run(ins, outs); err != nil {
			return 0, err
		}
	}
	return 2 * n * n * n * reps / time.Since(start).Seconds() / 1e9, nil
}
