package codec

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/internal/allocbound"
)

// decayMatrix returns an m×n matrix with singular values decay^i (i ≥ 0)
// and random singular vectors, plus those values.
func decayMatrix(m, n int, decay float64, seed uint64) ([]float32, []float64) {
	r := min(m, n)
	uq, vq := randMatrix(m, r, seed), randMatrix(n, r, seed+1)
	var qr svdQR
	if err := qr.orth(uq, m, r); err != nil {
		panic(err)
	}
	if err := qr.orth(vq, n, r); err != nil {
		panic(err)
	}
	sig := make([]float64, r)
	us := make([]float32, m*r)
	for j := 0; j < r; j++ {
		sig[j] = math.Pow(decay, float64(j))
		for i := 0; i < m; i++ {
			us[i*r+j] = uq[i*r+j] * float32(sig[j])
		}
	}
	vt := make([]float32, r*n)
	transpose(vt, vq, n, r)
	a := make([]float32, m*n)
	gemm(m, n, r, us, r, vt, n, a, n)
	return a, sig
}

// checkRoundTrip decodes enc and checks the error equals the reported one.
func checkRoundTrip(t *testing.T, a []float32, m, n int, enc []byte, reported float64) []float32 {
	t.Helper()
	dec := make([]float32, m*n)
	if err := DecodeLowRank(dec, enc, m, n); err != nil {
		t.Fatalf("decode: %v", err)
	}
	got := RelativeError(ErrorSums(a, dec))
	if math.Abs(got-reported) > 1e-6 {
		t.Errorf("decoded error %g, reported %g", got, reported)
	}
	return dec
}

func TestLowRankFixedRank(t *testing.T) {
	m, n := 120, 90
	a := lowRankMatrix(m, n, 8, 21)
	var normSq float64
	for _, v := range a {
		normSq += float64(v) * float64(v)
	}
	enc, e, err := EncodeLowRank([]byte("x"), a, m, n, 8, 0)
	if err != nil {
		t.Fatal(err)
	}
	if enc[0] != 'x' {
		t.Fatal("EncodeLowRank changed dst's existing bytes")
	}
	enc = enc[1:]
	if len(enc) != 14+2*8*(m+n) {
		t.Fatalf("encoding is %d bytes, want %d", len(enc), 14+2*8*(m+n))
	}
	// Exactly rank 8: all that is left is the 16-bit rounding of the
	// factors, relative 2^-11 (f16) per value, ~3e-4 on the product.
	t.Logf("rank-8 matrix at rank 8: error %.3g, factor dtype %d", e, enc[1])
	if e > 1e-3 || enc[1] != lowRankF16 {
		t.Errorf("rank-8 matrix at rank 8: error %g (dtype %d), want < 1e-3 with f16", e, enc[1])
	}
	checkRoundTrip(t, a, m, n, enc, e)

	// On a full-rank matrix the reported error equals the unrounded one
	// (from the singular values) within the factors' fp16 rounding.
	b, _ := decayMatrix(m, n, 0.97, 5)
	normSq = 0
	for _, v := range b {
		normSq += float64(v) * float64(v)
	}
	for _, k := range []int{1, 10, 45, 90} {
		enc, e, err := EncodeLowRank(nil, b, m, n, k, 0)
		if err != nil {
			t.Fatal(err)
		}
		checkRoundTrip(t, b, m, n, enc, e)
		_, s, _, _ := RandomizedSVD(b, m, n, k, lowRankOversample, lowRankPowerIters, lowRankSeed)
		pred := LowRankError(s, k, normSq)
		// ‖A−Â‖ ≤ ‖A−A_k‖ + ‖A_k−Â‖, the last ≲ 2^-11·√2·‖A_k‖ for f16.
		if math.Abs(e-pred) > 0x1p-11*2 {
			t.Errorf("rank %d: reported %g, unrounded %g", k, e, pred)
		}
		u, vt, em, en, ek, err := LowRankFactors(enc)
		if err != nil || em != m || en != n || ek != k || len(u) != m*k || len(vt) != k*n {
			t.Fatalf("LowRankFactors: %d×%d rank %d, u %d, vt %d, err %v", em, en, ek, len(u), len(vt), err)
		}
	}
}

