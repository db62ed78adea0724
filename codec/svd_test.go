package codec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func randMatrix(m, n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 99))
	a := make([]float32, m*n)
	for i := range a {
		a[i] = float32(r.NormFloat64())
	}
	return a
}

// naiveGemm is c = a·b in float64.
func naiveGemm(m, n, k int, a []float32, lda int, b []float32, ldb int) []float64 {
	c := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for t := 0; t < k; t++ {
			x := float64(a[i*lda+t])
			for j := 0; j < n; j++ {
				c[i*n+j] += x * float64(b[t*ldb+j])
			}
		}
	}
	return c
}

func TestGemm(t *testing.T) {
	t.Run(GemmKernel(), testGemm)
	if gemmKernel == nil {
		// Run the packed path too, with the plain-Go micro-kernel.
		gemmKernel = gemmKernelRef
		defer func() { gemmKernel = nil }()
		t.Run("packed-ref", testGemm)
	}
}

func testGemm(t *testing.T) {
	shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {4, 16, 256}, {5, 17, 257}, {9, 33, 300}, {64, 74, 600}, {130, 3, 513}, {2, 40, 0}, {70, 90, 20},
		{5, 17, 2100}, {9, 300, 1500}, {6, 520, 40}} // several k blocks; several column blocks
	for _, sh := range shapes {
		m, n, k := sh[0], sh[1], sh[2]
		// Strides wider than the rows check lda/ldb/ldc are honoured.
		lda, ldb, ldc := k+3, n+1, n+2
		a := randMatrix(m, lda, uint64(m))
		b := randMatrix(max(k, 1), ldb, uint64(n))
		c := randMatrix(m, ldc, 5) // garbage gemm must overwrite
		gemm(m, n, k, a, lda, b, ldb, c, ldc)
		want := naiveGemm(m, n, k, a, lda, b, ldb)
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				got := float64(c[i*ldc+j])
				if math.Abs(got-want[i*n+j]) > 1e-5*float64(k+1) {
					t.Fatalf("%dx%dx%d: c[%d][%d] = %g, want %g", m, n, k, i, j, got, want[i*n+j])
				}
			}
			for j := n; j < ldc; j++ { // past n untouched
				if c[i*ldc+j] != randMatrix(m, ldc, 5)[i*ldc+j] {
					t.Fatalf("%dx%dx%d: gemm wrote past column n", m, n, k)
				}
			}
		}
	}
}

// TestGemmKernels compares the SIMD kernel (under GOEXPERIMENT=simd) with
// the plain-Go reference.
func TestGemmKernels(t *testing.T) {
	t.Logf("product: %s", GemmKernel())
	if gemmKernel == nil {
		t.Skip("no SIMD micro-kernel in this build")
	}
	for _, kc := range []int{1, 7, 256} {
		var a [gemmMR][]float32
		for r := range a {
			a[r] = randMatrix(1, kc+r, uint64(r))
		}
		bp := randMatrix(kc, gemmNR, 9)
		var got, want [gemmMR * gemmNR]float32
		gemmKernel(kc, &a, bp, &got)
		gemmKernelRef(kc, &a, bp, &want)
		for i := range got {
			if math.Abs(float64(got[i]-want[i])) > 1e-5*float64(kc) {
				t.Fatalf("kc %d: tile[%d] = %g, portable kernel %g", kc, i, got[i], want[i])
			}
		}
	}
}

// TestQRVectorOps checks the QR's dot and axpy (AVX2 under
// GOEXPERIMENT=simd) against float64 loops, at lengths around the vector
// widths.
func TestQRVectorOps(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 31, 32, 33, 100, 4096} {
		x, y := randMatrix(1, n, 1), randMatrix(1, n+3, 2)
		var want float64
		for i := range x {
			want += float64(x[i]) * float64(y[i])
		}
		if got := qrDot(x, y); math.Abs(float64(got)-want) > 1e-5*float64(n+1) {
			t.Errorf("n %d: dot %g, want %g", n, got, want)
		}
		y2 := append([]float32{}, y...)
		qrAxpy(0.5, x, y2)
		for i := range y2 {
			w := y[i]
			if i < n {
				w += 0.5 * x[i]
			}
			if math.Abs(float64(y2[i]-w)) > 1e-6 {
				t.Fatalf("n %d: axpy[%d] = %g, want %g", n, i, y2[i], w)
			}
		}
	}
}

