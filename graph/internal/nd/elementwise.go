package nd

import "math"

// Scalar functions for Map and Binary that math lacks, defined as ONNX does.

// Sigmoid is 1 / (1 + exp(-x)).
func Sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// Relu is max(x, 0).
func Relu(x float64) float64 { return math.Max(x, 0) }

// Sign is -1, 0 or 1.
func Sign(x float64) float64 { return Bool(x > 0) - Bool(x < 0) }

// Reciprocal is 1/x.
func Reciprocal(x float64) float64 { return 1 / x }

// RoundFloat32 is a cast to float32 (round to nearest even) and back.
func RoundFloat32(x float64) float64 { return float64(float32(x)) }

// CastInt is a cast from floating point to an integer type: ONNX Runtime
// truncates toward zero, like C.
func CastInt(x float64) float64 { return math.Trunc(x) }

// CastBool is a cast to bool: any non-zero value is true.
func CastBool(x float64) float64 { return Bool(x != 0) }
