package graph

import "math"

// vjpTable is the one table mapping each differentiable op to its
// vector-Jacobian product. Every rule opens with its math: y is the op's
// output, g the incoming gradient dL/dy. The only gradients defined
// elsewhere are those of composites (composite.go: SiLU), whose rules
// replace the rules of the nodes inside them.
var vjpTable = map[string]vjpRule{
	// y = a + b -> ga = g ; gb = g (summed over broadcast axes)
	"Add": func(n *Node, gy []*Value, need []bool) []*Value {
		a, b := n.Inputs[0], n.Inputs[1]
		return pick(need, func() *Value { return unbroadcast(gy[0], a.Shape) }, func() *Value { return unbroadcast(gy[0], b.Shape) })
	},
	// y = a - b -> ga = g ; gb = -g
	"Sub": func(n *Node, gy []*Value, need []bool) []*Value {
		a, b := n.Inputs[0], n.Inputs[1]
		return pick(need, func() *Value { return unbroadcast(gy[0], a.Shape) }, func() *Value { return unbroadcast(Neg(gy[0]), b.Shape) })
	},
	// y = a * b -> ga = g*b ; gb = g*a. Each gradient reads the other
	// factor through recomputed (remat.go): a sigmoid or SiLU factor is
	// rebuilt from its input instead of being kept from the forward pass.
	// A SiLU's own product x*sigmoid(x) does not come here: the SiLU
	// composite has its own rule (composite.go).
	"Mul": func(n *Node, gy []*Value, need []bool) []*Value {
		a, b := n.Inputs[0], n.Inputs[1]
		var readA, readB *Value
		if need[1] {
			readA = recomputed(a)
		}
		if need[0] {
			readB = recomputed(b)
		}
		return pick(need, func() *Value { return unbroadcast(Mul(gy[0], readB), a.Shape) }, func() *Value { return unbroadcast(Mul(gy[0], readA), b.Shape) })
	},
	// y = a / b -> ga = g/b ; gb = -g*y/b
	"Div": func(n *Node, gy []*Value, need []bool) []*Value {
		a, b, y := n.Inputs[0], n.Inputs[1], n.Outputs[0]
		return pick(need, func() *Value { return unbroadcast(Div(gy[0], b), a.Shape) },
			func() *Value { return unbroadcast(Neg(Div(Mul(gy[0], y), b)), b.Shape) })
	},
	// y = a^b -> ga = g*b*a^(b-1) ; gb = g*y*log(a)
	"Pow": func(n *Node, gy []*Value, need []bool) []*Value {
		a, b, y := n.Inputs[0], n.Inputs[1], n.Outputs[0]
		return pick(need,
			func() *Value { return unbroadcast(Mul(gy[0], Mul(b, Pow(a, Sub(b, ScalarLike(b, 1))))), a.Shape) },
			func() *Value { return unbroadcast(Mul(gy[0], Mul(y, Log(a))), b.Shape) })
	},
	// y = a·B·diag(s), B int8 -> ga = (g·diag(s))·Bᵀ (quantized.go says why)
	"DynamicQuantizeMatMul": dynamicQuantizeMatMulVJP,
	// y = max(a, b) -> ga = g where a >= b ; gb = g where a < b (ties go to a)
	"Max": func(n *Node, gy []*Value, need []bool) []*Value {
		return minMaxVJP(n, gy, need, Less)
	},
	// y = min(a, b) -> ga = g where a <= b ; gb = g where a > b
	"Min": func(n *Node, gy []*Value, need []bool) []*Value {
		return minMaxVJP(n, gy, need, Greater)
	},
	// y = -x -> gx = -g
	"Neg": func(n *Node, gy []*Value, need []bool) []*Value { return []*Value{Neg(gy[0])} },
	// y = |x| -> gx = g*sign(x)
	"Abs": func(n *Node, gy []*Value, need []bool) []*Value { return []*Value{Mul(gy[0], Sign(n.Inputs[0]))} },
	// y = sqrt(x) -> gx = g / (2y)
	"Sqrt": func(n *Node, gy []*Value, need []bool) []*Value {
		y := n.Outputs[0]
		return []*Value{Div(gy[0], Mul(ScalarLike(y, 2), y))}
	},
	// y = 1/x -> gx = -g*y^2
	"Reciprocal": func(n *Node, gy []*Value, need []bool) []*Value {
		y := n.Outputs[0]
		return []*Value{Neg(Mul(gy[0], Mul(y, y)))}
	},
	// y = exp(x) -> gx = g*y
	"Exp": func(n *Node, gy []*Value, need []bool) []*Value { return []*Value{Mul(gy[0], n.Outputs[0])} },
	// y = log(x) -> gx = g/x
	"Log": func(n *Node, gy []*Value, need []bool) []*Value { return []*Value{Div(gy[0], n.Inputs[0])} },
	// y = max(x, 0) -> gx = g where x > 0, else 0
	"Relu": func(n *Node, gy []*Value, need []bool) []*Value {
		x := n.Inputs[0]
		return []*Value{Where(Greater(x, ScalarLike(x, 0)), gy[0], ScalarLike(x, 0))}
	},
	// y = 1/(1+exp(-x)) -> gx = g*y*(1-y), y recomputed from x (remat.go)
	"Sigmoid": func(n *Node, gy []*Value, need []bool) []*Value {
		y := recomputed(n.Outputs[0])
		return []*Value{Mul(gy[0], Mul(y, Sub(ScalarLike(y, 1), y)))}
	},
	// y = tanh(x) -> gx = g*(1-y^2), y recomputed when cheap (remat.go)
	"Tanh": func(n *Node, gy []*Value, need []bool) []*Value {
		y := recomputed(n.Outputs[0])
		return []*Value{Mul(gy[0], Sub(ScalarLike(y, 1), Mul(y, y)))}
	},
	// y = erf(x) -> gx = g * 2/sqrt(pi) * exp(-x^2)
	"Erf": func(n *Node, gy []*Value, need []bool) []*Value {
		x := n.Inputs[0]
		return []*Value{Mul(gy[0], Mul(ScalarLike(x, 2/math.Sqrt(math.Pi)), Exp(Neg(Mul(x, x)))))}
	},
	// y = cos(x) -> gx = -g*sin(x)
	"Cos": func(n *Node, gy []*Value, need []bool) []*Value {
		return []*Value{Neg(Mul(gy[0], Sin(n.Inputs[0])))}
	},
	// y = sin(x) -> gx = g*cos(x)
	"Sin": func(n *Node, gy []*Value, need []bool) []*Value {
		return []*Value{Mul(gy[0], Cos(n.Inputs[0]))}
	},
	// y = x -> gx = g
	"Identity": func(n *Node, gy []*Value, need []bool) []*Value { return []*Value{gy[0]} },
	// y = cast(x) -> gx = cast(g) back to x's dtype
	"Cast": func(n *Node, gy []*Value, need []bool) []*Value {
		return []*Value{Cast(gy[0], n.Inputs[0].DType)}
	},
	// y = where(c, a, b) -> ga = g where c ; gb = g where !c
	"Where": func(n *Node, gy []*Value, need []bool) []*Value {
		c, a, b := n.Inputs[0], n.Inputs[1], n.Inputs[2]
		zero := ScalarLike(a, 0)
		return pick(need, nil,
			func() *Value { return unbroadcast(Where(c, gy[0], zero), a.Shape) },
			func() *Value { return unbroadcast(Where(c, zero, gy[0]), b.Shape) })
	},
	// y = clip(x, lo, hi) -> gx = g where lo <= x <= hi, else 0 (bounds get none)
	"Clip": func(n *Node, gy []*Value, need []bool) []*Value {
		x := n.Inputs[0]
		gx := gy[0]
		zero := ScalarLike(x, 0)
		if len(n.Inputs) > 1 && n.Inputs[1] != nil {
			gx = Where(Less(x, n.Inputs[1]), zero, gx)
		}
		if len(n.Inputs) > 2 && n.Inputs[2] != nil {
			gx = Where(Greater(x, n.Inputs[2]), zero, gx)
		}
		return []*Value{gx}
	},
	"MatMul": matMulVJP,
	"Gemm":   gemmVJP,
	// y = softmax(x) -> gx = y * (g - sum(g*y, axis))
	"Softmax": func(n *Node, gy []*Value, need []bool) []*Value {
		y := n.Outputs[0]
		axis := int(n.Attrs.Int("axis", -1))
		return []*Value{Mul(y, Sub(gy[0], ReduceSum(Mul(gy[0], y), []int{axis}, true)))}
	},
	// y = logsoftmax(x) -> gx = g - softmax(x) * sum(g, axis). With
	// g = -onehot this is softmax - onehot: no materialised log(softmax).
	"LogSoftmax": func(n *Node, gy []*Value, need []bool) []*Value {
		y := n.Outputs[0]
		axis := int(n.Attrs.Int("axis", -1))
		return []*Value{Sub(gy[0], Mul(Exp(y), ReduceSum(gy[0], []int{axis}, true)))}
	},
	// y = sum(x, axes) -> gx = broadcast of g back over the axes
	"ReduceSum": func(n *Node, gy []*Value, need []bool) []*Value {
		return pick(need, func() *Value { return expandReduced(n, gy[0]) }, nil)
	},
	// y = mean(x, axes) -> gx = broadcast(g) / count
	"ReduceMean": func(n *Node, gy []*Value, need []bool) []*Value {
		x := n.Inputs[0]
		return []*Value{Div(expandReduced(n, gy[0]), reducedCount(n, x))}
	},
	// y = max(x, axes) -> gx = g shared equally among the maxima
	"ReduceMax": func(n *Node, gy []*Value, need []bool) []*Value {
		x := n.Inputs[0]
		isMax := Cast(Equal(x, expandReduced(n, n.Outputs[0])), x.DType)
		count := expandReduced(n, reduceLike(n, isMax))
		return []*Value{Div(Mul(isMax, expandReduced(n, gy[0])), count)}
	},
	// y = cumsum(x) -> gx = cumsum(g) in the opposite direction
	"CumSum": func(n *Node, gy []*Value, need []bool) []*Value {
		x := n.Inputs[0]
		ax, _ := constInts(n.Inputs[1])
		axis, _ := normAxis(ax[0], x.Rank())
		return pick(need, func() *Value {
			return CumSum(gy[0], axis, n.Attrs.Int("exclusive", 0) != 0, n.Attrs.Int("reverse", 0) == 0)
		}, nil)
	},
	// y = reshape(x) -> gx = reshape(g) to x's shape
	"Reshape": func(n *Node, gy []*Value, need []bool) []*Value {
		return pick(need, func() *Value { return reshapeAs(gy[0], n.Inputs[0]) }, nil)
	},
	"Squeeze": func(n *Node, gy []*Value, need []bool) []*Value {
		return pick(need, func() *Value { return reshapeAs(gy[0], n.Inputs[0]) }, nil)
	},
	"Unsqueeze": func(n *Node, gy []*Value, need []bool) []*Value {
		return pick(need, func() *Value { return reshapeAs(gy[0], n.Inputs[0]) }, nil)
	},
	// y = transpose(x, perm) -> gx = transpose(g, inverse(perm))
	"Transpose": func(n *Node, gy []*Value, need []bool) []*Value {
		perm := n.Attrs.Ints("perm")
		inv := make([]int, len(perm))
		for i, p := range perm {
			inv[p] = i
		}
		return []*Value{Transpose(gy[0], inv...)}
	},
	// y = concat(x_i) -> gx_i = the slice of g at x_i's position
	"Concat": func(n *Node, gy []*Value, need []bool) []*Value {
		axis := int(n.Attrs.Int("axis", 0))
		sizes := make([]int64, len(n.Inputs))
		for i, in := range n.Inputs {
			s, ok := in.Shape[axis].Size()
			if !ok {
				fail("Grad", n.Name, "Concat gradient needs static sizes along axis %d, input %d has %s", axis, i, in.Shape[axis])
			}
			sizes[i] = s
		}
		parts := Split(gy[0], axis, sizes...)
		out := make([]*Value, len(parts))
		for i := range parts {
			if need[i] {
				out[i] = parts[i]
			}
		}
		return out
	},
	// y = x[starts:ends] -> gx = g padded with zeros back to x's shape
	"Slice": sliceVJP,
	// y_i = split(x)_i -> gx = concat(g_i), zeros where y_i is unused
	"Split": func(n *Node, gy []*Value, need []bool) []*Value {
		parts := make([]*Value, len(gy))
		for i, g := range gy {
			if g == nil {
				g = ZerosLike(n.Outputs[i])
			}
			parts[i] = g
		}
		return pick(need, func() *Value { return Concat(int(n.Attrs.Int("axis", 0)), parts...) }, nil)
	},
	// y = expand(x) -> gx = g summed over the expanded axes
	"Expand": func(n *Node, gy []*Value, need []bool) []*Value {
		return pick(need, func() *Value { return unbroadcast(gy[0], n.Inputs[0].Shape) }, nil)
	},
	// y = x[idx] along axis -> gx = scatter-add of g into zeros at idx
	"Gather": gatherVJP,
	// y = x[idx] elementwise -> gx = scatter-add of g at idx
	"GatherElements": func(n *Node, gy []*Value, need []bool) []*Value {
		x, idx := n.Inputs[0], n.Inputs[1]
		return pick(need, func() *Value {
			return ScatterElementsAdd(ZerosLike(x), idx, gy[0], int(n.Attrs.Int("axis", 0)))
		}, nil)
	},
	// y = data + scatter(upd) -> gdata = g ; gupd = g gathered at idx
	"ScatterElements": func(n *Node, gy []*Value, need []bool) []*Value {
		if r := n.Attrs.String("reduction", "none"); r != "add" {
			fail("Grad", n.Name, "ScatterElements gradient supports reduction=add only, got %q", r)
		}
		idx := n.Inputs[1]
		return pick(need, func() *Value { return gy[0] }, nil,
			func() *Value { return GatherElements(gy[0], idx, int(n.Attrs.Int("axis", 0))) })
	},
	"ScatterND": func(n *Node, gy []*Value, need []bool) []*Value {
		if r := n.Attrs.String("reduction", "none"); r != "add" {
			fail("Grad", n.Name, "ScatterND gradient supports reduction=add only, got %q", r)
		}
		idx := n.Inputs[1]
		return pick(need, func() *Value { return gy[0] }, nil, func() *Value { return GatherND(gy[0], idx) })
	},
	// y = gathernd(x, idx) -> gx = scatternd-add of g into zeros
	"GatherND": func(n *Node, gy []*Value, need []bool) []*Value {
		x, idx := n.Inputs[0], n.Inputs[1]
		return pick(need, func() *Value { return ScatterNDAdd(ZerosLike(x), idx, gy[0]) }, nil)
	},
	// y = triangle(x) -> gx = same triangle of g
	"Trilu": func(n *Node, gy []*Value, need []bool) []*Value {
		k := int64(0)
		if len(n.Inputs) > 1 && n.Inputs[1] != nil {
			kk, _ := constInts(n.Inputs[1])
			k = kk[0]
		}
		return pick(need, func() *Value { return Trilu(gy[0], k, n.Attrs.Int("upper", 1) != 0) }, nil)
	},
	// y = pad(x) -> gx = the unpadded window of g
	"Pad": func(n *Node, gy []*Value, need []bool) []*Value {
		x := n.Inputs[0]
		pads, _ := constInts(n.Inputs[1])
		var starts, ends []int64
		var axes []int
		for i := 0; i < x.Rank(); i++ {
			if pads[i] == 0 && pads[i+x.Rank()] == 0 {
				continue
			}
			d, _ := x.Shape[i].Size()
			starts, ends, axes = append(starts, pads[i]), append(ends, pads[i]+d), append(axes, i)
		}
		return pick(need, func() *Value { return Slice(gy[0], starts, ends, axes, nil) }, nil, nil)
	},
}

