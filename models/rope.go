package models

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/nrgraph/nrgraph/graph"
)

// RopeType names a RoPE frequency scaling as HF's rope_type does.
type RopeType string

// The RoPE scalings nrgraph builds (HF modeling_rope_utils). Others
// (longrope, ...) are refused by name.
const (
	RopeDefault RopeType = ""
	// RopeLinear divides every frequency by Factor (position interpolation).
	RopeLinear RopeType = "linear"
	// RopeLlama3 divides the low frequencies by Factor, keeps the high
	// ones and interpolates between (Llama 3.1+).
	RopeLlama3 RopeType = "llama3"
	// RopeDynamic (NTK) leaves the frequencies alone up to the original
	// context length, which nrgraph then takes as the maximum.
	RopeDynamic RopeType = "dynamic"
	// RopeYarn blends interpolated and original frequencies by a ramp over
	// the dimensions between the beta_fast and beta_slow rotation counts,
	// and scales cos/sin by AttentionFactor (YaRN).
	RopeYarn RopeType = "yarn"
)

// RopeScaling is a config's rope_scaling.
type RopeScaling struct {
	Type                 RopeType `json:",omitempty"`
	Factor               float64  `json:",omitempty"`
	LowFreqFactor        float64  `json:",omitempty"` // llama3
	HighFreqFactor       float64  `json:",omitempty"` // llama3
	OriginalMaxPositions int      `json:",omitempty"` // llama3 (required), dynamic, yarn
	// YaRN: the rotation counts bounding the ramp, whether its bounds are
	// rounded outwards to whole dimensions, and the cos/sin scale.
	BetaFast, BetaSlow float64 `json:",omitempty"`
	Truncate           bool    `json:",omitempty"`
	AttentionFactor    float64 `json:",omitempty"`
}

func (r RopeScaling) validate() error {
	switch r.Type {
	case RopeDefault:
		return nil
	case RopeYarn:
		if r.Factor < 1 || r.OriginalMaxPositions <= 0 || r.BetaFast <= 0 || r.BetaSlow <= 0 || r.AttentionFactor <= 0 {
			return fmt.Errorf("rope_scaling yarn: need factor >= 1, positive beta_fast, beta_slow, attention factor and original_max_position_embeddings (got %g, %g, %g, %g, %d)",
				r.Factor, r.BetaFast, r.BetaSlow, r.AttentionFactor, r.OriginalMaxPositions)
		}
	case RopeLinear, RopeDynamic:
		if r.Factor < 1 {
			return fmt.Errorf("rope_scaling %s: factor %g must be >= 1", r.Type, r.Factor)
		}
	case RopeLlama3:
		if r.Factor < 1 || r.LowFreqFactor <= 0 || r.HighFreqFactor <= r.LowFreqFactor || r.OriginalMaxPositions <= 0 {
			return fmt.Errorf("rope_scaling llama3: need factor >= 1, 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings > 0 (got %g, %g, %g, %d)",
				r.Factor, r.LowFreqFactor, r.HighFreqFactor, r.OriginalMaxPositions)
		}
	default:
		return fmt.Errorf("rope_scaling type %q is not supported (supported: default, linear, llama3, dynamic, yarn)", r.Type)
	}
	return nil
}

// ropeSpec is one rope_scaling / rope_parameters entry: the scaling and,
// for rope_parameters, the base.
type ropeSpec struct {
	scaling RopeScaling
	theta   *float64
}

