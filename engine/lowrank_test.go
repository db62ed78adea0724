package engine

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/codec"
	"github.com/vsdb/vsdb/lsm"
	"github.com/vsdb/vsdb/tensor"
)

// lowRankUpdate returns an m×n matrix of rank r whose Frobenius norm is
// scale (a fine-tune's update as LoRA would make it).
func lowRankUpdate(m, n, r int, scale float64, seed uint64) []float32 {
	a, b := gaussian(m*r, seed), gaussian(r*n, seed+1)
	d := make([]float32, m*n)
	for i := 0; i < m; i++ {
		for k := 0; k < r; k++ {
			for j := 0; j < n; j++ {
				d[i*n+j] += a[i*r+k] * b[k*n+j]
			}
		}
	}
	var ss float64
	for _, v := range d {
		ss += float64(v) * float64(v)
	}
	f := float32(scale / math.Sqrt(ss))
	for i := range d {
		d[i] *= f
	}
	return d
}

// lowRankModels returns a synthetic base (two matrices, one of them 3-D, a
// bias, an integer tensor) and a fine-tune: base + a rank-8 update of 2% of
// each matrix's norm, the bias nudged.
func lowRankModels() (base, ft []testTensor) {
	base = []testTensor{
		{"layers.0.w", tensor.F32, tensor.Shape{256, 192}, gaussian(256*192, 11)},
		{"layers.1.w", tensor.F32, tensor.Shape{128, 8, 24}, gaussian(128*192, 12)},
		{"layers.0.b", tensor.F32, tensor.Shape{192}, gaussian(192, 13)},
		{"ids", tensor.I64, tensor.Shape{3}, []float32{7, 8, 9}},
	}
	for i, t := range base {
		v := append([]float32(nil), t.vals...)
		if m, n, ok := matrixView(t.shape); ok {
			d := lowRankUpdate(m, n, 8, 0.02*norm(v), uint64(20+i))
			for k := range v {
				v[k] += d[k]
			}
		} else if t.dtype.IsFloat() {
			for k := range v {
				v[k] += 1e-3
			}
		}
		ft = append(ft, testTensor{t.name, t.dtype, t.shape, v})
	}
	return base, ft
}

// checkReportedError reads every tensor of model and checks, against the
// original values, that float tensors are within the error the record
// reports (recomputed here) and the others are bit-exact. It returns the
// records.
func checkReportedError(t *testing.T, db *DB, model string, want []testTensor) map[string]TensorInfo {
	t.Helper()
	infos, err := db.Tensors(model)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]TensorInfo{}
	for _, in := range infos {
		byName[in.Name] = in
	}
	for _, w := range want {
		got, err := db.Tensor(model, w.name)
		if err != nil {
			t.Fatal(err)
		}
		orig := make([]byte, len(got.Data))
		if err := tensor.FromFloat32(w.dtype, w.vals, orig); err != nil {
			t.Fatal(err)
		}
		info := byName[w.name]
		if info.RelError == 0 {
			if !bytes.Equal(got.Data, orig) {
				t.Errorf("%s %s (codec %s, no error recorded) is not bit-exact", model, w.name, info.Codec)
			}
			continue
		}
		g, _ := got.Float32s()
		o, _ := (&tensor.Tensor{DType: w.dtype, Data: orig}).Float32s()
		e := codec.RelativeError(codec.ErrorSums(o, g))
		if math.Abs(e-info.RelError) > 1e-6*math.Max(1, e) {
			t.Errorf("%s %s: reads are off by %g, the record says %g", model, w.name, e, info.RelError)
		}
	}
	return byName
}

