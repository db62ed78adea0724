package kernel

// weightedRange sets out[lo:hi] from in[*][lo:hi]; lengths are checked.
// Two inputs take the Axpby path, which computes the same expression.
func weightedRange(out []float32, in [][]float32, w []float32, lo, hi int, nt bool) {
	if lo >= hi {
		return
	}
	if len(in) == 2 {
		axpbyRange(out[lo:hi], in[0][lo:hi], in[1][lo:hi], w[0], w[1], nt)
		return
	}
	weightedBlock(out, in, w, lo, hi, nt)
}
