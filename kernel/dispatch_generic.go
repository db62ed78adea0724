//go:build !amd64 || purego

package kernel

// axpbyRange sets out = wa*a + wb*b with the portable loop; nt is ignored.
func axpbyRange(out, a, b []float32, wa, wb float32, nt bool) {
	axpbyGeneric(out, a, b, wa, wb)
}

// weightedBlock sets out[lo:hi] with the portable loop; nt is ignored.
func weightedBlock(out []float32, in [][]float32, w []float32, lo, hi int, nt bool) {
	weightedGeneric(out[lo:hi], in, w, lo)
}