// TestLowRankDeltas: a fine-tune that is base + a rank-8 update, stored
// against its base with CODEC lowrank (by budget, by rank) or auto, keeps
// each matrix as one low-rank chunk at least 10× smaller than the dense
// fine-tune, within the error it reports; other tensors stay lossless.
func TestLowRankDeltas(t *testing.T) {
	ctx := context.Background()
	baseT, ftT := lowRankModels()
	baseFile := writeCheckpoint(t, t.TempDir(), baseT)
	ftFile := writeCheckpoint(t, t.TempDir(), ftT)
	for _, o := range []IngestOptions{
		{Codec: "lowrank", ErrorBudget: 1e-4},
		{Codec: "lowrank", Rank: 8},
		{Codec: "auto", ErrorBudget: 1e-4},
	} {
		t.Run(o.Codec, func(t *testing.T) {
			db := openTest(t, "lossless")
			if _, err := db.Ingest(ctx, baseFile, IngestOptions{Name: "base"}); err != nil {
				t.Fatal(err)
			}
			o.Name, o.Base = "ft", "base"
			if _, err := db.Ingest(ctx, ftFile, o); err != nil {
				t.Fatal(err)
			}
			recs := checkReportedError(t, db, "ft", ftT)
			for _, w := range ftT {
				r := recs[w.name]
				if _, _, ok := matrixView(w.shape); !ok || !w.dtype.IsFloat() {
					if r.Codec == lsm.LowRank {
						t.Errorf("%s stored in low rank", w.name)
					}
					continue
				}
				if r.Codec != lsm.LowRank {
					t.Fatalf("%s stored with %s, want lowrank", w.name, r.Codec)
				}
				ratio := float64(r.RawBytes) / float64(r.StoredBytes)
				t.Logf("%s: %d → %d bytes (%.1f×), error %.3g", w.name, r.RawBytes, r.StoredBytes, ratio, r.RelError)
				if ratio < 10 {
					t.Errorf("%s: stored only %.1f× smaller than the dense fine-tune", w.name, ratio)
				}
				if r.RelError > 1e-4 {
					t.Errorf("%s: error %g over 1e-4", w.name, r.RelError)
				}
			}
			// The base cannot go while the delta model needs it.
			if err := db.DeleteModel("base"); err == nil {
				t.Error("base deleted under its dependant")
			}
		})
	}
}

