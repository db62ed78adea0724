package codec

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// RandomizedSVD returns a rank-k approximation A ≈ U·diag(s)·Vᵀ of the
// row-major m×n matrix a, by the randomized range finder of Halko,
// Martinsson and Tropp ("Finding structure with randomness", 2011,
// algorithms 4.4 and 5.1):
//
//	Ω  = n×l Gaussian test matrix, l = min(k+oversample, m, n), from seed
//	Y  = A·Ω,  Q = qr(Y)
//	q times (powerIters):  Q = qr(Aᵀ·Q),  Q = qr(A·Q)
//	Bᵀ = Aᵀ·Q            (B = Qᵀ·A is l×n)
//	B  = Ub·diag(s)·Vᵀ    (via Bᵀ = Qz·Rz and gonum's mat.SVD of Rzᵀ)
//	U  = Q·Ub, and keep the first k columns of U, values of s, rows of Vᵀ
//
// u is m×k, s has k values in descending order, vt is k×n, all row-major.
// The large products run in float32 (gemm and gemmAtB, see svd_gemm.go;
// both read A in place, in order, and Aᵀ is never formed), as do the QRs
// (Householder, svdQR); the SVD of the small l×l
// triangle (gonum mat.SVD) runs in float64. The result depends only on the
// inputs and seed (and the summation order of the float32 products, which
// is fixed for a given build). A needs every value finite.
//
// With Q orthonormal, ‖A − U·diag(s)·Vᵀ‖²_F = ‖A‖²_F − Σ s_i², so the
// error of every rank up to k follows from s and ‖A‖_F (LowRankError).
func RandomizedSVD(a []float32, m, n, rank, oversample, powerIters int, seed uint64) (u []float32, s []float32, vt []float32, err error) {
	if err := checkShape("randomized SVD", a, m, n); err != nil {
		return nil, nil, nil, err
	}
	if rank < 1 || rank > min(m, n) {
		return nil, nil, nil, fmt.Errorf("vsdb: randomized SVD: rank %d outside 1..%d for a %d×%d matrix", rank, min(m, n), m, n)
	}
	if oversample < 0 || powerIters < 0 || powerIters > 64 {
		return nil, nil, nil, fmt.Errorf("vsdb: randomized SVD: oversample %d and power iterations %d must be ≥ 0 (iterations ≤ 64)", oversample, powerIters)
	}
	l := min(rank+oversample, m, n)
	svdPhase("check")

	omega := make([]float32, n*l)
	rng := rand.New(rand.NewPCG(seed, 0x76736462)) // "vsdb"
	for i := range omega {
		omega[i] = float32(rng.NormFloat64())
	}
	svdPhase("omega")

	var qr svdQR
	y := make([]float32, m*l)
	z := make([]float32, n*l)
	gemm(m, l, n, a, n, omega, l, y, l)
	svdPhase("gemm")
	omega = nil
	// A non-finite value in A makes its whole row of Y non-finite (Ω has
	// no zeros), so A is only scanned when Y is not finite: to name the
	// first bad value, or else (A finite, the product overflowed) to let
	// the QR report it.
	if !allFinite(y) {
		if err := checkMatrix("randomized SVD", a, m, n); err != nil {
			return nil, nil, nil, err
		}
	}
	if err := qr.orth(y, m, l); err != nil {
		return nil, nil, nil, err
	}
	svdPhase("qr")
	for it := 0; it < powerIters; it++ {
		gemmAtB(n, l, m, a, n, y, z)
		svdPhase("gemm")
		if err := qr.orth(z, n, l); err != nil {
			return nil, nil, nil, err
		}
		svdPhase("qr")
		gemm(m, l, n, a, n, z, l, y, l)
		svdPhase("gemm")
		if err := qr.orth(y, m, l); err != nil {
			return nil, nil, nil, err
		}
		svdPhase("qr")
	}
	// z = Bᵀ = Aᵀ·Q (n×l). Rather than gonum's SVD of the l×n B (34 ms
	// at 74×4096), factor z = Qz·Rz (float32 Householder, as numpy's
	// float32 SVD works in float32 too), take the SVD of the small l×l
	// Rzᵀ = Ur·diag(s)·Vrᵀ in float64, and B = Ur·diag(s)·(Qz·Vr)ᵀ.
	gemmAtB(n, l, m, a, n, y, z)
	svdPhase("gemm")
	rz := make([]float32, l*l)
	if err := qr.factor(z, n, l, rz); err != nil {
		return nil, nil, nil, err
	}
	rt := mat.NewDense(l, l, nil)
	for i := 0; i < l; i++ {
		for j := i; j < l; j++ {
			rt.Set(j, i, float64(rz[i*l+j])) // Rzᵀ
		}
	}
	var svd mat.SVD
	if !svd.Factorize(rt, mat.SVDFull) {
		return nil, nil, nil, fmt.Errorf("vsdb: randomized SVD: the SVD of the %d×%d projected matrix did not converge", l, l)
	}
	var ub, vr mat.Dense
	svd.UTo(&ub) // l×l
	svd.VTo(&vr) // l×l
	sv := svd.Values(nil)
	svdPhase("smallsvd")

	k := rank
	s = make([]float32, k)
	for i := range s {
		s[i] = float32(sv[i])
	}
	vrk := make([]float32, l*k)
	ubk := make([]float32, l*k)
	for i := 0; i < l; i++ {
		for j := 0; j < k; j++ {
			vrk[i*k+j] = float32(vr.At(i, j))
			ubk[i*k+j] = float32(ub.At(i, j))
		}
	}
	v := make([]float32, n*k) // V = Qz·Vr, n×k
	gemm(n, k, l, z, l, vrk, k, v, k)
	vt = make([]float32, k*n)
	transpose(vt, v, n, k)
	u = make([]float32, m*k)
	gemm(m, k, l, y, l, ubk, k, u, k)
	svdPhase("U")
	return u, s, vt, nil
}

