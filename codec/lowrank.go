package codec

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Low-rank encoding of a whole m×n float matrix (not per chunk): A ≈ U·Vᵀ
// with U = U_k·diag(s_k) (m×k) and Vᵀ = V_kᵀ (k×n) from RandomizedSVD, both
// stored as 16-bit floats (or, for factors a planner concatenated when it
// fused low-rank inputs, as float32: EncodeLowRankFactors). It costs 16·k·(m+n) bits against 32·m·n for the
// float32 matrix and 16·m·n for f16, so it saves space only below rank
// 2mn/(m+n) (against float32; mn/(m+n), half of min(m,n) for a square
// matrix, against f16), and keeps accuracy only where the spectrum decays:
// raw transformer weights look like random matrices and lose badly;
// fine-tune deltas are where it pays.
//
// Layout (version 1):
//
//	+------+-------+--------+--------+--------+------------------+------------------+
//	| 0x01 | dtype | m u32  | n u32  | k u32  | U·diag(s): m×k   | Vᵀ: k×n          |
//	|      | 1 f16 |   LE   |   LE   |   LE   | row-major, dtype | row-major, dtype |
//	|      | 2 bf16|        |        |        | (w bytes each)   | (w bytes each)   |
//	|      | 3 f32 |        |        |        |                  |                  |
//	+------+-------+--------+--------+--------+------------------+------------------+
//
// 1 ≤ k ≤ min(m, n); the factor width w is 2 for f16 and bf16 and 4 for
// f32; the total length is exactly 14 + w·k·(m+n) bytes and every stored
// factor value is finite. (Version 1 first had only dtypes 1 and 2; dtype 3
// was added without changing what 1 and 2 mean.)
const (
	lowRankVersion    = 1
	lowRankHeaderSize = 14
	lowRankF16        = 1
	lowRankBF16       = 2
	lowRankF32        = 3

	// lowRankOversample, lowRankPowerIters and lowRankSeed are the
	// RandomizedSVD settings EncodeLowRank uses; the seed is fixed so
	// encoding is deterministic.
	lowRankOversample = 10
	lowRankPowerIters = 2
	lowRankSeed       = 0x6c6f7772616e6b // "lowrank"
	// lowRankFirstTry is the first rank EncodeLowRank decomposes at when it
	// searches for a rank: enough for a LoRA-like delta (rank 8) in one
	// decomposition, and cheap when the spectrum shows at once that no rank
	// will do (raw weights: the search then stops, see lowRankHopeless).
	lowRankFirstTry = 16
)

// EncodeLowRank appends a low-rank encoding of the row-major m×n matrix a to
// dst and returns it with the achieved relative Frobenius error
// ‖A − decoded‖_F / ‖A‖_F (measured on the decoded matrix, so including the
// rounding of the factors to 16 bits).
//
// With rank > 0 it uses that rank. With rank == 0 it picks the smallest
// rank whose error is at most budget: it decomposes once at rank 16 (or
// less for small matrices), reads the error of every smaller rank off the
// singular values (LowRankError: exact for the decomposition before 16-bit
// rounding), verifies the chosen rank by decoding and moves up while
// rounding pushes it over budget; if that rank is not enough it doubles
// it, up to the largest rank below min(m,n)/2, stopping early when the
// singular values found so far show that no rank up to there can do
// (lowRankHopeless). If no rank meets budget it returns an error (and, as
// the float64, the error of the largest rank it tried), so the caller can
// store the matrix another way.
//
// The factors are stored as fp16, or as bf16 when fp16 overflows or gives a
// larger error (both are measured).
func EncodeLowRank(dst []byte, a []float32, m, n int, rank int, budget float64) ([]byte, float64, error) {
	if err := checkMatrix("low rank", a, m, n); err != nil {
		return dst, 0, err
	}
	if rank < 0 || rank > min(m, n) {
		return dst, 0, fmt.Errorf("vsdb: low rank: rank %d outside 0..%d for a %d×%d matrix", rank, min(m, n), m, n)
	}
	if rank == 0 && (math.IsNaN(budget) || budget < 0) {
		return dst, 0, fmt.Errorf("vsdb: low rank: error budget %g must be ≥ 0", budget)
	}
	var normSq float64
	for _, v := range a {
		normSq += float64(v) * float64(v)
	}
	lr := lowRankState{a: a, m: m, n: n, normSq: normSq}

	if rank > 0 {
		if err := lr.decompose(rank); err != nil {
			return dst, 0, err
		}
		return lr.finish(dst, rank)
	}

	return lr.search(dst, budget, (min(m, n)-1)/2) // ranks below min(m,n)/2
}

