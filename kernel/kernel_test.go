package kernel

import (
	"fmt"
	"math"
	"testing"
)

// testLengths are the lengths every kernel is checked at: empty, scalar
// tails, one vector and around it, whole blocks and around them, a long
// odd length, and one above the parallel threshold.
var testLengths = []int{0, 1, 7, 8, 9, 31, 32, 33, 63, 64, 65, 1000, 1<<20 + 3}

// testWeights are weight vectors for up to five inputs: ones, zeros, mixed
// signs and sizes. A case with k inputs uses the first k.
var testWeights = [][]float32{
	{1, 1, 1, 1, 1},
	{0.5, 0.5, 0.25, 0.125, 2},
	{0, 1, -1, 0, 3.5},
	{-1, 0, 2.75, -0.001, 1},
	{1e-3, -7, 0, 1, -1},
}

// checkAgainst compares got with the float64 reference and with the
// portable kernel's want at every index.
func checkAgainst(t *testing.T, got, want []float32, in [][]float32, w []float32) {
	t.Helper()
	bad := 0
	for i := range got {
		ref, mag := refSum(in, w, i)
		tol := tolerance(len(in), mag)
		if d := math.Abs(float64(got[i]) - ref); !(d <= tol) {
			t.Errorf("out[%d] = %g, float64 reference %g (|diff| %g > %g)", i, got[i], ref, d, tol)
			bad++
		}
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= 2*tol) {
			t.Errorf("out[%d] = %g, portable kernel %g", i, got[i], want[i])
			bad++
		}
		if bad > 5 {
			t.FailNow()
		}
	}
}

// makeInputs returns k inputs of length n, input j starting (off+3j)%8
// elements into its backing array.
func makeInputs(n, k, off int) [][]float32 {
	in := make([][]float32, k)
	for j := range in {
		in[j] = offsetCopy(randVec(n, uint64(100*k+j), 4), (off+3*j)%8)
	}
	return in
}

func TestAxpby(t *testing.T) {
	for _, cfg := range kernelConfigs() {
		t.Run(cfg.name, func(t *testing.T) {
			defer cfg.setup()()
			for _, n := range testLengths {
				for off := range 8 {
					if n > 1<<16 && off%5 != 1 {
						continue // keep the long length to a few alignments
					}
					in := makeInputs(n, 2, off)
					for wi, w := range testWeights {
						if n > 1<<16 && wi != 1+off%4 {
							continue // and to a few weights (race mode is slow)
						}
						name := fmt.Sprintf("n=%d/off=%d/w=%v", n, off, w[:2])
						want := make([]float32, n)
						axpbyGeneric(want, in[0], in[1], w[0], w[1])
						out := offsetCopy(make([]float32, n), off)
						if err := Axpby(out, in[0], in[1], w[0], w[1]); err != nil {
							t.Fatalf("%s: %v", name, err)
						}
						checkAgainst(t, out, want, in, w[:2])
						par := offsetCopy(make([]float32, n), 7-off)
						if err := AxpbyParallel(par, in[0], in[1], w[0], w[1]); err != nil {
							t.Fatalf("%s: parallel: %v", name, err)
						}
						requireIdentical(t, name+"/parallel", par, out)
					}
				}
			}
		})
	}
}

func TestWeightedSum(t *testing.T) {
	for _, cfg := range kernelConfigs() {
		t.Run(cfg.name, func(t *testing.T) {
			defer cfg.setup()()
			for _, n := range testLengths {
				for _, k := range []int{1, 2, 3, 5} {
					for off := range 8 {
						if n > 1<<16 && off != k {
							continue
						}
						in := makeInputs(n, k, off)
						for wi, wall := range testWeights {
							if n > 1<<16 && wi != k%len(testWeights) {
								continue
							}
							w := wall[:k]
							name := fmt.Sprintf("n=%d/k=%d/off=%d/w=%v", n, k, off, w)
							want := make([]float32, n)
							weightedGeneric(want, in, w, 0)
							out := offsetCopy(make([]float32, n), off)
							if err := WeightedSum(out, in, w); err != nil {
								t.Fatalf("%s: %v", name, err)
							}
							checkAgainst(t, out, want, in, w)
							par := offsetCopy(make([]float32, n), 7-off)
							if err := WeightedSumParallel(par, in, w); err != nil {
								t.Fatalf("%s: parallel: %v", name, err)
							}
							requireIdentical(t, name+"/parallel", par, out)
						}
					}
				}
			}
		})
	}
}

// TestWeightedSumManyInputs checks long sums, where rounding accumulates.
func TestWeightedSumManyInputs(t *testing.T) {
	for _, cfg := range kernelConfigs() {
		t.Run(cfg.name, func(t *testing.T) {
			defer cfg.setup()()
			for _, k := range []int{8, 17} {
				n := 4099
				in := makeInputs(n, k, k)
				w := randVec(k, 7, 2)
				want := make([]float32, n)
				weightedGeneric(want, in, w, 0)
				out := make([]float32, n)
				if err := WeightedSum(out, in, w); err != nil {
					t.Fatal(err)
				}
				checkAgainst(t, out, want, in, w)
			}
		})
	}
}

// requireIdentical fails unless got and want hold the same bits.
func requireIdentical(t *testing.T, name string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: out[%d] = %g, want %g", name, i, got[i], want[i])
		}
	}
}
