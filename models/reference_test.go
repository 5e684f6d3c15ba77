package models

import (
	"fmt"
	"math"
)

// refModel is an independent float64 implementation of the
// architectures, written directly from the HF modeling code's math with
// plain loops, to check the ONNX forward graph against.
type refModel struct {
	c Config
	w map[string][]float64
}

func (r *refModel) t(name string) []float64 {
	v, ok := r.w[name]
	if !ok {
		panic("reference: missing " + name)
	}
	return v
}

// linear: y[o] = sum_i x[i] W[o, i]  (HF [out, in] layout).
func refLinear(x []float64, w []float64, out int) []float64 {
	in := len(x)
	y := make([]float64, out)
	for o := 0; o < out; o++ {
		s := 0.0
		for i := 0; i < in; i++ {
			s += x[i] * w[o*in+i]
		}
		y[o] = s
	}
	return y
}

func (r *refModel) norm(x []float64, name string) []float64 {
	w := r.t(name)
	ms := 0.0
	for _, v := range x {
		ms += v * v
	}
	ms /= float64(len(x))
	inv := 1 / math.Sqrt(ms+r.c.RMSEps)
	out := make([]float64, len(x))
	for i, v := range x {
		scale := w[i]
		if r.c.NormPlusOne {
			scale = 1 + w[i]
		}
		out[i] = v * inv * scale
	}
	return out
}

// project is NAME.weight·x, plus NAME.bias when the checkpoint has one.
func (r *refModel) project(x []float64, name string, out int, bias bool) []float64 {
	y := refLinear(x, r.t(name+".weight"), out)
	if bias {
		for o, b := range r.t(name + ".bias") {
			y[o] += b
		}
	}
	return y
}

func refAct(name string, x float64) float64 {
	switch name {
	case "silu":
		return x / (1 + math.Exp(-x))
	case "gelu":
		return 0.5 * x * (1 + math.Erf(x/math.Sqrt2))
	}
	return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
}

// refInvFreq is HF's RoPE inverse frequency of pair i: theta^(-2i/hd) in
// float32, then (modeling_rope_utils) divided by the factor for linear
// scaling, or for llama3 divided for wavelengths above
// original/low_freq_factor, kept below original/high_freq_factor and
// blended in between, all in float32 like HF's tensors.
func refInvFreq(i, hd int, theta float64, s RopeScaling) float64 {
	f := float32(1 / math.Pow(theta, float64(2*i)/float64(hd)))
	switch s.Type {
	case "linear":
		return float64(f / float32(s.Factor))
	case "llama3":
		old := float32(s.OriginalMaxPositions)
		wavelen := float32(2*math.Pi) / f
		if wavelen > old/float32(s.LowFreqFactor) {
			return float64(f / float32(s.Factor))
		}
		if wavelen < old/float32(s.HighFreqFactor) {
			return float64(f)
		}
		smooth := (old/wavelen - float32(s.LowFreqFactor)) / float32(s.HighFreqFactor-s.LowFreqFactor)
		return float64((1-smooth)*f/float32(s.Factor) + smooth*f)
	case "yarn":
		// find_correction_range: the dimensions where beta_fast and
		// beta_slow rotations fit the original context, floored/ceiled.
		corr := func(rot float64) float64 {
			return float64(hd) * math.Log(float64(s.OriginalMaxPositions)/(rot*2*math.Pi)) / (2 * math.Log(theta))
		}
		low, high := math.Max(math.Floor(corr(s.BetaFast)), 0), math.Min(math.Ceil(corr(s.BetaSlow)), float64(hd-1))
		ramp := (float32(i) - float32(low)) / (float32(high) - float32(low))
		ramp = float32(math.Min(math.Max(float64(ramp), 0), 1))
		pos := float32(math.Pow(theta, float64(2*i)/float64(hd)))
		return float64(1/(float32(s.Factor)*pos)*ramp + 1/pos*(1-ramp))
	}
	return float64(f)
}