// EncodeLowRankWithin is EncodeLowRank with a rank budget (rank 0) that
// only looks at ranks up to maxRank: a caller that knows another encoding
// of the matrix takes fewer bytes than rank maxRank+1 would sets maxRank so
// the search stops where low rank stops paying. It fails (quickly, when the
// singular values already show no rank up to maxRank can meet budget) if
// no such rank keeps the error within budget.
func EncodeLowRankWithin(dst []byte, a []float32, m, n int, budget float64, maxRank int) ([]byte, float64, error) {
	if err := checkMatrix("low rank", a, m, n); err != nil {
		return dst, 0, err
	}
	if math.IsNaN(budget) || budget < 0 {
		return dst, 0, fmt.Errorf("vsdb: low rank: error budget %g must be ≥ 0", budget)
	}
	var normSq float64
	for _, v := range a {
		normSq += float64(v) * float64(v)
	}
	lr := lowRankState{a: a, m: m, n: n, normSq: normSq}
	return lr.search(dst, budget, min(maxRank, min(m, n)))
}

// search finds the smallest rank up to maxRank whose decoded error is
// within budget (see EncodeLowRank).
func (lr *lowRankState) search(dst []byte, budget float64, maxRank int) ([]byte, float64, error) {
	m, n, normSq := lr.m, lr.n, lr.normSq
	if maxRank < 1 {
		return dst, 0, fmt.Errorf("vsdb: low rank: a %d×%d matrix has no rank that saves space (ranks up to %d)", m, n, maxRank)
	}
	try := min(lowRankFirstTry, maxRank)
	for {
		if err := lr.decompose(try); err != nil {
			return dst, 0, err
		}
		k := 0
		for r := 1; r <= try; r++ {
			if LowRankError(lr.s, r, normSq) <= budget {
				k = r
				break
			}
		}
		if k > 0 {
			// Verify on the decoded matrix: 16-bit factors add a little.
			for ; k <= try; k++ {
				e16, err16 := lr.measure(k, lowRankF16)
				if err16 == nil && e16 <= budget {
					return lr.finish(dst, k)
				}
				eb, errb := lr.measure(k, lowRankBF16)
				if errb == nil && eb <= budget {
					return lr.finish(dst, k)
				}
				// What the rounding alone adds does not shrink with the
				// rank: if it exceeds the budget, no rank will do.
				pred := LowRankError(lr.s, k, normSq)
				floor := math.Inf(1)
				for _, e := range []float64{e16, eb} {
					if !math.IsInf(e, 1) {
						floor = min(floor, math.Sqrt(max(0, e*e-pred*pred)))
					}
				}
				if floor > budget {
					return dst, min(e16, eb), fmt.Errorf("vsdb: low rank: relative error budget %g is below what 16-bit factors keep (their rounding alone adds %.2g)", budget, floor)
				}
			}
		}
		best := LowRankError(lr.s, try, normSq)
		if try == maxRank || lowRankHopeless(lr.s, normSq, maxRank, budget) {
			return dst, best, fmt.Errorf("vsdb: low rank: no rank up to %d keeps the relative error within %g (rank %d gives %.4g)", maxRank, budget, try, best)
		}
		try = min(2*try, maxRank)
	}
}