// TestQR: Q has orthonormal columns spanning y's, also for a rank-deficient
// y, and matches gonum's (LAPACK's) Householder QR up to float32 rounding.
func TestQR(t *testing.T) {
	for _, tc := range []struct{ m, n, rank int }{{1, 1, 1}, {50, 7, 7}, {300, 74, 74}, {200, 30, 5}, {40, 10, 0}} {
		var y []float32
		switch tc.rank {
		case tc.n:
			y = randMatrix(tc.m, tc.n, 4)
		case 0:
			y = make([]float32, tc.m*tc.n)
		default:
			y = lowRankMatrix(tc.m, tc.n, tc.rank, 4)
		}
		q := append([]float32{}, y...)
		var qr svdQR
		r := make([]float32, tc.n*tc.n)
		if err := qr.factor(q, tc.m, tc.n, r); err != nil {
			t.Fatal(err)
		}
		// Q·R = y, R upper triangular.
		for i := 0; i < tc.m; i++ {
			for j := 0; j < tc.n; j++ {
				var x float64
				for p := 0; p < tc.n; p++ {
					if p > j && r[p*tc.n+j] != 0 {
						t.Fatalf("%v: R[%d][%d] = %g below the diagonal", tc, p, j, r[p*tc.n+j])
					}
					x += float64(q[i*tc.n+p]) * float64(r[p*tc.n+j])
				}
				if math.Abs(x-float64(y[i*tc.n+j])) > 1e-4*(1+math.Abs(float64(y[i*tc.n+j]))) {
					t.Fatalf("%v: (QR)[%d][%d] = %g, y %g", tc, i, j, x, y[i*tc.n+j])
				}
			}
		}
		for a := 0; a < tc.n; a++ {
			for b := 0; b < tc.n; b++ {
				var d float64
				for i := 0; i < tc.m; i++ {
					d += float64(q[i*tc.n+a]) * float64(q[i*tc.n+b])
				}
				if want := float64(b2i(a == b)); math.Abs(d-want) > 1e-5 {
					t.Fatalf("%v: QᵀQ[%d][%d] = %g", tc, a, b, d)
				}
			}
		}
		if tc.rank == 0 || tc.rank < tc.n {
			continue
		}
		d := make([]float64, len(y))
		for i, v := range y {
			d[i] = float64(v)
		}
		var ref mat.QR
		ref.Factorize(mat.NewDense(tc.m, tc.n, d))
		var full mat.Dense
		ref.QTo(&full)
		for i := 0; i < tc.m; i++ {
			for j := 0; j < tc.n; j++ {
				if math.Abs(full.At(i, j)-float64(q[i*tc.n+j])) > 1e-4 {
					t.Fatalf("%v: Q[%d][%d] = %g, gonum %g", tc, i, j, q[i*tc.n+j], full.At(i, j))
				}
			}
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestTranspose(t *testing.T) {
	for _, sh := range [][2]int{{1, 1}, {3, 70}, {33, 65}, {600, 500}} {
		m, n := sh[0], sh[1]
		a := randMatrix(m, n, 3)
		at := make([]float32, n*m)
		if !transpose(at, a, m, n) {
			t.Fatalf("%dx%d: finite values reported non-finite", m, n)
		}
		// A NaN or Inf anywhere (full tile or edge) is reported.
		for _, pos := range []int{0, len(a) / 2, len(a) - 1} {
			for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
				b := append([]float32{}, a...)
				b[pos] = bad
				if transpose(make([]float32, n*m), b, m, n) {
					t.Fatalf("%dx%d: %g at %d not reported", m, n, bad, pos)
				}
			}
		}
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				if at[j*m+i] != a[i*n+j] {
					t.Fatalf("%dx%d: at[%d][%d] != a[%d][%d]", m, n, j, i, i, j)
				}
			}
		}
	}
}

