package merge

import (
	"math"
	"math/bits"
)

// keepMode says which entries of one task vector survive sparsification.
type keepMode int

const (
	keepAll    keepMode = iota
	keepNone            // density 0, or top-k with k = 0
	keepTop             // |δ| > thresh, or |δ| == thresh and j <= last
	keepRandom          // KeepUniform(seed, i, j) < density
)

// keeper is the sparsification of one task vector, and the factor its kept
// entries are multiplied by.
type keeper struct {
	mode   keepMode
	thresh float64 // keepTop
	last   int     // keepTop
	key    uint64  // keepRandom: seed ^ i<<40
	zlim   uint64  // keepRandom: keep iff SplitMix64(key ^ j) < zlim
	scale  float64
}

// The masks below are all ones for a kept entry and zero otherwise,
// computed without branches: which entries survive is as unpredictable as
// a coin toss, and a mispredicted branch per element costs more than the
// arithmetic.

// topMask is keepTop's mask for element j with delta d: kept iff |d|'s
// bits exceed thr, where thr is thresh's bits minus 1 up to index last
// (ties kept) and thresh's bits after it. For non-negative floats the
// order of the bits is the order of the values.
func topMask(threshBits int64, last, j int, d float64) uint64 {
	thr := threshBits
	if j <= last {
		thr--
	}
	mb := int64(math.Float64bits(d) &^ (1 << 63))
	return uint64((thr - mb) >> 63)
}

// randomMask is keepRandom's mask for element j.
func randomMask(key, zlim uint64, j int) uint64 {
	_, borrow := bits.Sub64(SplitMix64(key^uint64(j)), zlim, 0)
	return -borrow
}

// kept reports whether element j, whose delta is d, survives.
func (k *keeper) kept(j int, d float64) bool {
	switch k.mode {
	case keepAll:
		return true
	case keepTop:
		return topMask(int64(math.Float64bits(k.thresh)), k.last, j, d) != 0
	case keepRandom:
		return randomMask(k.key, k.zlim, j) != 0
	}
	return false
}

// fill sets row[t] to w·(δ·scale) for the kept entries of δ = x − base and
// to 0 for the others; j0 is the index of x[0] in the whole tensor.
func (k *keeper) fill(row []float64, base, x []float32, j0 int, w float64) {
	switch k.mode {
	case keepAll:
		for t, v := range x {
			row[t] = w * ((float64(v) - float64(base[t])) * k.scale)
		}
	case keepNone:
		clear(row)
	case keepTop:
		tb := int64(math.Float64bits(k.thresh))
		for t, v := range x {
			d := float64(v) - float64(base[t])
			mask := topMask(tb, k.last, j0+t, d)
			row[t] = math.Float64frombits(math.Float64bits(w*(d*k.scale)) & mask)
		}
	case keepRandom:
		for t, v := range x {
			d := float64(v) - float64(base[t])
			mask := randomMask(k.key, k.zlim, j0+t)
			row[t] = math.Float64frombits(math.Float64bits(w*(d*k.scale)) & mask)
		}
	}
}

// l1Scale returns ‖δ‖₁/‖kept δ‖₁ for one task vector, or 1 when either
// norm is below mergekit's eps of 1e-7 (rescaled_masked_tensor in
// mergekit/sparsify.py).
func (k *keeper) l1Scale(base, x []float32) float64 {
	var before, after float64
	tb := int64(math.Float64bits(k.thresh))
	for j, v := range x {
		d := float64(v) - float64(base[j])
		var mask uint64
		switch k.mode {
		case keepAll:
			mask = ^uint64(0)
		case keepTop:
			mask = topMask(tb, k.last, j, d)
		case keepRandom:
			mask = randomMask(k.key, k.zlim, j)
		}
		m := math.Abs(d)
		before += m
		after += math.Float64frombits(math.Float64bits(m) & mask)
	}
	const eps = 1e-7
	if before < eps || after < eps {
		return 1
	}
	return before / after
}
