package kernel

import (
	"testing"
)

// benchN is the benchmark length: 64Mi float32s, 256 MB per array.
const benchN = 64 << 20

// benchArrays returns k inputs and an output of benchN elements, all
// already written so no page faults are timed.
func benchArrays(b *testing.B, k int) (out []float32, in [][]float32) {
	if testing.Short() {
		b.Skip("256 MB arrays; skipped in -short")
	}
	in = make([][]float32, k)
	for j := range in {
		in[j] = randVec(benchN, uint64(j), 1)
	}
	out = make([]float32, benchN)
	fill(out)
	b.SetBytes(int64(4 * benchN * (k + 1)))
	b.ResetTimer()
	return out, in
}

func BenchmarkAxpby(b *testing.B) {
	out, in := benchArrays(b, 2)
	for b.Loop() {
		_ = Axpby(out, in[0], in[1], 0.5, 0.5)
	}
}

func BenchmarkAxpbyParallel(b *testing.B) {
	out, in := benchArrays(b, 2)
	for b.Loop() {
		_ = AxpbyParallel(out, in[0], in[1], 0.5, 0.5)
	}
}

func BenchmarkWeightedSum4(b *testing.B) {
	out, in := benchArrays(b, 4)
	w := []float32{0.25, 0.25, 0.25, 0.25}
	for b.Loop() {
		_ = WeightedSum(out, in, w)
	}
}

func BenchmarkWeightedSumParallel4(b *testing.B) {
	out, in := benchArrays(b, 4)
	w := []float32{0.25, 0.25, 0.25, 0.25}
	for b.Loop() {
		_ = WeightedSumParallel(out, in, w)
	}
}

func BenchmarkAxpbyGeneric(b *testing.B) {
	out, in := benchArrays(b, 2)
	for b.Loop() {
		axpbyGeneric(out, in[0], in[1], 0.5, 0.5)
	}
}
