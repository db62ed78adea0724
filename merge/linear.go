package merge

import (
	"fmt"
	"math"
)

// linearOptions are the options linear accepts.
const linearOptions = optWeights | optNormalize

// Linear writes the weighted average of the inputs to out:
//
//	out = Σᵢ wᵢ·inᵢ / Σᵢ wᵢ   (normalize, the default)
//	out = Σᵢ wᵢ·inᵢ          (normalize = false)
//
// following mergekit's linear method. p.Weights is required (one per
// input); p.Normalize defaults to true. With normalize on and weights whose
// sum is below 1e-8 in magnitude Linear returns an error where mergekit
// would divide by zero.
func Linear(out []float32, in [][]float32, p Params) error {
	const name = "linear"
	if err := checkOptions(name, p, linearOptions); err != nil {
		return err
	}
	if err := checkInputCount(name, len(in), 1, -1); err != nil {
		return err
	}
	if err := checkWeights(name, p.Weights, len(in)); err != nil {
		return err
	}
	if err := checkLengths(name, out, nil, false, in); err != nil {
		return err
	}
	if err := checkFinite(name, nil, in); err != nil {
		return err
	}
	w := p.Weights
	normalize := boolOr(p.Normalize, true)
	var sum float64
	if normalize {
		for _, v := range w {
			sum += v
		}
		if math.Abs(sum) < 1e-8 {
			return fmt.Errorf("vsdb: merge: linear: weights sum to %g, cannot normalize (set normalize = false for a plain weighted sum)", sum)
		}
	}
	bad := false
	for j := range out {
		var acc float64
		for i, x := range in {
			acc += w[i] * float64(x[j])
		}
		if normalize {
			acc /= sum
		}
		v := float32(acc)
		bad = bad || v-v != 0
		out[j] = v
	}
	if bad {
		return resultError(name, out)
	}
	return nil
}
