package kernel

// WeightedSum sets out[i] = Σ_k w[k]*in[k][i] for every i, on the calling
// goroutine. Every in[k] must have len(out), and len(w) must equal len(in) > 0;
// otherwise WeightedSum returns an error starting with "vsdb: " and leaves
// out untouched. out may be the same slice as one of the inputs.
func WeightedSum(out []float32, in [][]float32, w []float32) error {
	if err := checkWeighted(out, in, w); err != nil {
		return err
	}
	weightedRange(out, in, w, 0, len(out), useNT(len(out), len(in)))
	return nil
}

// Axpby sets out[i] = wa*a[i] + wb*b[i] for every i, on the calling
// goroutine: the two-input case of WeightedSum, with the same rules for
// lengths, errors and aliasing.
func Axpby(out, a, b []float32, wa, wb float32) error {
	if err := checkPair(out, a, b); err != nil {
		return err
	}
	axpbyRange(out, a, b, wa, wb, useNT(len(out), 2))
	return nil
}

// ntMinBytes is the smallest working set, inputs plus output in bytes, for
// which outputs are written with non-temporal stores: above a typical
// last-level cache the output would only evict the inputs. Tests lower it.
var ntMinBytes = 32 << 20

// useNT reports whether a k-input kernel over n elements streams its output.
func useNT(n, k int) bool {
	return (k+1)*4*n >= ntMinBytes
}
