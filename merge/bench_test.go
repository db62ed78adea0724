package merge

import (
	"math/rand/v2"
	"testing"
)

// benchRows×benchCols is a MiniLM-sized matrix (an FFN weight of
// all-MiniLM-L6-v2 is 1536×384).
const benchRows, benchCols = 1536, 384

// benchTensors returns a base and k fine-tuned versions of it.
func benchTensors(k int) (base []float32, in [][]float32) {
	r := rand.New(rand.NewPCG(11, 12))
	n := benchRows * benchCols
	base = make([]float32, n)
	for j := range base {
		base[j] = float32(0.05 * r.NormFloat64())
	}
	in = make([][]float32, k)
	for i := range in {
		in[i] = make([]float32, n)
		for j := range in[i] {
			in[i][j] = base[j] + float32(0.001*r.NormFloat64())
		}
	}
	return base, in
}

// benchGTA benchmarks one task-arithmetic method on 3 inputs.
func benchGTA(b *testing.B, f func(out, base []float32, in [][]float32, p Params) error, p Params) {
	base, in := benchTensors(3)
	out := make([]float32, len(base))
	p.Weights = []float64{0.5, 0.3, 0.2}
	b.SetBytes(int64(4 * len(base) * (len(in) + 2)))
	b.ReportAllocs()
	for b.Loop() {
		if err := f(out, base, in, p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTIES(b *testing.B) {
	benchGTA(b, TIES, Params{Density: Float(0.5)})
}

func BenchmarkTIESRescale(b *testing.B) {
	benchGTA(b, TIES, Params{Density: Float(0.2), Rescale: Bool(true)})
}

func BenchmarkDARETies(b *testing.B) {
	benchGTA(b, func(out, base []float32, in [][]float32, p Params) error {
		return DARE(out, base, in, p, true)
	}, Params{Density: Float(0.5), Seed: 1})
}

func BenchmarkTaskArithmetic(b *testing.B) {
	benchGTA(b, TaskArithmetic, Params{})
}

func BenchmarkSLERP(b *testing.B) {
	_, in := benchTensors(2)
	out := make([]float32, len(in[0]))
	b.SetBytes(int64(4 * len(out) * 3))
	b.ReportAllocs()
	for b.Loop() {
		if err := SLERP(out, in[0], in[1], 0.3); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkModelStock(b *testing.B) {
	base, in := benchTensors(3)
	out := make([]float32, len(base))
	b.SetBytes(int64(4 * len(base) * (len(in) + 2)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ModelStock(out, base, in); err != nil {
			b.Fatal(err)
		}
	}
}
