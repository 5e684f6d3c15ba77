// Command int8ops times the ONNX Runtime ops that could run a frozen
// linear layer in int8 against fp32 MatMul on this machine, in
// alternating rounds (the VM's speed drifts; each op gets the same
// chances), at the shapes of the bench (d=512, FFN 1368, 2048 tokens) and
// at d=2048. It picks the op `--backbone-precision int8` emits
// (models/int8.go cites its numbers):
//
//	go run ./bench/int8ops -threads 2 -rounds 3
//
// Every candidate computes y[M,N] = x[M,K]·W[K,N] with W a constant
// initializer (what ORT pre-packs) and x quantised per call:
//   - fp32:      MatMul
//   - dqmm-s8:   com.microsoft DynamicQuantizeMatMul, W int8 in [-127, 127]
//   - dqmm-s7:   the same, W in [-63, 63] (7 bits: u8·s8 pairs cannot
//     saturate AVX2's 16-bit vpmaddubsw sums)
//   - dqmm-u8:   DynamicQuantizeMatMul with W uint8 (zero point 128)
//   - mmitf:     DynamicQuantizeLinear + com.microsoft MatMulIntegerToFloat
//   - mmint:     DynamicQuantizeLinear + MatMulInteger + Cast + Mul (all ONNX)
//   - nbits8:    com.microsoft MatMulNBits, bits 8, block 32, accuracy_level 4
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"os"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/nrgraph/nrgraph/bench/internal/cpuinfo"
	"github.com/nrgraph/nrgraph/export/onnxpb"
	"github.com/nrgraph/nrgraph/runtime"
)

type shape struct{ m, k, n int }

var shapes = []shape{{2048, 512, 512}, {2048, 512, 1368}, {2048, 1368, 512}, {2048, 2048, 2048}}

var candidates = []string{"fp32", "dqmm-s8", "dqmm-s7", "dqmm-u8", "mmitf", "mmint", "nbits8"}

func main() {
	threads := flag.Int("threads", 2, "ONNX Runtime intra-op threads")
	rounds := flag.Int("rounds", 3, "alternating rounds; each figure is the best")
	reps := flag.Int("reps", 5, "timed runs per op per round (the median counts)")
	only := flag.String("ops", strings.Join(candidates, ","), "comma-separated candidates")
	flag.Parse()
	if err := runtime.Init(""); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ops := strings.Split(*only, ",")
	best := map[string]float64{}
	for r := 0; r < *rounds; r++ {
		for _, s := range shapes {
			for _, op := range ops {
				gf, err := timeOp(op, s, *threads, *reps)
				key := fmt.Sprintf("%s %v", op, s)
				if err != nil {
					fmt.Fprintf(os.Stderr, "%s: %v\n", key, err)
					best[key] = -1
					continue
				}
				best[key] = max(best[key], gf)
			}
		}
	}
	fmt.Printf("GFLOP/s (2MKN/s), best of %d rounds, %d threads, %s\n\n| M x K x N |", *rounds, *threads, cpuinfo.Model())
	for _, op := range ops {
		fmt.Printf(" %s |", op)
	}
	fmt.Println()
	for _, s := range shapes {
		fmt.Printf("| %d x %d x %d |", s.m, s.k, s.n)
		for _, op := range ops {
			v := best[fmt.Sprintf("%s %v", op, s)]
			if v < 0 {
				fmt.Print(" refused |")
			} else {
				fmt.Printf(" %.0f (%.2fx) |", v, v/best[fmt.Sprintf("fp32 %v", s)])
			}
		}
		fmt.Println()
	}
}

// timeOp builds op's model for s, runs it once, then times reps runs.
func timeOp(op string, s shape, threads, reps int) (float64, error) {
	model, err := proto.Marshal(opModel(op, s))
	if err != nil {
		return 0, err
	}
	sess, err := runtime.OpenBytes(model, []string{"x"}, []string{"y"}, runtime.Options{Threads: threads})
	if err != nil {
		return 0, err
	}
	defer sess.Close()
	rng := rand.New(rand.NewSource(1))
	x := make([]float32, s.m*s.k)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	in, err := runtime.NewTensor([]int64{int64(s.m), int64(s.k)}, x)
	if err != nil {
		return 0, err
	}
	defer in.Destroy()
	out, err := sess.Run([]*runtime.Tensor{in}, nil)
	if err != nil {
		return 0, err
	}
	times := make([]float64, reps)
	for i := range times {
		start := time.Now()
		if _, err := sess.Run([]*runtime.Tensor{in}, out); err != nil {
			return 0, err
		}
		times[i] = time.Since(start).Seconds()
	}
	best := times[0]
	for _, t := range times {
		best = min(best, t)
	}
	return 2 * float64(s.m) * float64(s.k) * float64(s.n) / best / 1e9, nil
}

