package kernel

import (
	"fmt"
	"math"
	"testing"
)

// TestSpecialValues checks that NaN and ±Inf inputs and weights come out as
// NaN, the same infinity, or finite exactly where the portable kernel's do.
func TestSpecialValues(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	specials := []float32{nan, inf, -inf, 0, 1, -1, 3e38}
	weights := []float32{0, 1, -1, 0.5, inf, nan}
	// Every (a, b) pair of specials, padded with ordinary values so the
	// specials land in vector lanes and in the scalar tail.
	var a, b []float32
	for _, x := range specials {
		for _, y := range specials {
			a = append(a, x, 0.25)
			b = append(b, y, -2)
		}
	}
	for _, cfg := range kernelConfigs() {
		t.Run(cfg.name, func(t *testing.T) {
			defer cfg.setup()()
			for _, wa := range weights {
				for _, wb := range weights {
					name := fmt.Sprintf("wa=%g/wb=%g", wa, wb)
					want := make([]float32, len(a))
					axpbyGeneric(want, a, b, wa, wb)
					got := make([]float32, len(a))
					if err := Axpby(got, a, b, wa, wb); err != nil {
						t.Fatal(err)
					}
					compareSpecial(t, name+"/Axpby", got, want)

					in := [][]float32{a, b, a}
					w := []float32{wa, wb, 1}
					weightedGeneric(want, in, w, 0)
					if err := WeightedSum(got, in, w); err != nil {
						t.Fatal(err)
					}
					compareSpecial(t, name+"/WeightedSum", got, want)
				}
			}
		})
	}
}

// compareSpecial fails where got and want are not both NaN, the same
// infinity, or both finite.
func compareSpecial(t *testing.T, name string, got, want []float32) {
	t.Helper()
	for i := range want {
		if !sameSpecial(got[i], want[i]) {
			t.Errorf("%s: out[%d] = %g, portable kernel %g", name, i, got[i], want[i])
		}
	}
}