// pick evaluates the gradient builders for the inputs that need one.
func pick(need []bool, builders ...func() *Value) []*Value {
	out := make([]*Value, len(need))
	for i := range need {
		if need[i] && i < len(builders) && builders[i] != nil {
			out[i] = builders[i]()
		}
	}
	return out
}

func minMaxVJP(n *Node, gy []*Value, need []bool, bWins func(a, b *Value) *Value) []*Value {
	if len(n.Inputs) != 2 {
		fail("Grad", n.Name, "%s gradient supports exactly two inputs, got %d", n.Op, len(n.Inputs))
	}
	a, b := n.Inputs[0], n.Inputs[1]
	zero := ScalarLike(a, 0)
	mask := bWins(a, b)
	return pick(need,
		func() *Value { return unbroadcast(Where(mask, zero, gy[0]), a.Shape) },
		func() *Value { return unbroadcast(Where(mask, gy[0], zero), b.Shape) })
}

// reshapeAs reshapes g to x's shape (constant target when static).
func reshapeAs(g, x *Value) *Value {
	return ReshapeTo(g, shapeLike(x))
}

// expandReduced broadcasts a reduction result (or its gradient) back to the
// reduced input's shape.
func expandReduced(n *Node, g *Value) *Value {
	x := n.Inputs[0]
	axes, _ := reduceAxes(n)
	if n.Attrs.Int("keepdims", 1) == 0 && len(axes) > 0 && g.Rank() != x.Rank() {
		g = Unsqueeze(g, axes...)
	} else if g.Rank() != x.Rank() { // full reduction without keepdims: scalar
		g = Reshape(g, ones(x.Rank())...)
	}
	return Expand(g, shapeLike(x))
}