// svdTrace, when set (by benchmarks), is called at the end of each phase of
// RandomizedSVD with the phase's name.
var svdTrace func(phase string)

func svdPhase(name string) {
	if svdTrace != nil {
		svdTrace(name)
	}
}

// LowRankError is the relative Frobenius error sqrt((‖A‖² − Σ_{i<k} s_i²)/‖A‖²)
// of keeping the first k of the singular values s of an orthogonal
// projection of A (as RandomizedSVD returns), given normSq = ‖A‖²_F. It is
// 0 when normSq is 0. With float32 singular values the difference resolves
// errors only down to about sqrt(2^-24) ≈ 2.4e-4.
func LowRankError(s []float32, k int, normSq float64) float64 {
	if normSq == 0 {
		return 0
	}
	rest := normSq
	for _, v := range s[:min(k, len(s))] {
		rest -= float64(v) * float64(v)
	}
	return math.Sqrt(max(0, rest) / normSq)
}

// checkShape checks a holds an m×n matrix.
func checkShape(what string, a []float32, m, n int) error {
	if m < 1 || n < 1 || m > math.MaxInt32 || n > math.MaxInt32 || int64(m)*int64(n) != int64(len(a)) {
		return fmt.Errorf("vsdb: %s: %d values do not form a %d×%d matrix", what, len(a), m, n)
	}
	return nil
}

// allFinite reports whether no value of a is NaN or ±Inf.
func allFinite(a []float32) bool {
	for _, v := range a {
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
			return false
		}
	}
	return true
}

// checkMatrix checks a holds an m×n matrix of finite values.
func checkMatrix(what string, a []float32, m, n int) error {
	if err := checkShape(what, a, m, n); err != nil {
		return err
	}
	for i, v := range a {
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 { // NaN or ±Inf
			return fmt.Errorf("vsdb: %s: value %g at index %d (row %d, column %d) is not finite", what, v, i, i/n, i%n)
		}
	}
	return nil
}

