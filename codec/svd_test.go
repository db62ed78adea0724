package codec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
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

// forEachGemm runs f with each product this machine can run: the build's
// (the assembly kernel and packing where the CPU has AVX2 and FMA), the
// packed path with the plain-Go reference kernel and packing, and gonum's
// blas32.Gemm. It sets GOMAXPROCS to 3 meanwhile, so the products split
// their work (unevenly) on any machine.
func forEachGemm(t *testing.T, f func(t *testing.T)) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	type impl struct {
		name   string
		kernel func(int, *[gemmMR][]float32, []float32, *[gemmMR * gemmNR]float32)
		pack   func([]float32, []float32, int, int, int)
	}
	kernel, pack := gemmKernel, packPanels
	defer func() { gemmKernel, packPanels = kernel, pack }()
	impls := []impl{{GemmKernel(), kernel, pack}, {"packed-ref", gemmKernelRef, nil}}
	if kernel != nil {
		impls = append(impls, impl{"gonum", nil, nil})
	}
	for _, im := range impls {
		gemmKernel, packPanels = im.kernel, im.pack
		t.Run(im.name, f)
	}
}

// gemmShapes are the (m, n, k) of the gemm tests: every sliver remainder
// (m mod 6) and many panel remainders (n mod 16) at inner lengths around
// the kernel's 4-step unrolling, then products with several k blocks,
// several panel blocks, and both ways of splitting the work.
func gemmShapes() [][3]int {
	var shapes [][3]int
	for m := 1; m <= 13; m++ {
		for _, n := range []int{1, 8, 15, 16, 17, 33} {
			for _, k := range []int{1, 3, 4, 5, 9} {
				shapes = append(shapes, [3]int{m, n, k})
			}
		}
	}
	return append(shapes, [][3]int{{2, 40, 0}, {4, 16, 256}, {64, 74, 600}, {130, 3, 513}, {70, 90, 20},
		{5, 17, 2100}, {9, 300, 1500}, {6, 520, 40}, {7, 2000, 64}, // several k blocks; several panel blocks
		{20, 700, 300}, {500, 40, 200}, {20, 400, 1100}}...) // parallel by panels, by rows
}

func TestGemm(t *testing.T) {
	forEachGemm(t, func(t *testing.T) {
		for _, sh := range gemmShapes() {
			m, n, k := sh[0], sh[1], sh[2]
			// Strides wider than the rows check lda/ldb/ldc are honoured.
			lda, ldb, ldc := k+3, n+1, n+2
			a := randMatrix(m, lda, uint64(m))
			b := randMatrix(max(k, 1), ldb, uint64(n))
			c := randMatrix(m, ldc, 5) // garbage gemm must overwrite
			gemm(m, n, k, a, lda, b, ldb, c, ldc)
			want := naiveGemm(m, n, k, a, lda, b, ldb)
			c0 := randMatrix(m, ldc, 5)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					got := float64(c[i*ldc+j])
					if math.Abs(got-want[i*n+j]) > 1e-5*float64(k+1) {
						t.Fatalf("%dx%dx%d: c[%d][%d] = %g, want %g", m, n, k, i, j, got, want[i*n+j])
					}
				}
				for j := n; j < ldc; j++ { // past n untouched
					if c[i*ldc+j] != c0[i*ldc+j] {
						t.Fatalf("%dx%dx%d: gemm wrote past column n", m, n, k)
					}
				}
			}
		}
	})
}

// TestGemmAtB checks c = aᵀ·b against the naive product with aᵀ formed.
func TestGemmAtB(t *testing.T) {
	forEachGemm(t, func(t *testing.T) {
		for _, sh := range [][3]int{{1, 1, 1}, {7, 5, 3}, {100, 74, 300}, {300, 74, 100}, {600, 13, 1100}, {33, 17, 2100}} {
			m, n, k := sh[0], sh[1], sh[2]
			lda := m + 5
			a := randMatrix(k, lda, 7)
			b := randMatrix(k, n, 8)
			at := make([]float32, m*k)
			for i := 0; i < k; i++ {
				for j := 0; j < m; j++ {
					at[j*k+i] = a[i*lda+j]
				}
			}
			c := randMatrix(m, n, 9)
			gemmAtB(m, n, k, a, lda, b, c)
			want := naiveGemm(m, n, k, at, k, b, n)
			for i, w := range want {
				if math.Abs(float64(c[i])-w) > 1e-5*float64(k+1) {
					t.Fatalf("%dx%dx%d: c[%d] = %g, want %g", m, n, k, i, c[i], w)
				}
			}
		}
	})
}

