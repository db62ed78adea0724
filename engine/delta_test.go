package engine

import (
	"bytes"
	"context"
	"fmt"
	"math"
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
