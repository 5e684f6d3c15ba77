package graph

import "fmt"

// MicrosoftDomain is the ONNX operator-set domain of ONNX Runtime's
// contrib ops (opset version 1).
const MicrosoftDomain = "com.microsoft"

// opDomains names the domain of every op outside the default ONNX one;
// the exporter writes it on the node and imports the domain, the reader
// accepts exactly these.
var opDomains = map[string]string{
	"DynamicQuantizeMatMul": MicrosoftDomain,
}

// OpDomain is the operator-set domain of op ("" for the ONNX default).
func OpDomain(op string) string { return opDomains[op] }

// DynamicQuantizeMatMul is ONNX Runtime's int8 matrix product
// y = a · ((b - bZero) · diag(bScale)): a (float32, [..., K]) is quantised
// per call to uint8 over its own range (asymmetric, as
// DynamicQuantizeLinear), b is int8 or uint8 [K, N] with one float32
// scale per column (bScale [N]) or one for all (a scalar). bZero (nil for
// none) is b's zero point, of b's dtype, a scalar or [N]. The products
// accumulate in int32; the CPU kernel takes float32 a only.
func DynamicQuantizeMatMul(a, b, bScale, bZero *Value) *Value {
	in := []*Value{a, b, bScale}
	if bZero != nil {
		in = append(in, bZero)
	}
	return add1("DynamicQuantizeMatMul", in, nil)
}

func inferDynamicQuantizeMatMul(n *Node) ([]outSpec, error) {
	a, b, scale := n.Inputs[0], n.Inputs[1], n.Inputs[2]
	if a.DType != Float32 || scale.DType != Float32 {
		return nil, fmt.Errorf("a and b_scale must be float32 (got %s, %s)", a.DType, scale.DType)
	}
	if b.DType != Int8 && b.DType != Uint8 {
		return nil, fmt.Errorf("b must be int8 or uint8, got %s", b.DType)
	}
	if a.Rank() < 2 || b.Rank() != 2 {
		return nil, fmt.Errorf("a needs rank >= 2 and b rank 2 (got %s and %s)", a.Shape, b.Shape)
	}
	if a.Shape[a.Rank()-1] != b.Shape[0] {
		return nil, fmt.Errorf("inner dims differ: %s x %s", a.Shape, b.Shape)
	}
	perColumn := func(v *Value) bool { return v.Rank() == 0 || (v.Rank() == 1 && v.Shape[0] == b.Shape[1]) }
	if !perColumn(scale) {
		return nil, fmt.Errorf("b_scale must be a scalar or [%s], got %s", b.Shape[1], scale.Shape)
	}
	if len(n.Inputs) > 3 && n.Inputs[3] != nil {
		if z := n.Inputs[3]; z.DType != b.DType || !perColumn(z) {
			return nil, fmt.Errorf("b_zero_point must be a %s scalar or [%s], got %s%s", b.DType, b.Shape[1], z.DType, z.Shape)
		}
	}
	if len(n.Inputs) > 4 && n.Inputs[4] != nil {
		return nil, fmt.Errorf("bias is not supported (add it after the product)")
	}
	return one(Float32, append(a.Shape[:a.Rank()-1].Clone(), b.Shape[1]))
}

// dynamicQuantizeMatMulVJP: y = a·(B - z)·diag(s) -> ga = (g·diag(s))·(B - z)ᵀ
// with z a scalar zero point (a per-column one would lie along the
// backward product's reduced axis, which the op cannot express).
// The backward multiplies by the very int8 weights the forward used, so
// the activation gradient is the exact gradient of the weight-quantised
// forward (the activation quantisation treated as identity, the
// straight-through estimator), with one int8 copy of each weight stored:
// Bᵀ is a Transpose of a constant, which ONNX Runtime folds once when the
// session opens and then pre-packs like any constant B, and the per-column
// scales move onto g (an elementwise product, [M, N] against the GEMM's
// M·N·K). b and its scales are frozen constants: they get no gradient.
func dynamicQuantizeMatMulVJP(n *Node, gy []*Value, need []bool) []*Value {
	a, b, scale := n.Inputs[0], n.Inputs[1], n.Inputs[2]
	for i := 1; i < len(need); i++ {
		if need[i] {
			fail("Grad", n.Name, "DynamicQuantizeMatMul input %d (%s) is a frozen quantised constant and has no gradient", i, n.Inputs[i].Name())
		}
	}
	if !need[0] {
		return []*Value{nil}
	}
	var zero *Value
	if len(n.Inputs) > 3 && n.Inputs[3] != nil {
		zero = n.Inputs[3]
		if zero.Rank() != 0 {
			fail("Grad", n.Name, "DynamicQuantizeMatMul's backward needs a scalar zero point, got %s", zero.Shape)
		}
	}
	ga := DynamicQuantizeMatMul(Mul(gy[0], scale), Transpose(b, 1, 0), ScalarLike(a, 1), zero)
	return []*Value{ga}
}
