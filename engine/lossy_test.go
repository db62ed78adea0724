package engine

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/codec"
	"github.com/vsdb/vsdb/tensor"
)

func gaussian(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 9))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64() * 0.05)
	}
	return v
}

func lossyModel() []testTensor {
	return []testTensor{
		{"layers.0.w", tensor.F32, tensor.Shape{40, 30}, gaussian(1200, 1)},
		{"layers.0.b", tensor.BF16, tensor.Shape{30}, gaussian(30, 2)},
		{"ids", tensor.I64, tensor.Shape{3}, []float32{7, 8, 9}},
	}
}

// TestLossyCodecs: every float codec stores float tensors within the error
// it reports (recomputed here from what reads return), keeps non-float
// tensors bit-exact, and passes CHECK.
func TestLossyCodecs(t *testing.T) {
	in := writeCheckpoint(t, t.TempDir(), lossyModel())
	for _, name := range codec.FloatCodecNames() {
		t.Run(name, func(t *testing.T) {
			db := openTest(t, "lossless")
			if _, err := db.Ingest(context.Background(), in, IngestOptions{Name: "m", Codec: name}); err != nil {
				t.Fatal(err)
			}
			infos, _ := db.Tensors("m")
			for i, want := range lossyModel() {
				got, err := db.Tensor("m", want.name)
				if err != nil {
					t.Fatal(err)
				}
				info := infos[i]
				if !want.dtype.IsFloat() {
					orig := make([]byte, len(want.vals)*8)
					tensor.FromFloat32(want.dtype, want.vals, orig)
					if info.Codec != "lossless" || !bytes.Equal(got.Data, orig) {
						t.Fatalf("%s: non-float tensor stored with %s, bit-exact %v", want.name, info.Codec, bytes.Equal(got.Data, orig))
					}
					continue
				}
				orig := make([]float32, len(want.vals))
				raw := make([]byte, len(want.vals)*want.dtype.Size())
				tensor.FromFloat32(want.dtype, want.vals, raw)
				tensor.ToFloat32(want.dtype, raw, orig)
				vals, _ := got.Float32s()
				rel := codec.RelativeError(codec.ErrorSums(orig, vals))
				wantCodec := name
				if fc, _ := codec.FloatCodecByName(name); fc.BitsPerValue() >= float64(8*want.dtype.Size()) {
					wantCodec = "lossless" // bf16 on a BF16 tensor saves nothing
				}
				if info.Codec != wantCodec || math.Abs(rel-info.RelError) > 1e-9+1e-6*rel {
					t.Errorf("%s: codec %s reports error %g, recomputed %g", want.name, info.Codec, info.RelError, rel)
				}
				if info.StoredBytes >= info.RawBytes && want.dtype == tensor.F32 {
					t.Errorf("%s: %s stored %d bytes of %d", want.name, name, info.StoredBytes, info.RawBytes)
				}
			}
		})
	}
}

func TestAutoCodecKeepsWithinBudget(t *testing.T) {
	in := writeCheckpoint(t, t.TempDir(), lossyModel())
	cases := []struct {
		budget float64
		want   string // codec chosen for the F32 matrix
	}{{0, "lossless"}, {0.02, "q8"}, {0.5, "q4"}, {1e-9, "lossless"}}
	for _, c := range cases {
		db := openTest(t, "lossless")
		if _, err := db.Ingest(context.Background(), in, IngestOptions{Name: "m", Codec: "auto", ErrorBudget: c.budget}); err != nil {
			t.Fatal(err)
		}
		infos, _ := db.Tensors("m")
		if infos[0].Codec != c.want || infos[0].RelError > c.budget {
			t.Errorf("budget %g: chose %s with error %g, want %s", c.budget, infos[0].Codec, infos[0].RelError, c.want)
		}
		res, err := db.Query(context.Background(), "STATS m")
		if err != nil || !strings.Contains(strings.Join(res.Columns, ","), "max_rel_error") {
			t.Fatalf("STATS: %v %v", res, err)
		}
	}
	db := openTest(t, "lossless")
	if _, err := db.Ingest(context.Background(), in, IngestOptions{Name: "m", Codec: "zip"}); err == nil || !strings.Contains(err.Error(), `unknown codec "zip"`) {
		t.Errorf("unknown codec: %v", err)
	}
}