// forward returns logits [seq][vocab] for one sequence; mask marks real
// tokens (keys with mask 0 are not attended to).
func (r *refModel) forward(ids []int64, mask []float64) [][]float64 {
	c := r.c
	d, hd := c.Hidden, c.HeadDim
	seq := len(ids)
	emb := r.t("model.embed_tokens.weight")
	h := make([][]float64, seq)
	for s, id := range ids {
		h[s] = append([]float64{}, emb[int(id)*d:int(id+1)*d]...)
		if c.EmbedScale {
			for i := range h[s] {
				h[s][i] *= math.Sqrt(float64(d))
			}
		}
	}
	rope := func(x []float64, pos, layer int) []float64 {
		out := make([]float64, hd)
		for i := 0; i < hd/2; i++ {
			inv := refInvFreq(i, hd, c.RopeTheta, c.RopeScaling)
			if c.LocalRopeTheta > 0 && c.SlidingLayers[layer] {
				inv = refInvFreq(i, hd, c.LocalRopeTheta, RopeScaling{})
			}
			theta := float64(pos) * inv
			cs, sn := math.Cos(theta), math.Sin(theta)
			if c.RopeScaling.Type == "yarn" && !(c.LocalRopeTheta > 0 && c.SlidingLayers[layer]) {
				cs, sn = cs*c.RopeScaling.AttentionFactor, sn*c.RopeScaling.AttentionFactor
			}
			x1, x2 := x[i], x[i+hd/2]
			out[i] = x1*cs - x2*sn
			out[i+hd/2] = x2*cs + x1*sn
		}
		return out
	}
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("model.layers.%d.", l)
		q, k, v := make([][]float64, seq), make([][]float64, seq), make([][]float64, seq)
		for s := range h {
			hn := r.norm(h[s], p+"input_layernorm.weight")
			q[s] = r.project(hn, p+"self_attn.q_proj", c.Heads*hd, c.QKVBias)
			k[s] = r.project(hn, p+"self_attn.k_proj", c.KVHeads*hd, c.QKVBias)
			v[s] = r.project(hn, p+"self_attn.v_proj", c.KVHeads*hd, c.QKVBias)
			for hh := 0; hh < c.Heads; hh++ {
				head := q[s][hh*hd : (hh+1)*hd]
				if c.QKNorm {
					head = r.norm(head, p+"self_attn.q_norm.weight")
				}
				copy(q[s][hh*hd:], rope(head, s, l))
			}
			for hh := 0; hh < c.KVHeads; hh++ {
				head := k[s][hh*hd : (hh+1)*hd]
				if c.QKNorm {
					head = r.norm(head, p+"self_attn.k_norm.weight")
				}
				copy(k[s][hh*hd:], rope(head, s, l))
			}
		}
		window := 0
		if c.SlidingWindow > 0 && c.SlidingLayers[l] {
			window = c.SlidingWindow
		}
		next := make([][]float64, seq)
		for i := 0; i < seq; i++ {
			ctx := make([]float64, c.Heads*hd)
			for hh := 0; hh < c.Heads; hh++ {
				kvh := hh / (c.Heads / c.KVHeads)
				scores := make([]float64, seq)
				mx := math.Inf(-1)
				for j := 0; j < seq; j++ {
					sc := 0.0
					for e := 0; e < hd; e++ {
						sc += q[i][hh*hd+e] * k[j][kvh*hd+e]
					}
					sc *= c.QueryScale
					if c.AttnSoftcap > 0 {
						sc = math.Tanh(sc/c.AttnSoftcap) * c.AttnSoftcap
					}
					allowed := j <= i && mask[j] != 0 && (window == 0 || i-j < window)
					if !allowed {
						sc = math.Inf(-1)
					}
					scores[j] = sc
					mx = math.Max(mx, sc)
				}
				sum := 0.0
				for j := range scores {
					scores[j] = math.Exp(scores[j] - mx)
					sum += scores[j]
				}
				for j := range scores {
					for e := 0; e < hd; e++ {
						ctx[hh*hd+e] += scores[j] / sum * v[j][kvh*hd+e]
					}
				}
			}
			attn := r.project(ctx, p+"self_attn.o_proj", d, c.OutBias)
			if c.PostNorms {
				attn = r.norm(attn, p+"post_attention_layernorm.weight")
			}
			x := make([]float64, d)
			for e := range x {
				x[e] = h[i][e] + attn[e]
			}
			var fin []float64
			if c.PostNorms {
				fin = r.norm(x, p+"pre_feedforward_layernorm.weight")
			} else {
				fin = r.norm(x, p+"post_attention_layernorm.weight")
			}
			gate := refLinear(fin, r.t(p+"mlp.gate_proj.weight"), c.Intermediate)
			up := refLinear(fin, r.t(p+"mlp.up_proj.weight"), c.Intermediate)
			for e := range gate {
				gate[e] = refAct(string(c.Act), gate[e]) * up[e]
			}
			ffn := refLinear(gate, r.t(p+"mlp.down_proj.weight"), d)
			if c.PostNorms {
				ffn = r.norm(ffn, p+"post_feedforward_layernorm.weight")
			}
			for e := range x {
				x[e] += ffn[e]
			}
			next[i] = x
		}
		h = next
	}
	head := "lm_head.weight"
	if c.Tied {
		head = "model.embed_tokens.weight"
	}
	logits := make([][]float64, seq)
	for s := range h {
		logits[s] = refLinear(r.norm(h[s], "model.norm.weight"), r.t(head), c.Vocab)
		if c.FinalSoftcap > 0 {
			for i := range logits[s] {
				logits[s][i] = math.Tanh(logits[s][i]/c.FinalSoftcap) * c.FinalSoftcap
			}
		}
	}
	return logits
}

// refLogSoftmax is log p over the vocabulary, in float64.
func refLogSoftmax(logits []float64) []float64 {
	mx := math.Inf(-1)
	for _, l := range logits {
		mx = math.Max(mx, l)
	}
	sum := 0.0
	for _, l := range logits {
		sum += math.Exp(l - mx)
	}
	out := make([]float64, len(logits))
	for i, l := range logits {
		out[i] = l - mx - math.Log(sum)
	}
	return out
}
