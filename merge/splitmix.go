package merge

import "math"

// SplitMix64 is Steele, Lea and Flood's splitmix64 finaliser applied to
// x + 0x9E3779B97F4A7C15: the value the standard splitmix64 generator
// returns when its state before the call is x.
func SplitMix64(x uint64) uint64 {
	z := x + 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// twoTo64 is 2⁶⁴ as a float64.
const twoTo64 = 18446744073709551616.0

// KeepUniform returns DARE's uniform draw for element j of input i:
//
//	u = float64(SplitMix64(seed ^ uint64(i)<<40 ^ uint64(j))) / 2⁶⁴
//
// where the conversion to float64 rounds to nearest, ties to even (so u
// may be exactly 1), and the division is exact. DARE keeps the element iff
// u < density. Inputs are numbered from 0 in the order given, not counting
// the base; elements are numbered from 0 over the whole tensor, so the mask
// does not depend on how a caller chunks the tensor for storage. Indexes
// are distinct for i < 2²⁴ and j < 2⁴⁰. scripts/merge_reference.py
// computes the same values.
func KeepUniform(seed uint64, i, j int) float64 {
	return uniform(seed ^ uint64(i)<<40 ^ uint64(j))
}

// uniform maps SplitMix64(x) to [0, 1].
func uniform(x uint64) float64 {
	return float64(SplitMix64(x)) / twoTo64
}

// random sets k to DARE's random keep-mask for input i: keep each element
// with probability density (mergekit's bernoulli in mergekit/sparsify.py,
// with KeepUniform in place of torch.bernoulli).
func random(k *keeper, seed uint64, i int, density float64) {
	switch {
	case density >= 1:
		k.mode = keepAll
	case density <= 0:
		k.mode = keepNone
	default:
		k.mode = keepRandom
		k.key = seed ^ uint64(i)<<40
		k.zlim = uniformLimit(density)
	}
}

// uniformLimit returns the least z with float64(z)/2⁶⁴ >= density, for
// 0 < density < 1: since the conversion rounds monotonically,
// KeepUniform(...) < density exactly when SplitMix64(...) < the limit,
// which the hot loop tests with integers only.
func uniformLimit(density float64) uint64 {
	lim := density * twoTo64 // exact: a power-of-two scaling
	lo, hi := uint64(0), uint64(math.MaxUint64)
	for lo < hi {
		mid := lo + (hi-lo)/2
		if float64(mid) >= lim {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}