func TestLowRankBudget(t *testing.T) {
	m, n := 150, 100
	a, sig := decayMatrix(m, n, 0.9, 8)
	var total float64
	for _, v := range sig {
		total += v * v
	}
	for _, budget := range []float64{0.3, 0.05, 0.01, 0.007} {
		// The optimal rank: the smallest k whose tail is within budget.
		want := 0
		for k := 1; k <= len(sig); k++ {
			var tail float64
			for _, v := range sig[k:] {
				tail += v * v
			}
			if math.Sqrt(tail/total) <= budget {
				want = k
				break
			}
		}
		enc, e, err := EncodeLowRank(nil, a, m, n, 0, budget)
		if err != nil {
			t.Fatalf("budget %g: %v", budget, err)
		}
		k := int(binary.LittleEndian.Uint32(enc[10:]))
		t.Logf("budget %g: rank %d (optimal %d), error %.4g", budget, k, want, e)
		if e > budget {
			t.Errorf("budget %g: error %g over budget", budget, e)
		}
		if k < want || k > want+1 {
			t.Errorf("budget %g: chose rank %d, optimal is %d", budget, k, want)
		}
		checkRoundTrip(t, a, m, n, enc, e)
		// One rank fewer does not meet the budget.
		if k > 1 {
			if _, e1, err := EncodeLowRank(nil, a, m, n, k-1, 0); err == nil && e1 <= budget {
				t.Errorf("budget %g: rank %d also meets it (%g)", budget, k-1, e1)
			}
		}
	}
	// 0.2% needs rank 59 (0.9^59), above min(m,n)/2 = 50: refused.
	if _, best, err := EncodeLowRank(nil, a, m, n, 0, 0.002); err == nil || math.Abs(best-math.Pow(0.9, 49)) > 1e-3 {
		t.Errorf("budget 0.002: err = %v, best %g (want about 0.9^49 = %g)", err, best, math.Pow(0.9, 49))
	}
	// A Gaussian matrix needs nearly full rank for 1%: refused.
	g := randMatrix(m, n, 9)
	_, best, err := EncodeLowRank(nil, g, m, n, 0, 0.01)
	if err == nil || !strings.HasPrefix(err.Error(), "vsdb: ") || !strings.Contains(err.Error(), "no rank up to 49") {
		t.Fatalf("Gaussian matrix at 1%%: err = %v", err)
	}
	t.Logf("Gaussian: %v (best %.3g)", err, best)
	if best < 0.3 || best > 1 {
		t.Errorf("Gaussian: best error %g implausible", best)
	}
	// A budget below what 16-bit factors (and float32 singular values,
	// ~sqrt(2^-24) in LowRankError) resolve is refused, even for an exactly
	// rank-8 matrix; 1e-3 is met at rank 8.
	exact := lowRankMatrix(m, n, 8, 5)
	if _, e, err := EncodeLowRank(nil, exact, m, n, 0, 1e-6); err == nil || e > 1e-3 {
		t.Errorf("budget 1e-6 on a rank-8 matrix: err = %v (error %g)", err, e)
	}
	if enc, e, err := EncodeLowRank(nil, exact, m, n, 0, 1e-3); err != nil || binary.LittleEndian.Uint32(enc[10:]) != 8 {
		t.Errorf("budget 1e-3 on a rank-8 matrix: err = %v (error %g)", err, e)
	}
	// An all-zero matrix is rank 1 at error 0.
	enc, e, err := EncodeLowRank(nil, make([]float32, 60), 10, 6, 0, 0)
	if err != nil || e != 0 || binary.LittleEndian.Uint32(enc[10:]) != 1 {
		t.Errorf("zero matrix: e %g err %v", e, err)
	}
}

