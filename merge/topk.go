package merge

import (
	"math"
	"math/bits"
	"slices"
)

// histBits is the number of leading bits of a magnitude's float64
// representation (after the sign bit: 11 exponent bits and 5 mantissa bits)
// that topK buckets by.
const histBits = 16

// smallTopK is the largest tensor for which topK skips the histogram and
// selects among all magnitudes directly.
const smallTopK = 1 << 16

// topK sets k to keep the int(density·n) largest magnitudes of δ = x − base
// (mergekit's magnitude sparsification in mergekit/sparsify.py). Among
// equal magnitudes at the threshold the lowest indexes are kept, so the
// result does not depend on the selection algorithm.
//
// It runs in O(n): for non-negative float64s the order of the values is the
// order of their bit patterns, so a histogram of the leading 16 bits
// (65,536 buckets, 32 per octave) finds the bucket holding the threshold;
// the magnitudes in that bucket are copied to scratch and a quickselect
// (selectKth) finds the threshold among them. Tensors of at most 65,536
// elements skip the histogram and select among all their magnitudes. A
// last pass finds the index of the last tie kept. Memory: the 256 KiB
// histogram plus 8 bytes per element of that one bucket (n·8 bytes at
// worst, when most magnitudes share their leading bits, e.g. are all
// equal); 8n bytes for small tensors. scratch and hist are reused across
// calls and returned.
func topK(k *keeper, base, x []float32, density float64, scratch []float64, hist []uint32) ([]float64, []uint32) {
	n := len(x)
	keep := int(density * float64(n))
	switch {
	case density >= 1 || keep >= n:
		k.mode = keepAll
		return scratch, hist
	case keep <= 0:
		k.mode = keepNone
		return scratch, hist
	}
	above := 0
	var cand []float64
	if n <= smallTopK {
		// Small tensors (biases, norms): select among all magnitudes.
		cand = grow(scratch, n)
		for j, v := range x {
			cand = append(cand, math.Float64frombits(magBits(v, base[j])))
		}
	} else {
		if hist == nil {
			hist = make([]uint32, 1<<histBits)
		} else {
			clear(hist)
		}
		const shift = 63 - histBits
		for j, v := range x {
			hist[magBits(v, base[j])>>shift]++
		}
		// Walk down from the largest bucket to the one holding the keep-th
		// largest magnitude.
		bucket := len(hist) - 1
		for ; bucket > 0; bucket-- {
			if above+int(hist[bucket]) >= keep {
				break
			}
			above += int(hist[bucket])
		}
		cand = grow(scratch, int(hist[bucket]))
		for j, v := range x {
			if b := magBits(v, base[j]); b>>shift == uint64(bucket) {
				cand = append(cand, math.Float64frombits(b))
			}
		}
	}
	// Within the bucket the threshold is the (keep−above)-th largest.
	need := keep - above
	t := selectKth(cand, len(cand)-need)
	greater := above
	for _, m := range cand {
		if m > t {
			greater++
		}
	}
	// greater < keep <= greater + (number equal to t): keep the first
	// keep−greater of the entries equal to t, by index.
	ties := keep - greater
	tb := math.Float64bits(t)
	last := -1
	for j, v := range x {
		if magBits(v, base[j]) == tb {
			ties--
			if ties == 0 {
				last = j
				break
			}
		}
	}
	k.mode = keepTop
	k.thresh = t
	k.last = last
	return cand, hist
}

// grow returns s emptied, with room for n elements.
func grow(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, 0, n)
	}
	return s[:0]
}

// magBits returns the bit pattern of |float64(x) − float64(b)|, whose order
// as an unsigned integer is the order of the magnitudes.
func magBits(x, b float32) uint64 {
	return math.Float64bits(float64(x)-float64(b)) &^ (1 << 63)
}

// selectKth returns the value that would be at a[idx] if a were sorted
// ascending, reordering a. It is a quickselect with median-of-three pivots
// and a three-way partition (so runs of equal values, common in sparse task
// vectors, cost nothing extra), falling back to sorting the remaining range
// after 2·log₂(n) rounds, which bounds the worst case by O(n log n).
// a must not contain NaN.
func selectKth(a []float64, idx int) float64 {
	lo, hi := 0, len(a)-1
	depth := 2 * bits.Len(uint(len(a)))
	for lo < hi {
		if depth == 0 {
			slices.Sort(a[lo : hi+1])
			return a[idx]
		}
		depth--
		p := median3(a[lo], a[lo+(hi-lo)/2], a[hi])
		lt, i, gt := lo, lo, hi
		for i <= gt {
			switch v := a[i]; {
			case v < p:
				a[lt], a[i] = v, a[lt]
				lt++
				i++
			case v > p:
				a[i], a[gt] = a[gt], v
				gt--
			default:
				i++
			}
		}
		// a[lo:lt] < p, a[lt:gt+1] == p, a[gt+1:hi+1] > p.
		switch {
		case idx < lt:
			hi = lt - 1
		case idx > gt:
			lo = gt + 1
		default:
			return p
		}
	}
	return a[idx]
}

// median3 returns the median of a, b and c.
func median3(a, b, c float64) float64 {
	if a > b {
		a, b = b, a
	}
	if b > c {
		b = c
	}
	if a > b {
		return a
	}
	return b
}
