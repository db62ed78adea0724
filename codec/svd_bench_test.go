package codec

import (
	"fmt"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// BenchmarkGemm times the product shapes of the randomized SVD at rank 64
// with oversampling 10, A·X and Aᵀ·X for A 4096×4096 and X 4096×74, with
// this package's gemm and gemmAtB and with gonum's blas32.Gemm:
//
//	go test -run X -bench Gemm -benchtime 10x ./codec/
//	go test -tags purego -run X -bench Gemm -benchtime 3x ./codec/  # gonum only
func BenchmarkGemm(b *testing.B) {
	const n, l = 4096, 74
	if testing.Short() {
		b.Skip("64 MB matrix")
	}
	a := randMatrix(n, n, 1)
	x := randMatrix(n, l, 2)
	y := make([]float32, n*l)
	flops := 2.0 * n * n * l
	gflops := func(b *testing.B) {
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	}
	b.Run(fmt.Sprintf("vsdb-AX/%s", GemmKernel()), func(b *testing.B) {
		for range b.N {
			gemm(n, l, n, a, n, x, l, y, l)
		}
		gflops(b)
	})
	b.Run(fmt.Sprintf("vsdb-AtX/%s", GemmKernel()), func(b *testing.B) {
		for range b.N {
			gemmAtB(n, l, n, a, n, x, y)
		}
		gflops(b)
	})
	b.Run("gonum-blas32-AX", func(b *testing.B) {
		for range b.N {
			blas32.Gemm(blas.NoTrans, blas.NoTrans, 1,
				blas32.General{Rows: n, Cols: n, Stride: n, Data: a},
				blas32.General{Rows: n, Cols: l, Stride: l, Data: x},
				0, blas32.General{Rows: n, Cols: l, Stride: l, Data: y})
		}
		gflops(b)
	})
}

// BenchmarkRandomizedSVD times RandomizedSVD at rank 64 (oversample 10, 2
// power iterations) on a 4096×4096 Gaussian matrix and reports the share of
// each phase.
func BenchmarkRandomizedSVD(b *testing.B) {
	const n = 4096
	if testing.Short() {
		b.Skip("64 MB matrix")
	}
	a := randMatrix(n, n, 1)
	phases := map[string]time.Duration{}
	var order []string
	last := time.Now()
	svdTrace = func(p string) {
		now := time.Now()
		if _, ok := phases[p]; !ok {
			order = append(order, p)
		}
		phases[p] += now.Sub(last)
		last = now
	}
	defer func() { svdTrace = nil }()
	b.ResetTimer()
	for range b.N {
		last = time.Now()
		if _, _, _, err := RandomizedSVD(a, n, n, 64, 10, 2, 1); err != nil {
			b.Fatal(err)
		}
	}
	for _, p := range order {
		b.ReportMetric(phases[p].Seconds()/float64(b.N), p+"-s/op")
	}
}