// parseRopeScaling reads a rope_scaling (or rope_parameters) object;
// null or absent is no scaling. key names the field in errors; YaRN's
// original context defaults to max_position_embeddings, as in HF.
func parseRopeScaling(key string, raw json.RawMessage, maxPositions int) (ropeSpec, error) {
	if isJSONNull(raw) {
		return ropeSpec{}, nil
	}
	var r struct {
		RopeType       string   `json:"rope_type"`
		Type           string   `json:"type"` // the legacy key
		Factor         *float64 `json:"factor"`
		LowFreqFactor  float64  `json:"low_freq_factor"`
		HighFreqFactor float64  `json:"high_freq_factor"`
		OriginalMax    int      `json:"original_max_position_embeddings"`
		RopeTheta      *float64 `json:"rope_theta"`
		// YaRN.
		BetaFast        *float64 `json:"beta_fast"`
		BetaSlow        *float64 `json:"beta_slow"`
		Truncate        *bool    `json:"truncate"`
		AttentionFactor *float64 `json:"attention_factor"`
		MScale          float64  `json:"mscale"`
		MScaleAllDim    float64  `json:"mscale_all_dim"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return ropeSpec{}, fmt.Errorf("%s: %w", key, err)
	}
	t := r.RopeType
	if t == "" {
		t = r.Type
	}
	if t == "default" {
		t = ""
	}
	s := RopeScaling{Type: RopeType(t), LowFreqFactor: r.LowFreqFactor, HighFreqFactor: r.HighFreqFactor, OriginalMaxPositions: r.OriginalMax}
	if s.Type != RopeDefault {
		if r.Factor == nil {
			return ropeSpec{}, fmt.Errorf("%s: type %q needs a factor", key, t)
		}
		s.Factor = *r.Factor
	}
	if s.Type == RopeYarn {
		if s.OriginalMaxPositions == 0 {
			s.OriginalMaxPositions = maxPositions
		}
		s.yarnDefaults(r.BetaFast, r.BetaSlow, r.Truncate, r.AttentionFactor, r.MScale, r.MScaleAllDim)
	}
	if err := s.validate(); err != nil {
		return ropeSpec{}, fmt.Errorf("%s: %w", key, err)
	}
	return ropeSpec{scaling: s, theta: r.RopeTheta}, nil
}

// yarnDefaults fills YaRN's optional fields as HF does: beta_fast 32,
// beta_slow 1, truncate true, and the attention factor 0.1·ln(factor) + 1
// (or the mscale / mscale_all_dim ratio of those) unless given.
func (s *RopeScaling) yarnDefaults(betaFast, betaSlow *float64, truncate *bool, attentionFactor *float64, mscale, mscaleAllDim float64) {
	s.BetaFast, s.BetaSlow, s.Truncate = 32, 1, true
	if betaFast != nil && *betaFast != 0 {
		s.BetaFast = *betaFast
	}
	if betaSlow != nil && *betaSlow != 0 {
		s.BetaSlow = *betaSlow
	}
	if truncate != nil {
		s.Truncate = *truncate
	}
	getMScale := func(scale, m float64) float64 {
		if scale <= 1 {
			return 1
		}
		return 0.1*m*math.Log(scale) + 1
	}
	switch {
	case attentionFactor != nil:
		s.AttentionFactor = *attentionFactor
	case mscale != 0 && mscaleAllDim != 0:
		s.AttentionFactor = getMScale(s.Factor, mscale) / getMScale(s.Factor, mscaleAllDim)
	default:
		s.AttentionFactor = getMScale(s.Factor, 1)
	}
}

// ropeAttentionFactor is what HF multiplies cos and sin by (YaRN's; 1
// otherwise).
func ropeAttentionFactor(s RopeScaling) float64 {
	if s.Type == RopeYarn {
		return s.AttentionFactor
	}
	return 1
}

// ropeInvFreqs returns the head_dim/2 inverse frequencies of RoPE with base
// theta and scaling s, computed in float32 as HF does.
func ropeInvFreqs(headDim int, theta float64, s RopeScaling) []float32 {
	inv := make([]float32, headDim/2)
	for i := range inv {
		inv[i] = float32(1 / math.Pow(theta, float64(2*i)/float64(headDim)))
	}
	switch s.Type {
	case RopeLinear:
		for i := range inv {
			inv[i] /= float32(s.Factor)
		}
	case RopeLlama3:
		factor, low, high := float32(s.Factor), float32(s.LowFreqFactor), float32(s.HighFreqFactor)
		oldLen := float32(s.OriginalMaxPositions)
		lowWavelen, highWavelen := oldLen/low, oldLen/high
		for i, f := range inv {
			wavelen := float32(2*math.Pi) / f
			switch {
			case wavelen < highWavelen: // high frequency: kept
			case wavelen > lowWavelen: // low frequency: interpolated fully
				inv[i] = f / factor
			default: // in between: blended by where the wavelength falls
				smooth := (oldLen/wavelen - low) / (high - low)
				inv[i] = (1-smooth)*f/factor + smooth*f
			}
		}
	case RopeYarn:
		// Dimensions below the beta_fast bound keep their frequency, those
		// above the beta_slow bound are interpolated (divided by factor),
		// a linear ramp blends in between; the bounds come from the
		// original context length.
		dim := float64(headDim)
		correctionDim := func(rotations float64) float64 {
			return dim * math.Log(float64(s.OriginalMaxPositions)/(rotations*2*math.Pi)) / (2 * math.Log(theta))
		}
		low, high := correctionDim(s.BetaFast), correctionDim(s.BetaSlow)
		if s.Truncate {
			low, high = math.Floor(low), math.Ceil(high)
		}
		low, high = max(low, 0), min(high, dim-1)
		if low == high {
			high += 0.001
		}
		lo32, hi32, factor := float32(low), float32(high), float32(s.Factor)
		for i := range inv {
			posFreq := float32(math.Pow(theta, float64(2*i)/dim))
			extrapolation := 1 - min(max((float32(i)-lo32)/(hi32-lo32), 0), 1)
			inv[i] = 1/(factor*posFreq)*(1-extrapolation) + 1/posFreq*extrapolation
		}
	}
	return inv
}

// ropeTables are cos/sin [seq, head_dim] (HF convention: frequencies
// repeated over both halves) and cosQ/sinQ, the same times the query scale:
// scaling the query inside RoPE costs no pass over the [.., seq, seq]
// scores.
type ropeTables struct{ cos, sin, cosQ, sinQ *graph.Value }

// ropeFor returns the tables of a local (sliding, with LocalRopeTheta) or
// global layer, made on first use.
func (b *builder) ropeFor(local bool) *ropeTables {
	if t, ok := b.ropes[local]; ok {
		return t
	}
	theta, name := b.c.RopeTheta, "rope"
	if local {
		theta, name = b.c.LocalRopeTheta, "rope_local"
	}
	invFreq := ropeInvFreqs(b.c.HeadDim, theta, b.ropeScaling(local))
	t := &ropeTables{}
	if b.dt == graph.Float64 {
		t.cos, t.sin = b.ropeTablesFloat64(name, invFreq)
	} else {
		// HF multiplies positions by the float32 frequencies in float32 and
		// takes cos/sin of that: the graph does the same, per step, rather
		// than storing [max_positions, head_dim] tables (4 x 134 MB in every
		// graph of a Gemma 3 with 131,072 positions).
		hd := len(invFreq) * 2
		freqs := make([]float32, hd)
		for i, f := range invFreq {
			freqs[i], freqs[i+hd/2] = f, f
		}
		var positions *graph.Value
		if b.positions != nil {
			// Packed rows: each token's own position, [batch, 1, seq, 1].
			positions = graph.Unsqueeze(graph.Unsqueeze(graph.Cast(b.positions, graph.Float32), 2), 1)
		} else {
			ones := graph.Expand(graph.Scalar(b.g, graph.Float32, 1), graph.DimOf(b.ids, 1))
			positions = graph.Unsqueeze(graph.CumSum(ones, 0, true, false), 1) // [seq, 1]: 0, 1, 2, ...
		}
		angle := graph.Mul(positions, graph.Const(b.g, graph.NewData([]int64{1, int64(hd)}, freqs)))
		t.cos, t.sin = graph.Cos(angle), graph.Sin(angle)
	}
	if af := ropeAttentionFactor(b.ropeScaling(local)); af != 1 {
		t.cos, t.sin = graph.Mul(t.cos, graph.ScalarLike(t.cos, af)), graph.Mul(t.sin, graph.ScalarLike(t.sin, af))
	}
	scale := graph.ScalarLike(t.cos, b.c.QueryScale)
	t.cosQ, t.sinQ = graph.Mul(t.cos, scale), graph.Mul(t.sin, scale)
	b.ropes[local] = t
	return t
}

// ropeScaling is the RoPE scaling of local (unscaled) or global layers.
func (b *builder) ropeScaling(local bool) RopeScaling {
	if local {
		return RopeScaling{}
	}
	return b.c.RopeScaling
}

// ropeTablesFloat64 is cos/sin from exact float64 [max_positions, head_dim]
// tables cut to the sequence: ONNX Runtime has no float64 Cos/Sin, and only
// gradient checks build float64 graphs.
func (b *builder) ropeTablesFloat64(name string, invFreq []float32) (cos, sin *graph.Value) {
	hd, maxPos := 2*len(invFreq), b.c.MaxPositions
	cosVals, sinVals := make([]float64, maxPos*hd), make([]float64, maxPos*hd)
	for p := 0; p < maxPos; p++ {
		for i, f := range invFreq {
			angle := float64(p) * float64(f)
			for _, j := range []int{i, i + hd/2} {
				cosVals[p*hd+j], sinVals[p*hd+j] = math.Cos(angle), math.Sin(angle)
			}
		}
	}
	table := func(name string, vals []float64) *graph.Value {
		full := b.g.Initializer(name, graph.NewData([]int64{int64(maxPos), int64(hd)}, vals))
		if b.positions != nil {
			return graph.Unsqueeze(graph.Gather(full, b.positions, 0), 1) // [batch, 1, seq, head_dim]
		}
		return graph.SliceTo(full, 0, graph.ConstInts(b.g, 0), graph.DimOf(b.ids, 1))
	}
	return table(name+".cos", cosVals), table(name+".sin", sinVals)
}

// rope applies rotary embeddings to x [batch, heads, seq, hd]:
// x·cos + rotate_half(x)·sin with rotate_half(x) = [-x2, x1].
func (b *builder) rope(x, cos, sin *graph.Value) *graph.Value {
	hd := int64(b.c.HeadDim)
	halves := graph.Split(x, -1, hd/2, hd/2)
	rot := graph.Concat(-1, graph.Neg(halves[1]), halves[0])
	return graph.Add(graph.Mul(x, cos), graph.Mul(rot, sin))
}
