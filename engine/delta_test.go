package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/tensor"
)

// fineTune returns the base model's tensors with a small rank-1 update on
// the matrix and a nudge on the bias; the integer tensor is unchanged.
func fineTune(base []testTensor) []testTensor {
	out := make([]testTensor, len(base))
	for i, t := range base {
		v := append([]float32(nil), t.vals...)
		if t.dtype.IsFloat() {
			for k := range v {
				v[k] += 1e-3 * float32(math.Sin(float64(k%40))) * float32(math.Cos(float64(k/40)))
			}
		}
		out[i] = testTensor{t.name, t.dtype, t.shape, v}
	}
	return out
}

func TestDeltasAgainstABase(t *testing.T) {
	ctx := context.Background()
	baseFile := writeCheckpoint(t, t.TempDir(), lossyModel())
	ftTensors := fineTune(lossyModel())
	ftFile := writeCheckpoint(t, t.TempDir(), ftTensors)
	for _, c := range []string{"lossless", "raw", "q8"} {
		t.Run(c, func(t *testing.T) {
			db := openTest(t, "lossless")
			if _, err := db.Ingest(ctx, baseFile, IngestOptions{Name: "base"}); err != nil {
				t.Fatal(err)
			}
			whole, err := db.Ingest(ctx, ftFile, IngestOptions{Name: "whole", Codec: c})
			if err != nil {
				t.Fatal(err)
			}
			delta, err := db.Ingest(ctx, ftFile, IngestOptions{Name: "ft", Codec: c, Base: "base"})
			if err != nil {
				t.Fatal(err)
			}
			// Byte codecs gain size on a close fine-tune; fixed-rate float
			// codecs (q8: 8.5 bits a value) gain accuracy instead.
			if c == "lossless" && delta.StoredBytes >= whole.StoredBytes {
				t.Errorf("%s: delta stored %d bytes, the whole fine-tune %d", c, delta.StoredBytes, whole.StoredBytes)
			}
			if c == "q8" {
				wi, _ := db.Tensors("whole")
				di, _ := db.Tensors("ft")
				if di[0].RelError >= wi[0].RelError/10 {
					t.Errorf("q8 delta error %g, whole %g: want 10x smaller", di[0].RelError, wi[0].RelError)
				}
			}
			infos, _ := db.Tensors("ft")
			for i, want := range ftTensors {
				got, err := db.Tensor("ft", want.name)
				if err != nil {
					t.Fatal(err)
				}
				orig := make([]byte, len(got.Data))
				tensor.FromFloat32(want.dtype, want.vals, orig)
				if c != "q8" || !want.dtype.IsFloat() {
					if !bytes.Equal(got.Data, orig) {
						t.Fatalf("%s: %s not reconstructed bit-exactly from the base", c, want.name)
					}
					continue
				}
				o, _ := (&tensor.Tensor{DType: want.dtype, Data: orig}).Float32s()
				g, _ := got.Float32s()
				var num, den float64
				for k := range o {
					num += float64((g[k] - o[k]) * (g[k] - o[k]))
					den += float64(o[k] * o[k])
				}
				if rel := math.Sqrt(num / den); math.Abs(rel-infos[i].RelError) > 1e-6 {
					t.Errorf("%s: error %g recorded, %g measured", want.name, infos[i].RelError, rel)
				}
			}
			err = db.DeleteModel("base")
			if err == nil || !strings.Contains(err.Error(), `model "base" is the base of "ft"`) {
				t.Fatalf("deleting a base in use: %v", err)
			}
			res, _ := db.Query(ctx, "DESCRIBE ft")
			if !strings.Contains(fmt.Sprint(res.Rows), "[base base]") {
				t.Errorf("DESCRIBE does not show the base: %v", res.Rows)
			}
		})
	}
}

// A fine-tune that zeroes a tensor its base holds: a lossy delta cannot
// give back the zeros, and the error measured against them is +Inf. The
// ingest stores it and says so (it used to panic encoding the record with
// the write lock held); "auto" refuses the infinite error and keeps the
// tensor exact; the record survives a reopen, SHOW TENSORS prints it and
// its JSON form holds it.
func TestDeltaOfAZeroedTensor(t *testing.T) {
	ctx := context.Background()
	base := lossyModel()
	zeroed := fineTune(base)
	zeroed[0].vals = make([]float32, len(zeroed[0].vals))
	baseFile := writeCheckpoint(t, t.TempDir(), base)
	ftFile := writeCheckpoint(t, t.TempDir(), zeroed)
	for _, tc := range []struct {
		codec  string
		budget float64
		rank   int
		exact  bool
	}{
		{codec: "q8"}, {codec: "q4"}, {codec: "f16"}, {codec: "bf16"},
		{codec: "lowrank", rank: 2},
		{codec: "auto", budget: 0.05, exact: true},
		{codec: "lossless", exact: true},
	} {
		t.Run(tc.codec, func(t *testing.T) {
			dir := t.TempDir()
			db, err := Open(dir, Options{ChunkBytes: 64})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Ingest(ctx, baseFile, IngestOptions{Name: "base"}); err != nil {
				t.Fatal(err)
			}
			_, err = db.Ingest(ctx, ftFile, IngestOptions{Name: "ft", Codec: tc.codec, ErrorBudget: tc.budget, Rank: tc.rank, Base: "base"})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db, err = Open(dir, Options{ChunkBytes: 64})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			infos, err := db.Tensors("ft")
			if err != nil {
				t.Fatal(err)
			}
			got, err := db.Tensor("ft", zeroed[0].name)
			if err != nil {
				t.Fatal(err)
			}
			vals, _ := got.Float32s()
			allZero := !slices.ContainsFunc(vals, func(v float32) bool { return v != 0 })
			e := infos[0].RelError
			switch {
			case tc.exact && (!allZero || e != 0):
				t.Errorf("%s: zeroed tensor stored with error %g (all zeros back: %v), want exact", tc.codec, e, allZero)
			case !tc.exact && allZero && e != 0:
				t.Errorf("%s: zeros given back but error %g recorded", tc.codec, e)
			case !tc.exact && !allZero && !math.IsInf(e, 1):
				t.Errorf("%s: zeros not given back but error %g recorded, want +Inf", tc.codec, e)
			}
			res, err := db.Query(ctx, "SHOW TENSORS FROM ft")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := json.Marshal(res.JSONRows()); err != nil {
				t.Errorf("SHOW TENSORS rows do not encode as JSON: %v", err)
			}
			if problems, err := db.Check(""); err != nil || len(problems) > 0 {
				t.Fatalf("CHECK: %v %v", problems, err)
			}
		})
	}
}