// lowRankHopeless reports whether the singular values s (the largest
// len(s) of a matrix with squared norm normSq) show that no rank up to
// maxRank can reach budget: the singular values after the last are at most
// s[len-1], so rank maxRank leaves at least normSq − Σs² −
// (maxRank−len)·s[len-1]² of the energy. The randomized estimates are a
// little low, which makes the bound a little high, so it must exceed the
// budget by a margin (10%) before the search gives up.
func lowRankHopeless(s []float32, normSq float64, maxRank int, budget float64) bool {
	if normSq == 0 || len(s) == 0 {
		return false
	}
	rest := normSq
	for _, v := range s {
		rest -= float64(v) * float64(v)
	}
	last := float64(s[len(s)-1])
	rest -= float64(maxRank-len(s)) * last * last
	return rest > 0 && math.Sqrt(rest/normSq) > 1.1*budget
}

// lowRankState carries one decomposition through EncodeLowRank.
type lowRankState struct {
	a         []float32
	m, n      int
	normSq    float64
	u, s, vt  []float32 // from RandomizedSVD at rank len(s)
	recon     []float32 // scratch for measure
	uf, vf    []float32 // scratch for rounded factors
	lastK     int
	lastDtype byte
}

func (lr *lowRankState) decompose(k int) error {
	u, s, vt, err := RandomizedSVD(lr.a, lr.m, lr.n, k, lowRankOversample, lowRankPowerIters, lowRankSeed)
	if err != nil {
		return err
	}
	lr.u, lr.s, lr.vt = u, s, vt
	lr.lastK = 0
	return nil
}

// rounded sets lr.uf (m×k) and lr.vf (k×n) to U_k·diag(s_k) and V_kᵀ rounded
// to dtype; it fails if a value overflows the dtype.
func (lr *lowRankState) rounded(k int, dtype byte) error {
	if lr.lastK == k && lr.lastDtype == dtype {
		return nil
	}
	m, n, K := lr.m, lr.n, len(lr.s)
	lr.uf = lr.uf[:0]
	lr.vf = lr.vf[:0]
	for i := 0; i < m; i++ {
		for j := 0; j < k; j++ {
			lr.uf = append(lr.uf, lr.u[i*K+j]*lr.s[j])
		}
	}
	lr.vf = append(lr.vf, lr.vt[:k*n]...)
	for _, f := range [][]float32{lr.uf, lr.vf} {
		for i, v := range f {
			r, ok := roundFactor(v, dtype)
			if !ok {
				lr.lastK = 0
				return fmt.Errorf("vsdb: low rank: factor value %g overflows %s", v, lowRankDtypeName(dtype))
			}
			f[i] = r
		}
	}
	lr.lastK, lr.lastDtype = k, dtype
	return nil
}

// measure is the relative error of the rank-k reconstruction with factors
// rounded to dtype.
func (lr *lowRankState) measure(k int, dtype byte) (float64, error) {
	if err := lr.rounded(k, dtype); err != nil {
		return math.Inf(1), err
	}
	if len(lr.recon) != lr.m*lr.n {
		lr.recon = make([]float32, lr.m*lr.n)
	}
	gemm(lr.m, lr.n, k, lr.uf, k, lr.vf, lr.n, lr.recon, lr.n)
	return RelativeError(ErrorSums(lr.a, lr.recon)), nil
}

// finish measures rank k with both dtypes, keeps the better and appends the
// encoding.
func (lr *lowRankState) finish(dst []byte, k int) ([]byte, float64, error) {
	e16, err16 := lr.measure(k, lowRankF16)
	eb, errb := lr.measure(k, lowRankBF16)
	dtype, e := byte(lowRankF16), e16
	switch {
	case err16 != nil && errb != nil:
		return dst, 0, err16
	case err16 != nil || eb < e16:
		dtype, e = lowRankBF16, eb
	}
	if err := lr.rounded(k, dtype); err != nil {
		return dst, 0, err
	}
	start := len(dst)
	dst = castGrow(dst, lowRankHeaderSize+2*len(lr.uf)+2*len(lr.vf))
	h := dst[start:]
	h[0], h[1] = lowRankVersion, dtype
	binary.LittleEndian.PutUint32(h[2:], uint32(lr.m))
	binary.LittleEndian.PutUint32(h[6:], uint32(lr.n))
	binary.LittleEndian.PutUint32(h[10:], uint32(k))
	body := h[lowRankHeaderSize:]
	for i, v := range lr.uf {
		binary.LittleEndian.PutUint16(body[2*i:], factorBits(v, dtype))
	}
	body = body[2*len(lr.uf):]
	for i, v := range lr.vf {
		binary.LittleEndian.PutUint16(body[2*i:], factorBits(v, dtype))
	}
	return dst, e, nil
}

