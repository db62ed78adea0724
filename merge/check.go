package merge

import (
	"fmt"
	"math"
)

// option is a bit set of the fields of Params a method accepts.
type option uint

const (
	optWeights option = 1 << iota
	optNormalize
	optLambda
	optDensity
	optSeed
	optT
	optRescale
)

// checkOptions reports the first option set in p that the method does not
// accept, and any option that is set but out of range.
func checkOptions(method string, p Params, accepted option) error {
	given := []struct {
		set  bool
		opt  option
		name string
	}{
		{len(p.Weights) > 0, optWeights, "weights"},
		{p.Normalize != nil, optNormalize, "normalize"},
		{p.Lambda != nil, optLambda, "lambda"},
		{p.Density != nil, optDensity, "density"},
		{len(p.Densities) > 0, optDensity, "densities"},
		{p.Seed != 0, optSeed, "seed"},
		{p.T != nil, optT, "t"},
		{p.Rescale != nil, optRescale, "rescale"},
		{p.RescaleMode != "", optRescale, "rescale_mode"},
	}
	for _, g := range given {
		if g.set && accepted&g.opt == 0 {
			return fmt.Errorf("vsdb: merge: %s does not accept option %s", method, g.name)
		}
	}
	if p.Lambda != nil && !finite(*p.Lambda) {
		return fmt.Errorf("vsdb: merge: %s: lambda is %v, want a finite number", method, *p.Lambda)
	}
	switch p.RescaleMode {
	case "", RescaleL1, RescaleInverseDensity:
	default:
		return fmt.Errorf("vsdb: merge: %s: unknown rescale_mode %q (want %q or %q)", method, p.RescaleMode, RescaleL1, RescaleInverseDensity)
	}
	return nil
}

// checkLengths reports whether out, base (when hasBase) and every input
// have the same length.
func checkLengths(method string, out, base []float32, hasBase bool, in [][]float32) error {
	n := len(out)
	if hasBase && len(base) != n {
		return fmt.Errorf("vsdb: merge: %s: base has %d elements but out has %d", method, len(base), n)
	}
	for i, x := range in {
		if len(x) != n {
			if hasBase {
				return fmt.Errorf("vsdb: merge: %s: input %d has %d elements but base has %d", method, i, len(x), n)
			}
			return fmt.Errorf("vsdb: merge: %s: input %d has %d elements but out has %d", method, i, len(x), n)
		}
	}
	return nil
}

// checkInputCount reports whether len(in) lies in [lo, hi] (hi < 0: no
// upper bound).
func checkInputCount(method string, got, lo, hi int) error {
	switch {
	case hi >= 0 && lo == hi && got != lo:
		return fmt.Errorf("vsdb: merge: %s takes exactly %d inputs, got %d", method, lo, got)
	case got < lo:
		return fmt.Errorf("vsdb: merge: %s takes at least %d inputs, got %d", method, lo, got)
	case hi >= 0 && got > hi:
		return fmt.Errorf("vsdb: merge: %s takes at most %d inputs, got %d", method, hi, got)
	}
	return nil
}

// checkWeights reports whether there is one finite weight per input.
func checkWeights(method string, w []float64, inputs int) error {
	if len(w) != inputs {
		return fmt.Errorf("vsdb: merge: %s: %d weights for %d inputs", method, len(w), inputs)
	}
	for i, v := range w {
		if !finite(v) {
			return fmt.Errorf("vsdb: merge: %s: weight %d is %v, want a finite number", method, i, v)
		}
	}
	return nil
}

// checkFinite reports the first NaN or ±Inf in base or the inputs.
func checkFinite(method string, base []float32, in [][]float32) error {
	if j, v, bad := firstNonFinite(base); bad {
		return fmt.Errorf("vsdb: merge: %s: base element %d is %v", method, j, v)
	}
	for i, x := range in {
		if j, v, bad := firstNonFinite(x); bad {
			return fmt.Errorf("vsdb: merge: %s: input %d element %d is %v", method, i, j, v)
		}
	}
	return nil
}

// firstNonFinite returns the index and value of the first NaN or ±Inf in x.
func firstNonFinite(x []float32) (int, float32, bool) {
	for j, v := range x {
		// v-v is 0 for finite v and NaN for NaN and ±Inf.
		if v-v != 0 {
			return j, v, true
		}
	}
	return 0, 0, false
}

// finite reports whether f is neither NaN nor ±Inf.
func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// resultError reports the first element of out that is not finite: an
// overflow of float32 (or of float64, with extreme weights).
func resultError(method string, out []float32) error {
	j, v, _ := firstNonFinite(out)
	return fmt.Errorf("vsdb: merge: %s: result element %d is %v (overflow)", method, j, v)
}

// boolOr returns *p, or def when p is nil.
func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// floatOr returns *p, or def when p is nil.
func floatOr(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}