// reduceLike applies n's reduction axes as a keepdims ReduceSum.
func reduceLike(n *Node, v *Value) *Value {
	axes, _ := reduceAxes(n)
	return ReduceSum(v, axes, n.Attrs.Int("keepdims", 1) != 0)
}

// reducedCount is the number of elements each mean averages, as a scalar.
func reducedCount(n *Node, x *Value) *Value {
	axes, _ := reduceAxes(n)
	count := D(1)
	for _, a := range axes {
		count = count.Mul(x.Shape[a])
	}
	if c, ok := count.Size(); ok {
		return ScalarLike(x, float64(c))
	}
	// The symbolic count from the graph inputs' sizes (not Shape(x), which
	// would keep the activation x alive until the backward pass).
	size, _ := x.g.dimSize(count, nil)
	if size == nil {
		for _, a := range axes {
			d := DimOf(x, a)
			if size == nil {
				size = d
			} else {
				size = Mul(size, d)
			}
		}
	}
	return Cast(Squeeze(size, 0), x.DType)
}

// matMulVJP: y = a @ b -> ga = g @ b^T ; gb = a^T @ g (summed over broadcast
// batch dims). A rank>2 activation times a weight matrix is flattened so the
// weight gradient is one GEMM, not a batched product plus a reduction.
func matMulVJP(n *Node, gy []*Value, need []bool) []*Value {
	a, b, g := n.Inputs[0], n.Inputs[1], gy[0]
	if b.Rank() == 2 && a.Rank() > 2 {
		k, cols := b.Shape[0], b.Shape[1]
		kk, _ := k.Size()
		cc, _ := cols.Size()
		return pick(need,
			func() *Value { return MatMul(g, swapLast(recomputed(b))) },
			func() *Value {
				a := recomputed(a)
				if !k.IsStatic() || !cols.IsStatic() {
					return unbroadcast(MatMul(swapLast(a), g), b.Shape)
				}
				return Gemm(Reshape(a, -1, kk), Reshape(g, -1, cc), nil, GemmOptions{TransA: true})
			})
	}
	return pick(need,
		func() *Value { return unbroadcast(MatMul(g, swapLast(recomputed(b))), a.Shape) },
		func() *Value { return unbroadcast(MatMul(swapLast(recomputed(a)), g), b.Shape) })
}

