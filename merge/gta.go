package merge

import (
	"fmt"
	"math"
)

// sparsifier is how a task-arithmetic method thins each task vector.
type sparsifier int

const (
	sparseNone      sparsifier = iota // task_arithmetic
	sparseMagnitude                   // ties: keep the top-k magnitudes
	sparseRandom                      // dare: keep each entry with probability density
)

// gtaMethod describes one method of mergekit's generalized task arithmetic
// (mergekit/merge_methods/generalized_task_arithmetic.py, registered in
// mergekit/merge_methods/registry.py).
type gtaMethod struct {
	name      string
	consensus bool // TIES sign election ("sum" consensus)
	sparsify  sparsifier
	normalize bool // mergekit's default_normalize
	rescale   bool // mergekit's default_rescale
	options   option
}

var (
	taskArithmeticMethod = gtaMethod{
		name: "task_arithmetic", sparsify: sparseNone,
		options: optWeights | optNormalize | optLambda,
	}
	tiesMethod = gtaMethod{
		name: "ties", consensus: true, sparsify: sparseMagnitude, normalize: true,
		options: optWeights | optNormalize | optLambda | optDensity | optRescale,
	}
	dareLinearMethod = gtaMethod{
		name: "dare_linear", sparsify: sparseRandom, rescale: true,
		options: optWeights | optNormalize | optLambda | optDensity | optRescale | optSeed,
	}
	dareTiesMethod = gtaMethod{
		name: "dare_ties", consensus: true, sparsify: sparseRandom, rescale: true,
		options: optWeights | optNormalize | optLambda | optDensity | optRescale | optSeed,
	}
)

// run merges in into out as θ_base + λ·Δ, where Δ is the (sign-elected,
// normalised) weighted sum of the sparsified task vectors inᵢ − base.
func (g gtaMethod) run(out, base []float32, in [][]float32, p Params) error {
	if err := checkOptions(g.name, p, g.options); err != nil {
		return err
	}
	if err := checkInputCount(g.name, len(in), 1, -1); err != nil {
		return err
	}
	if err := checkWeights(g.name, p.Weights, len(in)); err != nil {
		return err
	}
	if err := checkLengths(g.name, out, base, true, in); err != nil {
		return err
	}
	densities, err := resolveDensities(g.name, p, len(in))
	if err != nil {
		return err
	}
	if err := checkFinite(g.name, base, in); err != nil {
		return err
	}
	normalize := boolOr(p.Normalize, g.normalize)
	rescale := boolOr(p.Rescale, g.rescale)
	lambda := floatOr(p.Lambda, 1)
	w := p.Weights

	keeps := make([]keeper, len(in))
	var scratch []float64
	var hist []uint32
	for i := range in {
		if p.stopped() {
			return ErrCancelled
		}
		k := &keeps[i]
		k.scale = 1
		switch g.sparsify {
		case sparseNone:
			k.mode = keepAll
		case sparseMagnitude:
			scratch, hist = topK(k, base, in[i], densities[i], scratch, hist)
		case sparseRandom:
			random(k, p.Seed, i, densities[i])
		}
		if rescale && k.mode != keepAll && k.mode != keepNone {
			if p.RescaleMode == RescaleInverseDensity {
				k.scale = 1 / densities[i]
			} else {
				k.scale = k.l1Scale(base, in[i])
			}
		}
	}

	var wsum float64
	for _, v := range w {
		wsum += v
	}
	if math.Abs(wsum) < 1e-8 {
		wsum = 1
	}
	// Work in blocks: per block, each input's weighted sparsified deltas
	// go to one row of wd (a tight loop per sparsification mode); the rows
	// are then combined row by row into mixed and div.
	const block = 1024
	wd := make([]float64, len(in)*block)
	buf := make([]float64, 3*block)
	sumBuf, mixedBuf, divBuf := buf[:block], buf[block:2*block], buf[2*block:]
	bad := false
	for lo := 0; lo < len(out); lo += block {
		if lo%(stopEvery*block) == 0 && p.stopped() {
			return ErrCancelled
		}
		hi := min(lo+block, len(out))
		width := hi - lo
		for i, x := range in {
			keeps[i].fill(wd[i*block:i*block+width], base[lo:hi], x[lo:hi], lo, w[i])
		}
		mixed, div := mixedBuf[:width], divBuf[:width]
		clear(mixed)
		if g.consensus {
			sum := sumBuf[:width]
			clear(sum)
			clear(div)
			for i := range in {
				for t, v := range wd[i*block : i*block+width] {
					sum[t] += v
				}
			}
			// mergekit: the majority sign is + when the sum is >= 0; an
			// entry counts when its sign equals the majority (sign(0) = 0
			// never does), and so does its weight in the divisor.
			// Branch-free: agree is all ones for the entries that count.
			for i := range in {
				wb := math.Float64bits(w[i])
				for t, v := range wd[i*block : i*block+width] {
					var neg uint64
					if sum[t] < 0 {
						neg = 1 << 63
					}
					vb := math.Float64bits(v)
					mag := vb << 1
					agree := -((((vb ^ neg) >> 63) ^ 1) & ((mag | -mag) >> 63))
					mixed[t] += math.Float64frombits(vb & agree)
					div[t] += math.Float64frombits(wb & agree)
				}
			}
			for t, d := range div {
				if d == 0 {
					div[t] = 1
				}
			}
		} else {
			for i := range in {
				for t, v := range wd[i*block : i*block+width] {
					mixed[t] += v
				}
			}
		}
		o := out[lo:hi]
		for t, m := range mixed {
			if normalize {
				if g.consensus {
					m /= div[t]
				} else {
					m /= wsum
				}
			}
			if lambda != 1 {
				m *= lambda
			}
			v := float32(float64(base[lo+t]) + m)
			bad = bad || v-v != 0
			o[t] = v
		}
	}
	if bad {
		return resultError(g.name, out)
	}
	return nil
}

// resolveDensities returns one density per input from p.Density or
// p.Densities (default 1), each checked to lie in [0, 1].
func resolveDensities(method string, p Params, inputs int) ([]float64, error) {
	ds := make([]float64, inputs)
	switch {
	case len(p.Densities) > 0:
		if p.Density != nil {
			return nil, fmt.Errorf("vsdb: merge: %s: give density or densities, not both", method)
		}
		if len(p.Densities) != inputs {
			return nil, fmt.Errorf("vsdb: merge: %s: %d densities for %d inputs", method, len(p.Densities), inputs)
		}
		copy(ds, p.Densities)
	default:
		d := floatOr(p.Density, 1)
		for i := range ds {
			ds[i] = d
		}
	}
	for i, d := range ds {
		if !(d >= 0 && d <= 1) {
			return nil, fmt.Errorf("vsdb: merge: %s: density %v for input %d is outside [0, 1]", method, d, i)
		}
	}
	return ds, nil
}
