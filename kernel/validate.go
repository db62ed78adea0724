package kernel

import (
	"errors"
	"fmt"
)

// errNoInputs is returned by WeightedSum when in is empty.
var errNoInputs = errors.New("vsdb: kernel: weighted sum of zero inputs")

// checkWeighted reports whether in and w describe len(in) inputs all as
// long as out.
func checkWeighted(out []float32, in [][]float32, w []float32) error {
	if len(in) == 0 {
		return errNoInputs
	}
	if len(in) != len(w) {
		return fmt.Errorf("vsdb: kernel: %d inputs but %d weights", len(in), len(w))
	}
	for k, x := range in {
		if len(x) != len(out) {
			return fmt.Errorf("vsdb: kernel: input %d has length %d, output has %d", k, len(x), len(out))
		}
	}
	return nil
}

// checkPair reports whether a and b are as long as out.
func checkPair(out, a, b []float32) error {
	if len(a) != len(out) || len(b) != len(out) {
		return fmt.Errorf("vsdb: kernel: input lengths %d and %d, output has %d", len(a), len(b), len(out))
	}
	return nil
}
