package trainer

import (
	"fmt"
	"math"
)

// ScheduleKind is the learning-rate decay after warmup.
type ScheduleKind string

// The schedules.
const (
	Cosine   ScheduleKind = "cosine"
	Linear   ScheduleKind = "linear"
	Constant ScheduleKind = "constant"
)

// ScheduleKinds lists every schedule.
var ScheduleKinds = []ScheduleKind{Cosine, Linear, Constant}

// Schedule is the learning rate as a function of the step (1-based):
// linear warmup over Warmup steps to Peak, then cosine or linear decay to
// Peak·MinRatio at Steps, or constant.
type Schedule struct {
	Kind     ScheduleKind
	Peak     float64
	Warmup   int
	Steps    int
	MinRatio float64
}

// Validate checks the schedule.
func (s Schedule) Validate() error {
	switch s.Kind {
	case Cosine, Linear, Constant:
	default:
		return fmt.Errorf("schedule %q: want cosine, linear or constant", s.Kind)
	}
	if s.Peak <= 0 || math.IsNaN(s.Peak) {
		return fmt.Errorf("learning rate %g must be positive", s.Peak)
	}
	if s.Warmup < 0 || s.Steps <= 0 {
		return fmt.Errorf("need steps > 0 and warmup >= 0 (got %d, %d)", s.Steps, s.Warmup)
	}
	return nil
}

// LR returns the learning rate of step (1-based).
func (s Schedule) LR(step int) float64 {
	if s.Warmup > 0 && step <= s.Warmup {
		return s.Peak * float64(step) / float64(s.Warmup)
	}
	if s.Kind == Constant || s.Steps <= s.Warmup {
		return s.Peak
	}
	progress := math.Min(1, float64(step-s.Warmup)/float64(s.Steps-s.Warmup))
	floor := s.Peak * s.MinRatio
	switch s.Kind {
	case Cosine:
		return floor + (s.Peak-floor)*0.5*(1+math.Cos(math.Pi*progress))
	default:
		return floor + (s.Peak-floor)*(1-progress)
	}
}