// svdQR orthonormalises the columns of a tall float32 matrix in place: a
// Householder QR in float32, as LAPACK's sgeqr2 and sorg2r (the same
// reflectors and sign convention), on a column-major copy so that every
// reflector is applied with contiguous dot products and axpys (AVX2+FMA
// assembly where the CPU has both, else gonum blas32). gonum's float64
// Dgeqrf+Dorgqr took 16–22 ms for the 4096×74 blocks of a rank-64
// decomposition (five per call, a sixth for Bᵀ); this takes about 5
// (AVX2). It keeps its buffers between calls.
type svdQR struct {
	ct, tau []float32
}

// orth replaces y (rows×cols, row-major, rows ≥ cols) by the Q of its thin
// QR factorisation. A rank-deficient y still gives orthonormal columns.
func (q *svdQR) orth(y []float32, rows, cols int) error { return q.factor(y, rows, cols, nil) }

// factor is orth that also sets r (cols×cols, row-major), if not nil, to
// the upper-triangular R with y = Q·R.
func (q *svdQR) factor(y []float32, rows, cols int, r []float32) error {
	if cap(q.ct) < rows*cols {
		q.ct = make([]float32, rows*cols)
	}
	if cap(q.tau) < cols {
		q.tau = make([]float32, cols)
	}
	ct, tau := q.ct[:rows*cols], q.tau[:cols]
	transpose(ct, y, rows, cols) // column j is ct[j*rows:(j+1)*rows]
	col := func(j int) []float32 { return ct[j*rows : (j+1)*rows] }

	// Factor: reflector j zeroes column j below the diagonal; its vector
	// (with an implicit 1 on the diagonal) is kept below the diagonal.
	for j := 0; j < cols; j++ {
		x := col(j)[j:]
		alpha := float64(x[0])
		var ss float64
		for _, v := range x[1:] {
			ss += float64(v) * float64(v)
		}
		if ss == 0 {
			tau[j] = 0 // H = I
			continue
		}
		beta := -math.Copysign(math.Sqrt(alpha*alpha+ss), alpha)
		tau[j] = float32((beta - alpha) / beta)
		qrScal(float32(1/(alpha-beta)), x[1:])
		x[0] = 1
		qrReflect(ct, rows, j, j+1, cols, tau[j])
		x[0] = float32(beta)
	}
	if r != nil {
		for i := 0; i < cols; i++ {
			clear(r[i*cols : i*cols+i])
			for j := i; j < cols; j++ {
				r[i*cols+j] = col(j)[i]
			}
		}
	}
	// Form Q = H_0 … H_{cols-1}·[I; 0] in place, last reflector first.
	for i := cols - 1; i >= 0; i-- {
		ci := col(i)
		if i < cols-1 {
			ci[i] = 1
			qrReflect(ct, rows, i, i+1, cols, tau[i])
		}
		qrScal(-tau[i], ci[i+1:])
		ci[i] = 1 - tau[i]
		clear(ci[:i])
	}
	transpose(y[:rows*cols], ct, cols, rows)
	for _, v := range y[:rows*cols] {
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
			return fmt.Errorf("vsdb: randomized SVD: QR of a %d×%d block produced non-finite values", rows, cols)
		}
	}
	return nil
}

// qrReflect applies the reflector I − tau·v·vᵀ, v = column j of the
// column-major ct from row j down, to columns c0..c1 (rows j and below).
// (Splitting the columns across two goroutines made a 4096×74 QR slower:
// 9–11 ms against 8.5.)
func qrReflect(ct []float32, rows, j, c0, c1 int, tau float32) {
	v := ct[j*rows+j : (j+1)*rows]
	for c := c0; c < c1; c++ {
		cc := ct[c*rows+j : (c+1)*rows]
		qrAxpy(-tau*qrDot(v, cc), v, cc)
	}
}