// swapLast transposes x's last two axes. When x is itself such a
// transpose (attention's K^T), its input is returned: the backward then
// reads K rather than K^T, so K^T's only reader is the forward MatMul,
// which ONNX Runtime fuses into a transposed product and never
// materialises (one activation and two transposes per layer less).
func swapLast(x *Value) *Value {
	perm := firstAxes[int](x.Rank())
	r := x.Rank()
	perm[r-1], perm[r-2] = perm[r-2], perm[r-1]
	if p := x.Producer; p != nil && p.Op == "Transpose" && equalInts(p.Attrs.Ints("perm"), perm) {
		return p.Inputs[0]
	}
	return Transpose(x, perm...)
}

func equalInts(a []int64, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != int64(b[i]) {
			return false
		}
	}
	return true
}

// gemmVJP: y = alpha*op(A)op(B) + beta*C, per transpose case:
//
//	tA=0,tB=0: gA = alpha g B^T    gB = alpha A^T g
//	tA=0,tB=1: gA = alpha g B      gB = alpha g^T A
//	tA=1,tB=0: gA = alpha B g^T    gB = alpha A g
//	tA=1,tB=1: gA = alpha B^T g^T  gB = alpha g^T A^T
//	gC = beta g (summed over broadcast axes)
func gemmVJP(n *Node, gy []*Value, need []bool) []*Value {
	a, b, g := n.Inputs[0], n.Inputs[1], gy[0]
	alpha, beta := n.Attrs.Float("alpha", 1), n.Attrs.Float("beta", 1)
	tA, tB := n.Attrs.Int("transA", 0) != 0, n.Attrs.Int("transB", 0) != 0
	// Each gradient reads the other factor through recomputed: a stored
	// weight's cast is redone rather than kept from the forward pass.
	var ga, gb func() *Value
	switch {
	case !tA && !tB:
		ga = func() *Value { return Gemm(g, recomputed(b), nil, GemmOptions{TransB: true, Alpha: alpha}) }
		gb = func() *Value { return Gemm(recomputed(a), g, nil, GemmOptions{TransA: true, Alpha: alpha}) }
	case !tA && tB:
		ga = func() *Value { return Gemm(g, recomputed(b), nil, GemmOptions{Alpha: alpha}) }
		gb = func() *Value { return Gemm(g, recomputed(a), nil, GemmOptions{TransA: true, Alpha: alpha}) }
	case tA && !tB:
		ga = func() *Value { return Gemm(recomputed(b), g, nil, GemmOptions{TransB: true, Alpha: alpha}) }
		gb = func() *Value { return Gemm(recomputed(a), g, nil, GemmOptions{Alpha: alpha}) }
	default:
		ga = func() *Value {
			return Gemm(recomputed(b), g, nil, GemmOptions{TransA: true, TransB: true, Alpha: alpha})
		}
		gb = func() *Value {
			return Gemm(g, recomputed(a), nil, GemmOptions{TransA: true, TransB: true, Alpha: alpha})
		}
	}
	if alpha == 0 { // y does not depend on A and B (and GemmOptions reads Alpha 0 as 1)
		ga = func() *Value { return ZerosLike(a) }
		gb = func() *Value { return ZerosLike(b) }
	}
	gc := func() *Value {
		c := n.Inputs[2]
		return unbroadcast(Mul(g, ScalarLike(g, float64(beta))), c.Shape)
	}
	return pick(need, ga, gb, gc)
}