// opModel is the one-op (or few-op) model of candidate op at shape s.
func opModel(op string, s shape) *onnxpb.ModelProto {
	m := &model{}
	k, n := int64(s.k), int64(s.n)
	switch op {
	case "fp32":
		m.init("w", onnxpb.TensorProto_FLOAT, []int64{k, n}, randBytes(4*s.k*s.n))
		m.node("", "MatMul", []string{"x", "w"}, "y")
	case "dqmm-s8", "dqmm-s7":
		m.init("w", onnxpb.TensorProto_INT8, []int64{k, n}, int8Bytes(s.k*s.n, map[bool]int{true: 127, false: 63}[op == "dqmm-s8"]))
		m.init("ws", onnxpb.TensorProto_FLOAT, []int64{n}, scales(s.n))
		m.node("com.microsoft", "DynamicQuantizeMatMul", []string{"x", "w", "ws"}, "y")
	case "dqmm-u8":
		m.init("w", onnxpb.TensorProto_UINT8, []int64{k, n}, randBytes(s.k*s.n))
		m.init("ws", onnxpb.TensorProto_FLOAT, []int64{n}, scales(s.n))
		m.init("wz", onnxpb.TensorProto_UINT8, []int64{n}, fill(s.n, 128))
		m.node("com.microsoft", "DynamicQuantizeMatMul", []string{"x", "w", "ws", "wz"}, "y")
	case "mmitf":
		m.init("w", onnxpb.TensorProto_INT8, []int64{k, n}, int8Bytes(s.k*s.n, 63))
		m.init("ws", onnxpb.TensorProto_FLOAT, []int64{n}, scales(s.n))
		m.node("", "DynamicQuantizeLinear", []string{"x"}, "xq", "xs", "xz")
		m.node("com.microsoft", "MatMulIntegerToFloat", []string{"xq", "w", "xs", "ws", "xz"}, "y")
	case "mmint":
		m.init("w", onnxpb.TensorProto_INT8, []int64{k, n}, int8Bytes(s.k*s.n, 63))
		m.init("ws", onnxpb.TensorProto_FLOAT, []int64{n}, scales(s.n))
		m.node("", "DynamicQuantizeLinear", []string{"x"}, "xq", "xs", "xz")
		m.node("", "MatMulInteger", []string{"xq", "w", "xz"}, "acc")
		m.node("", "Cast", []string{"acc"}, "accf").Attribute = []*onnxpb.AttributeProto{intAttr("to", 1)}
		m.node("", "Mul", []string{"xs", "ws"}, "s")
		m.node("", "Mul", []string{"accf", "s"}, "y")
	case "nbits8":
		const block = 32
		blocks := (s.k + block - 1) / block
		m.init("w", onnxpb.TensorProto_UINT8, []int64{n, int64(blocks), block}, randBytes(s.n*blocks*block))
		m.init("ws", onnxpb.TensorProto_FLOAT, []int64{n * int64(blocks)}, scales(s.n*blocks))
		nd := m.node("com.microsoft", "MatMulNBits", []string{"x", "w", "ws"}, "y")
		nd.Attribute = []*onnxpb.AttributeProto{intAttr("K", k), intAttr("N", n), intAttr("bits", 8), intAttr("block_size", block), intAttr("accuracy_level", 4)}
	}
	return m.proto(k)
}

type model struct {
	inits []*onnxpb.TensorProto
	nodes []*onnxpb.NodeProto
}

func (m *model) init(name string, dt onnxpb.TensorProto_DataType, dims []int64, raw []byte) {
	m.inits = append(m.inits, &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), Dims: dims, RawData: raw})
}

func (m *model) node(domain, op string, in []string, out ...string) *onnxpb.NodeProto {
	n := &onnxpb.NodeProto{OpType: proto.String(op), Domain: proto.String(domain), Input: in, Output: out}
	m.nodes = append(m.nodes, n)
	return n
}

func (m *model) proto(k int64) *onnxpb.ModelProto {
	f := proto.Int32(int32(onnxpb.TensorProto_FLOAT))
	vi := func(name string, dims ...string) *onnxpb.ValueInfoProto {
		sh := &onnxpb.TensorShapeProto{}
		for _, d := range dims {
			sh.Dim = append(sh.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d}})
		}
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: f, Shape: sh}}}}
	}
	g := &onnxpb.GraphProto{Name: proto.String("op"), Node: m.nodes, Initializer: m.inits,
		Input: []*onnxpb.ValueInfoProto{vi("x", "m", "k")}, Output: []*onnxpb.ValueInfoProto{vi("y", "m", "n")}}
	return &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: g, OpsetImport: []*onnxpb.OperatorSetIdProto{
		{Domain: proto.String(""), Version: proto.Int64(17)}, {Domain: proto.String("com.microsoft"), Version: proto.Int64(1)}}}
}

func intAttr(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(2)).Read(b)
	for i := 3; i < n; i += 4 { // keep float32 patterns finite: clear the top exponent bits
		b[i] &= 0x3f
	}
	return b
}

func int8Bytes(n, limit int) []byte {
	rng := rand.New(rand.NewSource(3))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(int8(rng.Intn(2*limit+1) - limit))
	}
	return b
}

func scales(n int) []byte { return fill32(n, 0.01) }

func fill(n int, v byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = v
	}
	return b
}

func fill32(n int, v float32) []byte {
	b := make([]byte, 0, 4*n)
	for i := 0; i < n; i++ {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}
