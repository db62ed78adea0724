package kernel

// The portable kernels. They serve as the fallback on every platform (see
// dispatch_generic.go) and, on amd64, as the reference the tests compare the
// assembly with.

// genericBlock is the number of outputs the portable weighted sum keeps on
// the stack before writing them, so that out may alias an input.
const genericBlock = 256

// axpbyGeneric sets out[i] = wa*a[i] + wb*b[i]; a and b are at least as long
// as out.
func axpbyGeneric(out, a, b []float32, wa, wb float32) {
	a = a[:len(out)]
	b = b[:len(out)]
	for i := range out {
		out[i] = wa*a[i] + wb*b[i]
	}
}

// weightedGeneric sets out[i] = Σ_k w[k]*in[k][lo+i] for i < len(out),
// reading each input once.
func weightedGeneric(out []float32, in [][]float32, w []float32, lo int) {
	var buf [genericBlock]float32
	for base := 0; base < len(out); base += genericBlock {
		acc := buf[:min(genericBlock, len(out)-base)]
		x := in[0][lo+base:]
		x = x[:len(acc)]
		for i := range acc {
			acc[i] = w[0] * x[i]
		}
		for k := 1; k < len(in); k++ {
			wk := w[k]
			x := in[k][lo+base:]
			x = x[:len(acc)]
			for i := range acc {
				acc[i] += wk * x[i]
			}
		}
		copy(out[base:], acc)
	}
}