// TestLowRankBF16: factors beyond the fp16 range are stored as bf16.
func TestLowRankBF16(t *testing.T) {
	m, n := 40, 30
	a := lowRankMatrix(m, n, 3, 4)
	for i := range a {
		a[i] *= 1e5
	}
	enc, e, err := EncodeLowRank(nil, a, m, n, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	if enc[1] != lowRankBF16 {
		t.Errorf("dtype %d, want bf16 (%d) for values beyond fp16", enc[1], lowRankBF16)
	}
	if e > 0x1p-8*2 {
		t.Errorf("bf16 factors: error %g", e)
	}
	checkRoundTrip(t, a, m, n, enc, e)
}

func TestLowRankErrors(t *testing.T) {
	m, n := 20, 12
	a := lowRankMatrix(m, n, 2, 3)
	enc, _, err := EncodeLowRank(nil, a, m, n, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	mod := func(f func(b []byte)) []byte {
		b := append([]byte{}, enc...)
		f(b)
		return b
	}
	put := func(off int, v uint32) []byte {
		return mod(func(b []byte) { binary.LittleEndian.PutUint32(b[off:], v) })
	}
	cases := map[string]struct {
		enc  []byte
		m, n int
	}{
		"empty":      {nil, m, n},
		"header":     {enc[:13], m, n},
		"truncated":  {enc[:len(enc)-1], m, n},
		"trailing":   {append(append([]byte{}, enc...), 0), m, n},
		"version":    {mod(func(b []byte) { b[0] = 2 }), m, n},
		"dtype":      {mod(func(b []byte) { b[1] = 4 }), m, n},
		"f32 width":  {mod(func(b []byte) { b[1] = 3 }), m, n},
		"wrong m":    {enc, m + 1, n},
		"wrong n":    {enc, m, n - 1},
		"swapped":    {enc, n, m},
		"k=0":        {put(10, 0), m, n},
		"k>min":      {put(10, 13), m, n},
		"m=0":        {put(2, 0), m, n},
		"huge k":     {put(10, 1<<31), m, n},
		"huge m":     {put(2, 1<<31), m, n},
		"inf factor": {mod(func(b []byte) { b[14], b[15] = 0x00, 0x7c }), m, n},
		"nan factor": {mod(func(b []byte) { b[len(b)-2], b[len(b)-1] = 0x01, 0x7e }), m, n},
	}
	for name, tc := range cases {
		err := DecodeLowRank(make([]float32, max(0, tc.m*tc.n)), tc.enc, tc.m, tc.n)
		if err == nil || !strings.HasPrefix(err.Error(), "vsdb: ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if err := DecodeLowRank(make([]float32, m*n-1), enc, m, n); err == nil {
		t.Error("short dst accepted")
	}
	for name, f := range map[string]func() error{
		"shape":  func() error { _, _, err := EncodeLowRank(nil, a, m, n+1, 2, 0); return err },
		"rank":   func() error { _, _, err := EncodeLowRank(nil, a, m, n, 13, 0); return err },
		"neg":    func() error { _, _, err := EncodeLowRank(nil, a, m, n, -1, 0); return err },
		"budget": func() error { _, _, err := EncodeLowRank(nil, a, m, n, 0, math.NaN()); return err },
		"inf": func() error {
			b := append([]float32{}, a...)
			b[7] = float32(math.Inf(-1))
			_, _, err := EncodeLowRank(nil, b, m, n, 2, 0)
			return err
		},
		"tiny": func() error { _, _, err := EncodeLowRank(nil, []float32{1, 2}, 1, 2, 0, 0.5); return err },
	} {
		if err := f(); err == nil || !strings.HasPrefix(err.Error(), "vsdb: ") {
			t.Errorf("encode %s: err = %v", name, err)
		}
	}
}

func FuzzDecodeLowRank(f *testing.F) {
	a := lowRankMatrix(9, 7, 2, 1)
	for _, k := range []int{1, 2, 7} {
		enc, _, _ := EncodeLowRank(nil, a, 9, 7, k, 0)
		f.Add(enc, uint8(9), uint8(7))
	}
	f.Add([]byte{1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0x3c, 0, 0x3c}, uint8(1), uint8(1))
	f.Fuzz(func(t *testing.T, enc []byte, m, n uint8) {
		dst := make([]float32, int(m)*int(n))
		var err error
		allocbound.Check(t, "DecodeLowRank", len(enc), decodeBound(len(enc), 4*len(dst)), func() { err = DecodeLowRank(dst, enc, int(m), int(n)) })
		if err != nil {
			return
		}
		for i, v := range dst {
			if v != v {
				t.Fatalf("decoded NaN at %d", i)
			}
		}
		if _, _, _, _, _, err := LowRankFactors(enc); err != nil {
			t.Fatalf("decodes but LowRankFactors fails: %v", err)
		}
	})
}

// TestLowRankFactorsF32: EncodeLowRankFactors keeps float32 factors bit for
// bit, and decoding multiplies them out.
func TestLowRankFactorsF32(t *testing.T) {
	m, n, k := 9, 13, 3
	u, vt := randMatrix(m, k, 31), randMatrix(k, n, 32)
	u[4] = 1e30 // beyond f16 and exact in f32
	enc, err := EncodeLowRankFactors([]byte("x"), u, vt, m, n, k)
	if err != nil {
		t.Fatal(err)
	}
	enc = enc[1:]
	if len(enc) != lowRankHeaderSize+4*k*(m+n) || enc[1] != lowRankF32 {
		t.Fatalf("length %d, dtype %d", len(enc), enc[1])
	}
	gu, gvt, gm, gn, gk, err := LowRankFactors(enc)
	if err != nil || gm != m || gn != n || gk != k {
		t.Fatalf("factors: %v (%d×%d rank %d)", err, gm, gn, gk)
	}
	for i := range u {
		if gu[i] != u[i] {
			t.Fatalf("u[%d] = %g, want %g", i, gu[i], u[i])
		}
	}
	for i := range vt {
		if gvt[i] != vt[i] {
			t.Fatalf("vt[%d] = %g, want %g", i, gvt[i], vt[i])
		}
	}
	want := make([]float32, m*n)
	gemm(m, n, k, u, k, vt, n, want, n)
	got := make([]float32, m*n)
	if err := DecodeLowRank(got, enc, m, n); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("decoded[%d] = %g, want %g", i, got[i], want[i])
		}
	}
	if gm, gn, gk, err := LowRankShape(enc); err != nil || gm != m || gn != n || gk != k {
		t.Errorf("LowRankShape = %d, %d, %d, %v", gm, gn, gk, err)
	}
	for name, f := range map[string]func() error{
		"nan": func() error {
			b := append([]float32{}, u...)
			b[0] = float32(math.NaN())
			_, err := EncodeLowRankFactors(nil, b, vt, m, n, k)
			return err
		},
		"short": func() error { _, err := EncodeLowRankFactors(nil, u[1:], vt, m, n, k); return err },
		"k>min": func() error { _, err := EncodeLowRankFactors(nil, u, vt, 2, n, k); return err },
	} {
		if err := f(); err == nil || !strings.HasPrefix(err.Error(), "vsdb: ") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

// TestLowRankWithin: the rank search stops at maxRank, and gives up early
// on a matrix whose spectrum cannot reach the budget.
func TestLowRankWithin(t *testing.T) {
	m, n := 150, 100
	a, _ := decayMatrix(m, n, 0.9, 8)
	// 1% needs rank 44 (0.9^44 ≈ 0.0097).
	if _, _, err := EncodeLowRankWithin(nil, a, m, n, 0.01, 30); err == nil || !strings.Contains(err.Error(), "no rank up to 30") {
		t.Errorf("maxRank 30: err = %v", err)
	}
	enc, e, err := EncodeLowRankWithin(nil, a, m, n, 0.01, 60)
	if err != nil || e > 0.01 {
		t.Fatalf("maxRank 60: err = %v, error %g", err, e)
	}
	if k := binary.LittleEndian.Uint32(enc[10:]); k < 44 || k > 46 {
		t.Errorf("maxRank 60: rank %d, want about 44", k)
	}
	if _, _, err := EncodeLowRankWithin(nil, a, m, n, 0.01, 0); err == nil {
		t.Error("maxRank 0 accepted")
	}
}

func TestLowRankHopeless(t *testing.T) {
	cases := []struct {
		s       []float32
		normSq  float64
		maxRank int
		budget  float64
		want    bool
	}{
		// Flat spectrum of 100 values 1: rank 50 keeps half the energy.
		{[]float32{1, 1, 1, 1}, 100, 50, 0.5, true},    // ≥ sqrt(0.5) = 0.71 > 0.55
		{[]float32{1, 1, 1, 1}, 100, 50, 0.7, false},   // 0.71 is within 1.1 × 0.7
		{[]float32{1, 1, 1, 1}, 100, 100, 0.01, false}, // the rest could fit
		{[]float32{10, 1e-3}, 100, 5, 0.01, false},     // the first value holds it all
		{nil, 100, 5, 0.01, false},
		{[]float32{1}, 0, 5, 0.01, false},
	}
	for i, c := range cases {
		if got := lowRankHopeless(c.s, c.normSq, c.maxRank, c.budget); got != c.want {
			t.Errorf("case %d: got %v, want %v", i, got, c.want)
		}
	}
}
