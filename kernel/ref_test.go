package kernel

import (
	"math"
	"math/rand/v2"
)

// Test helpers: deterministic data, the float64 reference, and the error
// bound the package documents.

// randVec returns n values in [-scale, scale) from a fixed seed.
func randVec(n int, seed uint64, scale float32) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	v := make([]float32, n)
	for i := range v {
		v[i] = (2*r.Float32() - 1) * scale
	}
	return v
}

// offsetCopy returns a copy of v starting off elements into a fresh backing
// array, so the copy has a different alignment from v.
func offsetCopy(v []float32, off int) []float32 {
	buf := make([]float32, len(v)+off)
	s := buf[off:]
	copy(s, v)
	return s
}

// refSum returns Σ_k w[k]*in[k][i] in float64 and the magnitude
// Σ_k |w[k]*in[k][i]| the error bound scales with.
func refSum(in [][]float32, w []float32, i int) (sum, mag float64) {
	for k := range in {
		t := float64(w[k]) * float64(in[k][i])
		sum += t
		mag += math.Abs(t)
	}
	return sum, mag
}

// tolerance is the documented bound, (k+1)·2⁻²⁴·mag, doubled for slack,
// plus the smallest normal float32 for results near underflow.
func tolerance(k int, mag float64) float64 {
	return 2*float64(k+1)*math.Ldexp(mag, -24) + math.SmallestNonzeroFloat32*(1<<23)
}

// sameSpecial reports whether x and y are both NaN, or both the same
// infinity, or both finite.
func sameSpecial(x, y float32) bool {
	fx, fy := float64(x), float64(y)
	switch {
	case math.IsNaN(fx) || math.IsNaN(fy):
		return math.IsNaN(fx) && math.IsNaN(fy)
	case math.IsInf(fx, 0) || math.IsInf(fy, 0):
		return fx == fy
	}
	return true
}