// TestLowRankRaw: on raw (random) weights, lowrank at a fixed rank stores
// what it is told with the large error it reports; with a budget no rank
// meets, the tensor goes to what auto would pick (lossless here).
func TestLowRankRaw(t *testing.T) {
	ctx := context.Background()
	baseT, _ := lowRankModels()
	file := writeCheckpoint(t, t.TempDir(), baseT)
	db := openTest(t, "lossless")
	if _, err := db.Ingest(ctx, file, IngestOptions{Name: "r4", Codec: "lowrank", Rank: 4}); err != nil {
		t.Fatal(err)
	}
	recs := checkReportedError(t, db, "r4", baseT)
	if r := recs["layers.0.w"]; r.Codec != lsm.LowRank || r.RelError < 0.5 {
		t.Errorf("rank 4 of a random matrix: codec %s, error %g", r.Codec, r.RelError)
	}
	if _, err := db.Ingest(ctx, file, IngestOptions{Name: "b", Codec: "lowrank", ErrorBudget: 0.01}); err != nil {
		t.Fatal(err)
	}
	recs = checkReportedError(t, db, "b", baseT)
	for name, r := range recs {
		if r.Codec == lsm.LowRank {
			t.Errorf("%s: a random matrix stored in low rank within 1%%", name)
		}
	}
	// Export returns what reads return.
	out := t.TempDir() + "/r4.safetensors"
	if err := db.Export(ctx, "r4", out); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []IngestOptions{
		{Codec: "lowrank"},
		{Codec: "lowrank", Rank: 4, ErrorBudget: 0.1},
		{Codec: "lowrank", Rank: -1},
		{Codec: "q8", Rank: 4},
		{Codec: "lossless", ErrorBudget: 0.1},
	} {
		bad.Name = "bad"
		if _, err := db.Ingest(ctx, file, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestLowRankBreakEven(t *testing.T) {
	for _, c := range []struct {
		m, n  int
		bytes float64
		want  int
	}{
		{256, 192, 256 * 192 * 4, 192}, // (196608-15)/896 = 219, capped
		{256, 192, 256 * 192 * 4.5 / 8, 30},
		{4, 4, 64, 3},
		{4, 4, 20, 0},
		{2, 1000, 1e9, 2},
	} {
		if got := lowRankBreakEven(c.m, c.n, c.bytes); got != c.want {
			t.Errorf("lowRankBreakEven(%d, %d, %g) = %d, want %d", c.m, c.n, c.bytes, got, c.want)
		}
	}
}

// fuseWant computes Σ cᵢ·inputᵢ from what reads of the inputs return: the
// dense result a FUSE must equal.
func fuseWant(t *testing.T, db *DB, refs []string, cs []float64) []float64 {
	t.Helper()
	var out []float64
	for k, ref := range refs {
		model, name, _ := strings.Cut(ref, ":")
		x, err := db.Tensor(model, name)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := x.Float32s()
		if out == nil {
			out = make([]float64, len(v))
		}
		for i, e := range v {
			out[i] += cs[k] * float64(e)
		}
	}
	return out
}

// relDiff is ‖got − want‖ / ‖want‖.
func relDiff(got []float32, want []float64) float64 {
	var num, den float64
	for i, w := range want {
		d := float64(got[i]) - w
		num += d * d
		den += w * w
	}
	return math.Sqrt(num / den)
}

// TestFuseInFactoredSpace: FUSE over low-rank deltas (and plain low-rank
// tensors) takes the factored path, EXPLAIN says so with both costs, and
// the result equals the dense one within 1e-5 relative: returned, stored
// INTO as factors (a delta against the base), and INTO densified when the
// base's coefficient is not 1.
func TestFuseInFactoredSpace(t *testing.T) {
	ctx := context.Background()
	baseT, ft1 := lowRankModels()
	ft2 := make([]testTensor, len(baseT))
	for i, x := range baseT {
		v := append([]float32(nil), x.vals...)
		if m, n, ok := matrixView(x.shape); ok {
			d := lowRankUpdate(m, n, 8, 0.03*norm(v), uint64(40+i))
			for k := range v {
				v[k] += d[k]
			}
		}
		ft2[i] = testTensor{x.name, x.dtype, x.shape, v}
	}
	db := openTest(t, "lossless")
	for _, m := range []struct {
		name string
		ts   []testTensor
		o    IngestOptions
	}{
		{"base", baseT, IngestOptions{}},
		{"ft1", ft1, IngestOptions{Codec: "lowrank", Rank: 8, Base: "base"}},
		{"ft2", ft2, IngestOptions{Codec: "lowrank", Rank: 8, Base: "base"}},
		{"lr1", baseT, IngestOptions{Codec: "lowrank", Rank: 4}},
		{"lr2", ft1, IngestOptions{Codec: "lowrank", Rank: 6}},
		{"plain", ft2, IngestOptions{}},
	} {
		m.o.Name = m.name
		if _, err := db.Ingest(ctx, writeCheckpoint(t, t.TempDir(), m.ts), m.o); err != nil {
			t.Fatal(err)
		}
	}
	const w = "layers.0.w"
	cases := []struct {
		stmt  string
		refs  []string
		cs    []float64
		store string // "factors" when INTO keeps factors, "dense" when it densifies
	}{
		{"FUSE ft1:layers.0.w, ft2:layers.0.w WEIGHTS 0.5, 0.5", []string{"ft1:" + w, "ft2:" + w}, []float64{0.5, 0.5}, ""},
		{"FUSE ft1:layers.0.w, ft2:layers.0.w WEIGHTS 0.7, 0.7", []string{"ft1:" + w, "ft2:" + w}, []float64{0.7, 0.7}, ""},
		{"FUSE ft1:layers.0.w, ft2:layers.0.w WEIGHTS 1, 1 USING task_arithmetic BASE base", []string{"ft1:" + w, "ft2:" + w, "base:" + w}, []float64{1, 1, -1}, ""},
		{"FUSE lr1:layers.0.w, lr2:layers.0.w WEIGHTS 0.5, -0.25", []string{"lr1:" + w, "lr2:" + w}, []float64{0.5, -0.25}, ""},
		{"FUSE ft1:layers.0.w, base:layers.0.w, lr1:layers.0.w WEIGHTS 0.5, 0.3, 0.2", []string{"ft1:" + w, "base:" + w, "lr1:" + w}, []float64{0.5, 0.3, 0.2}, ""},
		{"FUSE ft1, ft2 WEIGHTS 0.5, 0.5 INTO avg", []string{"ft1:" + w, "ft2:" + w}, []float64{0.5, 0.5}, "factors"},
		{"FUSE ft1, ft2 WEIGHTS 0.7, 0.7 INTO big", []string{"ft1:" + w, "ft2:" + w}, []float64{0.7, 0.7}, "dense"},
		{"FUSE lr1, lr2 WEIGHTS 0.5, 0.5 INTO lravg", []string{"lr1:" + w, "lr2:" + w}, []float64{0.5, 0.5}, "factors"},
	}
	for _, c := range cases {
		plan, err := db.Explain(c.stmt)
		if err != nil {
			t.Fatalf("%s: %v", c.stmt, err)
		}
		if !strings.Contains(plan, "path: factored space") || !strings.Contains(plan, "low-rank-fusion") || !strings.Contains(plan, "; dense flops=") {
			t.Errorf("%s: EXPLAIN does not show the factored path and both costs:\n%s", c.stmt, plan)
		}
		res, err := db.Query(ctx, c.stmt)
		if err != nil {
			t.Fatalf("%s: %v", c.stmt, err)
		}
		want := fuseWant(t, db, c.refs, c.cs)
		var got []float32
		if c.store == "" {
			got, _ = res.Tensors[0].Float32s()
		} else {
			into := c.stmt[strings.LastIndex(c.stmt, " ")+1:]
			x, err := db.Tensor(into, w)
			if err != nil {
				t.Fatal(err)
			}
			got, _ = x.Float32s()
			infos, _ := db.Tensors(into)
			rec := infos[0]
			if (rec.Codec == lsm.LowRank) != (c.store == "factors") {
				t.Errorf("%s: %s stored with %s", c.stmt, w, rec.Codec)
			}
			t.Logf("%s: %s %s, %d bytes (dense %d)", c.stmt, w, rec.Codec, rec.StoredBytes, rec.RawBytes)
		}
		if d := relDiff(got, want); d > 1e-5 {
			t.Errorf("%s: differs from the dense result by %g", c.stmt, d)
		} else {
			t.Logf("%s: relative difference from dense %.2g", c.stmt, d)
		}
	}
	// The averaged model's factors are deltas against base: base stays.
	if err := db.DeleteModel("base"); err == nil {
		t.Error("base deleted while avg needs it")
	}
	// A dense input (other than the deltas' base) keeps the group dense.
	plan, err := db.Explain("FUSE ft1:layers.0.w, plain:layers.0.w WEIGHTS 0.5, 0.5")
	if err != nil || strings.Contains(plan, "factored") {
		t.Errorf("mixed inputs: %v\n%s", err, plan)
	}
}

// TestAutoPrefersSmallerLossless: a delta that is all zeros is smaller
// lossless than at any float codec's fixed rate, so auto keeps it lossless
// (exact) even with a budget that q4 would meet.
func TestAutoPrefersSmallerLossless(t *testing.T) {
	ctx := context.Background()
	baseT, _ := lowRankModels()
	file := writeCheckpoint(t, t.TempDir(), baseT)
	db := openTest(t, "lossless")
	if _, err := db.Ingest(ctx, file, IngestOptions{Name: "base"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Ingest(ctx, file, IngestOptions{Name: "same", Base: "base", Codec: "auto", ErrorBudget: 0.05}); err != nil {
		t.Fatal(err)
	}
	recs := checkReportedError(t, db, "same", baseT)
	for name, r := range recs {
		if r.Codec != "lossless" && r.Codec != lsm.LowRank {
			t.Errorf("%s: an all-zero delta stored with %s (%d bytes)", name, r.Codec, r.StoredBytes)
		}
		if r.RelError != 0 && r.Codec != lsm.LowRank {
			t.Errorf("%s: error %g on an exact delta", name, r.RelError)
		}
	}
}