// TestGemmKernels compares the build's micro-kernel (the AVX2 assembly
// where the CPU has it) with the plain-Go reference, at every inner length
// up to 70 and around powers of two, on rows at unaligned addresses: with
// small integers, whose sums are exact, the tiles must be equal; with
// Gaussian values, within float32 rounding of the sum of |terms|.
func TestGemmKernels(t *testing.T) {
	t.Logf("product: %s", GemmKernel())
	if gemmKernel == nil {
		t.Skip("no micro-kernel on this CPU or build")
	}
	kcs := []int{}
	for kc := 0; kc <= 70; kc++ {
		kcs = append(kcs, kc)
	}
	kcs = append(kcs, 127, 128, 129, 255, 256, 257, 1023, 1024)
	r := rand.New(rand.NewPCG(3, 4))
	for _, integers := range []bool{true, false} {
		val := func() float32 {
			if integers {
				return float32(r.IntN(17) - 8)
			}
			return float32(r.NormFloat64())
		}
		for _, kc := range kcs {
			for rows := 1; rows <= gemmMR; rows++ {
				var a [gemmMR][]float32
				zero := make([]float32, kc)
				for i := range a {
					if i >= rows { // missing rows of the last sliver
						a[i] = zero
						continue
					}
					off := r.IntN(8) // unaligned starts
					row := make([]float32, off+kc+r.IntN(3))
					for j := range row {
						row[j] = val()
					}
					a[i] = row[off:]
				}
				off := r.IntN(8)
				bp := make([]float32, off+kc*gemmNR)
				for j := range bp {
					bp[j] = val()
				}
				bp = bp[off:]
				var got, want [gemmMR * gemmNR]float32
				for i := range got {
					got[i] = float32(math.NaN()) // must be overwritten
				}
				gemmKernel(kc, &a, bp, &got)
				gemmKernelRef(kc, &a, bp, &want)
				for i := range got {
					rr, j := i/gemmNR, i%gemmNR
					var mag float64
					for tt := 0; tt < kc; tt++ {
						mag += math.Abs(float64(a[rr][tt]) * float64(bp[tt*gemmNR+j]))
					}
					tol := 2 * float64(kc) * 0x1p-24 * mag
					if integers {
						tol = 0
					}
					if d := math.Abs(float64(got[i] - want[i])); !(d <= tol) {
						t.Fatalf("integers %v, kc %d, rows %d: tile[%d][%d] = %g, reference %g", integers, kc, rows, rr, j, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestPackB compares packB with and without the build's panel packing
// (assembly where the CPU has it), with full and partial panels.
func TestPackB(t *testing.T) {
	if packPanels == nil {
		t.Skip("no assembly packing on this CPU or build")
	}
	pack := packPanels
	defer func() { packPanels = pack }()
	for _, tc := range []struct{ n, ldb, k, k0, kc, p0, p1 int }{
		{16, 16, 1, 0, 1, 0, 1}, {74, 80, 300, 7, 200, 0, 5}, {74, 74, 50, 0, 50, 4, 5}, {4096, 4100, 20, 3, 17, 10, 16}, {40, 41, 9, 1, 8, 1, 3},
	} {
		b := randMatrix(tc.k, tc.ldb, 1)
		got := randMatrix(1, tc.kc*(tc.p1-tc.p0)*gemmNR, 2)
		want := randMatrix(1, len(got), 3)
		packPanels = pack
		packB(got, b, tc.ldb, tc.k0, tc.kc, tc.p0, tc.p1, tc.n)
		packPanels = nil
		packB(want, b, tc.ldb, tc.k0, tc.kc, tc.p0, tc.p1, tc.n)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%+v: bp[%d] = %g, want %g", tc, i, got[i], want[i])
			}
		}
	}
}

// TestQRVectorOps checks the QR's dot and axpy (the build's, AVX2 assembly
// where the CPU has it, and gonum's) against float64 loops, at every
// length up to 70 and a few longer ones, from unaligned starts.
func TestQRVectorOps(t *testing.T) {
	ns := []int{100, 4095, 4096, 4097}
	for n := 0; n <= 70; n++ {
		ns = append(ns, n)
	}
	for _, ops := range []struct {
		name string
		dot  func(x, y []float32) float32
		axpy func(alpha float32, x, y []float32)
	}{{"build", qrDot, qrAxpy}, {"gonum", qrDotGonum, qrAxpyGonum}} {
		for _, n := range ns {
			x, y := randMatrix(1, n+1, uint64(n))[1:], randMatrix(1, n+3, 2)
			var want, mag float64
			for i := range x {
				want += float64(x[i]) * float64(y[i])
				mag += math.Abs(float64(x[i]) * float64(y[i]))
			}
			if got := ops.dot(x, y); math.Abs(float64(got)-want) > 2*float64(n)*0x1p-24*mag {
				t.Errorf("%s: n %d: dot %g, want %g", ops.name, n, got, want)
			}
			y2 := append([]float32{}, y...)
			ops.axpy(0.5, x, y2)
			for i := range y2 {
				w := float64(y[i])
				if i < n {
					w += 0.5 * float64(x[i])
				}
				if math.Abs(float64(y2[i])-w) > 0x1p-24*math.Abs(w) {
					t.Fatalf("%s: n %d: axpy[%d] = %g, want %g", ops.name, n, i, y2[i], w)
				}
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

// gemmKernelRef is a plain-Go micro-kernel: the reference for the
// assembly one and, in TestGemm, a stand-in that runs the packed path of
// gemm in any build.
func gemmKernelRef(kc int, a *[gemmMR][]float32, bp []float32, tile *[gemmMR * gemmNR]float32) {
	bp = bp[:kc*gemmNR]
	for r := 0; r < gemmMR; r++ {
		ar := a[r][:kc]
		var acc [gemmNR]float32
		for t, x := range ar {
			b := (*[gemmNR]float32)(bp[t*gemmNR:])
			for j := range acc {
				acc[j] += x * b[j]
			}
		}
		copy(tile[r*gemmNR:], acc[:])
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