// sliceVJP pads g with zeros back to x's shape (unit steps, static dims).
func sliceVJP(n *Node, gy []*Value, need []bool) []*Value {
	x, y := n.Inputs[0], n.Outputs[0]
	starts, _ := knownDims(n.Inputs[1])
	axes, _ := sliceAxes(n, len(starts)) // checked when the node was built
	if len(n.Inputs) > 4 && n.Inputs[4] != nil {
		steps, _ := constInts(n.Inputs[4])
		for _, s := range steps {
			if s != 1 {
				fail("Grad", n.Name, "Slice gradient supports unit steps only, got %v", steps)
			}
		}
	}
	pads := make([]int64, 2*x.Rank())
	for i, a := range axes {
		ax, _ := normAxis(a, x.Rank())
		d, dok := x.Shape[ax].Size()
		s, sok := starts[i].Size()
		l, lok := y.Shape[ax].Size()
		if !dok || !sok || !lok {
			fail("Grad", n.Name, "Slice gradient needs static sizes on axis %d (input %s, output %s)", ax, x.Shape, y.Shape)
		}
		if s < 0 {
			s += d
		}
		s = max(0, min(s, d))
		pads[ax], pads[ax+x.Rank()] = s, d-s-l
	}
	return pick(need, func() *Value { return Pad(gy[0], pads...) }, nil, nil, nil, nil)
}

