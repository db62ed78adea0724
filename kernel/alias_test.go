package kernel

import (
	"fmt"
	"testing"
)

// TestAlias checks out may be the very slice of an input, for every input
// position, short and long, serial and parallel.
func TestAlias(t *testing.T) {
	for _, cfg := range kernelConfigs() {
		t.Run(cfg.name, func(t *testing.T) {
			defer cfg.setup()()
			for _, n := range []int{5, 33, 1000, 300_001} {
				for _, par := range []bool{false, true} {
					name := fmt.Sprintf("n=%d/parallel=%v", n, par)
					a0, b0, c0 := randVec(n, 1, 1), randVec(n, 2, 1), randVec(n, 3, 1)
					want := make([]float32, n)
					if err := Axpby(want, a0, b0, 0.5, -2); err != nil {
						t.Fatal(err)
					}
					for pos := range 2 {
						a, b := clone(a0), clone(b0)
						out := [][]float32{a, b}[pos]
						call(par, func() error { return Axpby(out, a, b, 0.5, -2) },
							func() error { return AxpbyParallel(out, a, b, 0.5, -2) })
						requireIdentical(t, fmt.Sprintf("%s/Axpby/out=in[%d]", name, pos), out, want)
					}
					w := []float32{1, 0.25, -3}
					if err := WeightedSum(want, [][]float32{a0, b0, c0}, w); err != nil {
						t.Fatal(err)
					}
					for pos := range 3 {
						in := [][]float32{clone(a0), clone(b0), clone(c0)}
						out := in[pos]
						call(par, func() error { return WeightedSum(out, in, w) },
							func() error { return WeightedSumParallel(out, in, w) })
						requireIdentical(t, fmt.Sprintf("%s/WeightedSum/out=in[%d]", name, pos), out, want)
					}
				}
			}
		})
	}
}

func clone(v []float32) []float32 { return append([]float32(nil), v...) }

// call runs parallel if par, else serial, and panics on an error (none is
// possible with the lengths the callers give).
func call(par bool, serial, parallel func() error) {
	f := serial
	if par {
		f = parallel
	}
	if err := f(); err != nil {
		panic(err)
	}
}