// roundFactor rounds v to dtype and back; ok is false on overflow.
func roundFactor(v float32, dtype byte) (float32, bool) {
	if dtype == lowRankF16 {
		h := castToF16(v)
		return castFromF16(h), h&0x7c00 != 0x7c00
	}
	b, ok := castToBF16(v)
	return castFromBF16(b), ok && b&0x7f80 != 0x7f80
}

// factorBits is the 16-bit pattern of a value already rounded to dtype.
func factorBits(v float32, dtype byte) uint16 {
	if dtype == lowRankF16 {
		return castToF16(v)
	}
	b, _ := castToBF16(v)
	return b
}

func lowRankDtypeName(dtype byte) string {
	switch dtype {
	case lowRankF16:
		return "f16"
	case lowRankF32:
		return "f32"
	}
	return "bf16"
}

// LowRankFactors returns the stored factors of a low-rank encoding: u =
// U·diag(s) (m×k) and vt = Vᵀ (k×n), row-major, so that A ≈ u·vt. A planner
// can fuse low-rank inputs in factored space: w₁·u₁·vt₁ + w₂·u₂·vt₂ =
// [w₁u₁ w₂u₂]·[vt₁; vt₂].
func LowRankFactors(enc []byte) (u, vt []float32, m, n, k int, err error) {
	m, n, k, dtype, err := lowRankHeader(enc)
	if err != nil {
		return nil, nil, 0, 0, 0, err
	}
	body := enc[lowRankHeaderSize:]
	u = make([]float32, m*k)
	vt = make([]float32, k*n)
	for _, f := range [][]float32{u, vt} {
		for i := range f {
			var v float32
			switch dtype {
			case lowRankF32:
				v = math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:]))
			case lowRankF16:
				v = castFromF16(binary.LittleEndian.Uint16(body[2*i:]))
			default:
				v = castFromBF16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			if math.IsInf(float64(v), 0) || v != v {
				return nil, nil, 0, 0, 0, fmt.Errorf("vsdb: low-rank encoding is corrupt: a factor value is not finite")
			}
			f[i] = v
		}
		body = body[lowRankWidth(dtype)*len(f):]
	}
	return u, vt, m, n, k, nil
}

// LowRankShape returns the matrix shape and rank of a low-rank encoding
// without decoding its factors.
func LowRankShape(enc []byte) (m, n, k int, err error) {
	m, n, k, _, err = lowRankHeader(enc)
	return m, n, k, err
}

// EncodeLowRankFactors appends the low-rank encoding of u (m×k) · vt (k×n)
// with the factors kept as float32, bit for bit: for factors that were not
// computed here (a planner that fused low-rank inputs by concatenating
// their factors stores the result this way, with no rounding).
func EncodeLowRankFactors(dst []byte, u, vt []float32, m, n, k int) ([]byte, error) {
	if m < 1 || n < 1 || k < 1 || k > min(m, n) || m > math.MaxInt32 || n > math.MaxInt32 ||
		int64(len(u)) != int64(m)*int64(k) || int64(len(vt)) != int64(k)*int64(n) {
		return dst, fmt.Errorf("vsdb: low rank: factors of %d and %d values do not form %d×%d and %d×%d matrices of rank ≤ min(m,n)", len(u), len(vt), m, k, k, n)
	}
	start := len(dst)
	dst = castGrow(dst, lowRankHeaderSize+4*(len(u)+len(vt)))
	h := dst[start:]
	h[0], h[1] = lowRankVersion, lowRankF32
	binary.LittleEndian.PutUint32(h[2:], uint32(m))
	binary.LittleEndian.PutUint32(h[6:], uint32(n))
	binary.LittleEndian.PutUint32(h[10:], uint32(k))
	body := h[lowRankHeaderSize:]
	for i, v := range append(u[:len(u):len(u)], vt...) {
		if math.IsInf(float64(v), 0) || v != v {
			return dst[:start], fmt.Errorf("vsdb: low rank: factor value %g is not finite", v)
		}
		binary.LittleEndian.PutUint32(body[4*i:], math.Float32bits(v))
	}
	return dst, nil
}

