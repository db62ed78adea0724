package merge

import (
	"fmt"
	"math"
)

// slerpDotThreshold and slerpEps are mergekit's DOT_THRESHOLD and eps
// (mergekit/merge_methods/slerp.py).
const (
	slerpDotThreshold = 0.9995
	slerpEps          = 1e-8
)

// SLERP writes the spherical linear interpolation of a (t = 0) and b
// (t = 1) to out, treating each whole tensor as one vector (mergekit's
// slerp):
//
//	â = a/‖a‖, b̂ = b/‖b‖   (a vector with norm <= 1e-8 is left as is)
//	c = â·b̂
//	|c| > 0.9995:  out = (1−t)·a + t·b
//	otherwise:     θ = acos(c)
//	               out = sin((1−t)θ)/sin θ · a + sin(tθ)/sin θ · b
//
// Equal, colinear and opposite vectors take the linear branch; a zero
// vector gives c = 0 (θ = π/2), as in mergekit. t must lie in [0, 1].
func SLERP(out, a, b []float32, t float64) error {
	const name = "slerp"
	if !(t >= 0 && t <= 1) {
		return fmt.Errorf("vsdb: merge: slerp: t is %v, want a number in [0, 1]", t)
	}
	in := [][]float32{a, b}
	if err := checkLengths(name, out, nil, false, in); err != nil {
		return err
	}
	if err := checkFinite(name, nil, in); err != nil {
		return err
	}
	var aa, bb float64
	for j := range a {
		x, y := float64(a[j]), float64(b[j])
		aa += x * x
		bb += y * y
	}
	na, nb := math.Sqrt(aa), math.Sqrt(bb)
	if na <= slerpEps {
		na = 1
	}
	if nb <= slerpEps {
		nb = 1
	}
	var dot float64
	for j := range a {
		dot += (float64(a[j]) / na) * (float64(b[j]) / nb)
	}
	s0, s1 := 1-t, t
	if math.Abs(dot) <= slerpDotThreshold {
		// |dot| <= 0.9995 keeps sin θ >= 0.0316: no division by zero.
		theta := math.Acos(max(-1, min(1, dot)))
		sin := math.Sin(theta)
		s0 = math.Sin(theta-theta*t) / sin
		s1 = math.Sin(theta*t) / sin
	}
	bad := false
	for j := range out {
		v := float32(s0*float64(a[j]) + s1*float64(b[j]))
		bad = bad || v-v != 0
		out[j] = v
	}
	if bad {
		return resultError(name, out)
	}
	return nil
}
