package engine

import (
	"bytes"
	"context"
	"math"
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