// lowRankWidth is the bytes per stored factor value.
func lowRankWidth(dtype byte) int {
	if dtype == lowRankF32 {
		return 4
	}
	return 2
}

// lowRankHeader parses and checks the header and total length.
func lowRankHeader(enc []byte) (m, n, k int, dtype byte, err error) {
	if len(enc) < lowRankHeaderSize {
		return 0, 0, 0, 0, fmt.Errorf("vsdb: low-rank encoding of %d bytes is shorter than its %d-byte header", len(enc), lowRankHeaderSize)
	}
	if enc[0] != lowRankVersion {
		return 0, 0, 0, 0, fmt.Errorf("vsdb: low-rank encoding has version %d, want %d", enc[0], lowRankVersion)
	}
	dtype = enc[1]
	if dtype != lowRankF16 && dtype != lowRankBF16 && dtype != lowRankF32 {
		return 0, 0, 0, 0, fmt.Errorf("vsdb: low-rank encoding has unknown factor type %d", dtype)
	}
	um := uint64(binary.LittleEndian.Uint32(enc[2:]))
	un := uint64(binary.LittleEndian.Uint32(enc[6:]))
	uk := uint64(binary.LittleEndian.Uint32(enc[10:]))
	if um == 0 || un == 0 || uk == 0 || uk > min(um, un) {
		return 0, 0, 0, 0, fmt.Errorf("vsdb: low-rank encoding has a bad shape: %d×%d at rank %d", um, un, uk)
	}
	if want := lowRankHeaderSize + uint64(lowRankWidth(dtype))*uk*(um+un); uint64(len(enc)) != want {
		return 0, 0, 0, 0, fmt.Errorf("vsdb: low-rank encoding holds %d bytes, want %d for %d×%d at rank %d", len(enc), want, um, un, uk)
	}
	return int(um), int(un), int(uk), dtype, nil
}

// DecodeLowRank sets dst (m×n, row-major) to U·Vᵀ from a low-rank encoding.
// It refuses an encoding whose header is bad, whose shape is not m×n or
// whose length does not match; it does not panic on any input.
func DecodeLowRank(dst []float32, enc []byte, m, n int) error {
	em, en, _, _, err := lowRankHeader(enc)
	if err != nil {
		return err
	}
	if em != m || en != n {
		return fmt.Errorf("vsdb: low-rank encoding is %d×%d, want %d×%d", em, en, m, n)
	}
	if int64(len(dst)) != int64(m)*int64(n) {
		return fmt.Errorf("vsdb: low rank: %d values do not hold a %d×%d matrix", len(dst), m, n)
	}
	u, vt, _, _, k, err := LowRankFactors(enc)
	if err != nil {
		return err
	}
	gemm(m, n, k, u, k, vt, n, dst, n)
	return nil
}

// MulFactors sets dst (m×n, row-major) to u (m×k) · vt (k×n), the product
// DecodeLowRank computes, for factors a caller holds (a planner fusing
// low-rank tensors by concatenating their factors).
func MulFactors(dst, u, vt []float32, m, n, k int) error {
	if m < 1 || n < 1 || k < 1 || int64(len(u)) != int64(m)*int64(k) || int64(len(vt)) != int64(k)*int64(n) || int64(len(dst)) != int64(m)*int64(n) {
		return fmt.Errorf("vsdb: low rank: %d, %d and %d values do not form %d×%d, %d×%d and %d×%d matrices", len(u), len(vt), len(dst), m, k, k, n, m, n)
	}
	gemm(m, n, k, u, k, vt, n, dst, n)
	return nil
}