// gemmKernelRef is a plain-Go micro-kernel: the reference for the SIMD one
// and, in TestGemm, a stand-in that runs the packed path of gemm in any build.
func gemmKernelRef(kc int, a *[gemmMR][]float32, bp []float32, tile *[gemmMR * gemmNR]float32) {
	a0, a1, a2, a3 := a[0][:kc], a[1][:kc], a[2][:kc], a[3][:kc]
	bp = bp[:kc*gemmNR]
	for j0 := 0; j0 < gemmNR; j0 += 4 {
		var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float32
		for t := 0; t < kc; t++ {
			b := (*[4]float32)(bp[t*gemmNR+j0:])
			x0, x1, x2, x3 := a0[t], a1[t], a2[t], a3[t]
			b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
			c00 += x0 * b0
			c01 += x0 * b1
			c02 += x0 * b2
			c03 += x0 * b3
			c10 += x1 * b0
			c11 += x1 * b1
			c12 += x1 * b2
			c13 += x1 * b3
			c20 += x2 * b0
			c21 += x2 * b1
			c22 += x2 * b2
			c23 += x2 * b3
			c30 += x3 * b0
			c31 += x3 * b1
			c32 += x3 * b2
			c33 += x3 * b3
		}
		tile[0*gemmNR+j0], tile[0*gemmNR+j0+1], tile[0*gemmNR+j0+2], tile[0*gemmNR+j0+3] = c00, c01, c02, c03
		tile[1*gemmNR+j0], tile[1*gemmNR+j0+1], tile[1*gemmNR+j0+2], tile[1*gemmNR+j0+3] = c10, c11, c12, c13
		tile[2*gemmNR+j0], tile[2*gemmNR+j0+1], tile[2*gemmNR+j0+2], tile[2*gemmNR+j0+3] = c20, c21, c22, c23
		tile[3*gemmNR+j0], tile[3*gemmNR+j0+1], tile[3*gemmNR+j0+2], tile[3*gemmNR+j0+3] = c30, c31, c32, c33
	}
}

// relErr is ‖A − U·diag(s)·Vᵀ‖_F/‖A‖_F in float64.
func relErr(a []float32, m, n int, u, s, vt []float32) float64 {
	k := len(s)
	var num, den float64
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var x float64
			for r := 0; r < k; r++ {
				x += float64(u[i*k+r]) * float64(s[r]) * float64(vt[r*n+j])
			}
			d := float64(a[i*n+j]) - x
			num += d * d
			den += float64(a[i*n+j]) * float64(a[i*n+j])
		}
	}
	return math.Sqrt(num / den)
}

// lowRankMatrix returns an exactly rank-r m×n matrix X·Y.
func lowRankMatrix(m, n, r int, seed uint64) []float32 {
	x := randMatrix(m, r, seed)
	y := randMatrix(r, n, seed+1)
	a := make([]float32, m*n)
	gemm(m, n, r, x, r, y, n, a, n)
	return a
}

