package models

import (
	"encoding/json"
	"fmt"
	"math"
)

// RopeType names a RoPE frequency scaling as HF's rope_type does.
type RopeType string

// The RoPE scalings nrgraph builds (HF modeling_rope_utils). Others
// (yarn, longrope, ...) are refused by name.
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
)

// RopeScaling is a config's rope_scaling.
type RopeScaling struct {
	Type                 RopeType `json:",omitempty"`
	Factor               float64  `json:",omitempty"`
	LowFreqFactor        float64  `json:",omitempty"` // llama3
	HighFreqFactor       float64  `json:",omitempty"` // llama3
	OriginalMaxPositions int      `json:",omitempty"` // llama3 (required), dynamic
}

func (r RopeScaling) validate() error {
	switch r.Type {
	case RopeDefault:
		return nil
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
		return fmt.Errorf("rope_scaling type %q is not supported (supported: default, linear, llama3, dynamic)", r.Type)
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
// null or absent is no scaling. key names the field in errors.
func parseRopeScaling(key string, raw json.RawMessage) (ropeSpec, error) {
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
	if err := s.validate(); err != nil {
		return ropeSpec{}, fmt.Errorf("%s: %w", key, err)
	}
	return ropeSpec{scaling: s, theta: r.RopeTheta}, nil
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
	}
	return inv
}