// gatherVJP: y = gather(x, idx, axis) -> gx = scatternd-add of g into zeros.
// Gather's output puts idx's dims at position axis; ScatterND wants them in
// front, so axis != 0 moves them there and transposes the result back.
func gatherVJP(n *Node, gy []*Value, need []bool) []*Value {
	if !need[0] {
		return []*Value{nil, nil}
	}
	x, idx, g := n.Inputs[0], n.Inputs[1], gy[0]
	axis := int(n.Attrs.Int("axis", 0))
	idx64 := Unsqueeze(Cast(idx, Int64), idx.Rank())
	if axis == 0 {
		return []*Value{ScatterNDAdd(ZerosLike(x), idx64, g), nil}
	}
	q := idx.Rank()
	// g dims: [x0..x(axis-1), i0..i(q-1), x(axis+1)..]; move i-dims first.
	var perm []int
	for i := 0; i < q; i++ {
		perm = append(perm, axis+i)
	}
	for i := 0; i < axis; i++ {
		perm = append(perm, i)
	}
	for i := axis + q; i < g.Rank(); i++ {
		perm = append(perm, i)
	}
	gT := Transpose(g, perm...)
	// x transposed so that axis comes first.
	xperm := []int{axis}
	for i := 0; i < x.Rank(); i++ {
		if i != axis {
			xperm = append(xperm, i)
		}
	}
	tShape := make(Shape, len(xperm))
	for i, p := range xperm {
		tShape[i] = x.Shape[p]
	}
	zeros := Expand(ScalarLike(x, 0), ShapeTensor(tShape, x))
	scattered := ScatterNDAdd(zeros, idx64, gT)
	inv := make([]int, len(xperm))
	for i, p := range xperm {
		inv[p] = i
	}
	return []*Value{Transpose(scattered, inv...), nil}
}