func TestRandomizedSVDExactRank(t *testing.T) {
	m, n := 300, 200
	a := lowRankMatrix(m, n, 8, 7)
	u, s, vt, err := RandomizedSVD(a, m, n, 8, 10, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(u) != m*8 || len(s) != 8 || len(vt) != 8*n {
		t.Fatalf("shapes: u %d, s %d, vt %d", len(u), len(s), len(vt))
	}
	if e := relErr(a, m, n, u, s, vt); e >= 1e-4 {
		t.Errorf("rank-8 matrix recovered with relative error %g, want < 1e-4", e)
	}
	for i := 1; i < len(s); i++ {
		if s[i] > s[i-1] {
			t.Errorf("singular values not descending: %v", s)
		}
	}
	// U's columns and Vᵀ's rows are orthonormal.
	for p := 0; p < 8; p++ {
		for q := 0; q < 8; q++ {
			var du, dv float64
			for i := 0; i < m; i++ {
				du += float64(u[i*8+p]) * float64(u[i*8+q])
			}
			for j := 0; j < n; j++ {
				dv += float64(vt[p*n+j]) * float64(vt[q*n+j])
			}
			want := 0.0
			if p == q {
				want = 1
			}
			if math.Abs(du-want) > 1e-4 || math.Abs(dv-want) > 1e-4 {
				t.Fatalf("UᵀU[%d][%d] = %g, VᵀV[%d][%d] = %g, want %g", p, q, du, p, q, dv, want)
			}
		}
	}
	// Same seed, same result; the rank-8 tail of a rank-10 run is ~0.
	u2, s2, vt2, _ := RandomizedSVD(a, m, n, 8, 10, 2, 1)
	if fmt.Sprint(u2, s2, vt2) != fmt.Sprint(u, s, vt) {
		t.Error("RandomizedSVD is not deterministic for a fixed seed")
	}
	_, s10, _, _ := RandomizedSVD(a, m, n, 10, 5, 1, 2)
	if s10[8] > 1e-4*s10[0] {
		t.Errorf("rank-8 matrix has σ₉ = %g (σ₁ = %g)", s10[8], s10[0])
	}
}

// TestRandomizedSVDNearOptimal: on a Gaussian matrix (flat spectrum, the
// hard case) the rank-k error is within 5% of the optimal truncated SVD's,
// computed from gonum's full SVD.
func TestRandomizedSVDNearOptimal(t *testing.T) {
	m, n := 200, 120
	a := randMatrix(m, n, 42)
	d := make([]float64, m*n)
	var normSq float64
	for i, v := range a {
		d[i] = float64(v)
		normSq += d[i] * d[i]
	}
	var full mat.SVD
	if !full.Factorize(mat.NewDense(m, n, d), mat.SVDNone) {
		t.Fatal("gonum SVD failed")
	}
	sv := full.Values(nil)
	for _, k := range []int{5, 20, 60} {
		rest := 0.0
		for _, v := range sv[k:] {
			rest += v * v
		}
		opt := math.Sqrt(rest / normSq)
		u, s, vt, err := RandomizedSVD(a, m, n, k, 10, 2, 3)
		if err != nil {
			t.Fatal(err)
		}
		got := relErr(a, m, n, u, s, vt)
		t.Logf("rank %d: randomized %.5f, optimal %.5f (ratio %.4f)", k, got, opt, got/opt)
		if got > 1.05*opt {
			t.Errorf("rank %d: error %g is more than 5%% above the optimal %g", k, got, opt)
		}
		if pred := LowRankError(s, k, normSq); math.Abs(pred-got) > 1e-4 {
			t.Errorf("rank %d: LowRankError %g, measured %g", k, pred, got)
		}
	}
}

func TestRandomizedSVDErrors(t *testing.T) {
	a := randMatrix(10, 6, 1)
	nan := append([]float32{}, a...)
	nan[13] = float32(math.NaN())
	cases := map[string]func() error{
		"short":       func() error { _, _, _, err := RandomizedSVD(a[:59], 10, 6, 2, 2, 1, 0); return err },
		"zero rows":   func() error { _, _, _, err := RandomizedSVD(nil, 0, 6, 1, 2, 1, 0); return err },
		"rank 0":      func() error { _, _, _, err := RandomizedSVD(a, 10, 6, 0, 2, 1, 0); return err },
		"rank > min":  func() error { _, _, _, err := RandomizedSVD(a, 10, 6, 7, 2, 1, 0); return err },
		"neg over":    func() error { _, _, _, err := RandomizedSVD(a, 10, 6, 2, -1, 1, 0); return err },
		"neg power":   func() error { _, _, _, err := RandomizedSVD(a, 10, 6, 2, 2, -1, 0); return err },
		"nan":         func() error { _, _, _, err := RandomizedSVD(nan, 10, 6, 2, 2, 1, 0); return err },
		"huge matrix": func() error { _, _, _, err := RandomizedSVD(a, 1<<40, 1<<40, 2, 2, 1, 0); return err },
	}
	for name, f := range cases {
		err := f()
		if err == nil || !strings.HasPrefix(err.Error(), "vsdb: ") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if err := cases["nan"](); !strings.Contains(err.Error(), "index 13") {
		t.Errorf("nan: %v does not name index 13", err)
	}
	// Full rank with oversampling capped at min(m, n) works.
	u, s, vt, err := RandomizedSVD(a, 10, 6, 6, 10, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if e := relErr(a, 10, 6, u, s, vt); e > 1e-5 {
		t.Errorf("full-rank decomposition error %g", e)
	}
	// An all-zero matrix decomposes to zero singular values.
	_, s, _, err = RandomizedSVD(make([]float32, 60), 10, 6, 3, 2, 1, 0)
	if err != nil || s[0] != 0 {
		t.Errorf("zero matrix: s = %v, err = %v", s, err)
	}
}
