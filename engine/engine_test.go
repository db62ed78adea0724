package engine

import (
	"bytes"
	"context"
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/format"
	"github.com/vsdb/vsdb/format/safetensors"
	"github.com/vsdb/vsdb/tensor"
)

// testTensor is a tensor to write into a test checkpoint.
type testTensor struct {
	name  string
	dtype tensor.DType
	shape tensor.Shape
	vals  []float32
}

// writeCheckpoint writes tensors to a safetensors file in dir.
func writeCheckpoint(t *testing.T, dir string, ts []testTensor) string {
	t.Helper()
	entries := make([]format.Entry, len(ts))
	datas := make([][]byte, len(ts))
	for i, x := range ts {
		datas[i] = make([]byte, len(x.vals)*x.dtype.Size())
		if err := tensor.FromFloat32(x.dtype, x.vals, datas[i]); err != nil {
			t.Fatal(err)
		}
		entries[i] = format.Entry{Name: x.name, DType: x.dtype, Shape: x.shape, Size: int64(len(datas[i]))}
	}
	path := filepath.Join(dir, "ckpt.safetensors")
	err := safetensors.WriteFile(path, entries, map[string]string{"format": "pt"}, func(i int) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(datas[i])), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func seq(n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = scale * float32(math.Sin(float64(i)*0.37+float64(scale)))
	}
	return v
}

// openTest opens a store with small chunks so tensors span several, and
// checks the store's consistency when the test ends.
func openTest(t *testing.T, codecName string) *DB {
	t.Helper()
	db, err := Open(t.TempDir(), Options{ChunkBytes: 64, Codec: codecName})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		problems, err := db.Check("")
		if err != nil {
			t.Errorf("consistency check: %v", err)
		}
		for _, p := range problems {
			t.Errorf("consistency check: %s", p)
		}
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func twoLayerModel() []testTensor {
	return []testTensor{
		{"embeddings.word.weight", tensor.F32, tensor.Shape{10, 4}, seq(40, 1)},
		{"encoder.layer.0.attn.weight", tensor.F32, tensor.Shape{6, 5}, seq(30, 2)},
		{"encoder.layer.0.attn.bias", tensor.F32, tensor.Shape{5}, seq(5, 3)},
		{"encoder.layer.1.attn.weight", tensor.F32, tensor.Shape{6, 5}, seq(30, 4)},
		{"encoder.layer.1.attn.bias", tensor.F32, tensor.Shape{5}, seq(5, 5)},
		{"position_ids", tensor.I64, tensor.Shape{1, 3}, []float32{0, 1, 2}},
		{"scale", tensor.F16, tensor.Shape{}, []float32{0.5}},
		{"empty", tensor.BF16, tensor.Shape{2, 0}, nil},
	}
}

func TestIngestExportRoundTrip(t *testing.T) {
	for _, c := range []string{"raw", "lossless"} {
		t.Run(c, func(t *testing.T) {
			dir := t.TempDir()
			db := openTest(t, c)
			in := writeCheckpoint(t, dir, twoLayerModel())
			ctx := context.Background()
			m, err := db.Ingest(ctx, in, IngestOptions{Name: "m"})
			if err != nil {
				t.Fatal(err)
			}
			if m.Tensors != 8 {
				t.Fatalf("ingested %d tensors, want 8", m.Tensors)
			}
			out := filepath.Join(dir, "out.safetensors")
			if err := db.Export(ctx, "m", out); err != nil {
				t.Fatal(err)
			}
			assertSameCheckpoint(t, in, out)
		})
	}
}

// assertSameCheckpoint compares names, dtypes, shapes and bytes.
func assertSameCheckpoint(t *testing.T, a, b string) {
	t.Helper()
	fa, err := format.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer fa.Close()
	fb, err := format.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	ea, eb := fa.Entries(), fb.Entries()
	if len(ea) != len(eb) {
		t.Fatalf("%d tensors, want %d", len(eb), len(ea))
	}
	for i := range ea {
		if ea[i].Name != eb[i].Name || ea[i].DType != eb[i].DType || !ea[i].Shape.Equal(eb[i].Shape) {
			t.Errorf("entry %d: got %+v, want %+v", i, eb[i], ea[i])
		}
		ra, _ := fa.Open(i)
		rb, _ := fb.Open(i)
		da, _ := io.ReadAll(ra)
		dbb, _ := io.ReadAll(rb)
		if !bytes.Equal(da, dbb) {
			t.Errorf("tensor %s: bytes differ", ea[i].Name)
		}
	}
}

func TestFuseLayers(t *testing.T) {
	db := openTest(t, "lossless")
	ctx := context.Background()
	in := writeCheckpoint(t, t.TempDir(), twoLayerModel())
	if _, err := db.Ingest(ctx, in, IngestOptions{Name: "m"}); err != nil {
		t.Fatal(err)
	}
	res, err := db.Query(ctx, "FUSE m:encoder.layer.0, m:encoder.layer.1 WEIGHTS 0.5, 0.25")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tensors) != 2 {
		t.Fatalf("got %d tensors, want 2", len(res.Tensors))
	}
	a, b := seq(30, 2), seq(30, 4)
	got, _ := res.Tensors[0].Float32s()
	for i := range a {
		want := 0.5*a[i] + 0.25*b[i]
		if math.Abs(float64(got[i]-want)) > 1e-6*math.Max(1, math.Abs(float64(want))) {
			t.Fatalf("element %d: %v, want %v", i, got[i], want)
		}
	}
	if _, err := db.Query(ctx, "FUSE m:encoder.layer.0, m:encoder.layer.1 WEIGHTS 0.5, 0.5 INTO avg"); err != nil {
		t.Fatal(err)
	}
	fused, err := db.Tensor("avg", "encoder.layer.0.attn.bias")
	if err != nil {
		t.Fatal(err)
	}
	fv, _ := fused.Float32s()
	a, b = seq(5, 3), seq(5, 5)
	for i := range fv {
		if want := 0.5*a[i] + 0.5*b[i]; math.Abs(float64(fv[i]-want)) > 1e-6 {
			t.Fatalf("stored fused element %d: %v, want %v", i, fv[i], want)
		}
	}
}

func TestFuseErrors(t *testing.T) {
	db := openTest(t, "raw")
	ctx := context.Background()
	in := writeCheckpoint(t, t.TempDir(), twoLayerModel())
	if _, err := db.Ingest(ctx, in, IngestOptions{Name: "m"}); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"FUSE m:encoder.layer.0, m:embeddings WEIGHTS 1, 1":                            `vsdb: 1:6: m:encoder.layer.0 has no parameter "word.weight" matching m:embeddings.word.weight`,
		"FUSE m:encoder.layer.0.attn.weight, m:encoder.layer.0.attn.bias WEIGHTS 1, 1": `vsdb: 1:37: shape mismatch: m:encoder.layer.0.attn.weight is F32 [6, 5] but m:encoder.layer.0.attn.bias is F32 [5]`,
		"FUSE x:encoder.layer.0, m:encoder.layer.1 WEIGHTS 1, 1":                       `vsdb: 1:6: no model "x" (SHOW MODELS lists them)`,
		"FUSE m:encoder.layer.7, m:encoder.layer.1 WEIGHTS 1, 1":                       `vsdb: 1:6: model "m" has no tensor or layer "encoder.layer.7" (layers: embeddings, encoder.layer.0, encoder.layer.1)`,
		"FUSE m:encoder.layer.0, m:encoder.layer.1 WEIGHTS 1, 1 INTO m":                `vsdb: 1:61: model "m" already exists; INTO needs a new name`,
		"FUSE m:encoder.layer.0.attn.weight, m:encoder.layer.1 WEIGHTS 1, 1":           `vsdb: 1:37: m:encoder.layer.1 is a layer but m:encoder.layer.0.attn.weight is a tensor: FUSE inputs must all be tensors, all layers, or all models`,
		"GET m:encoder.layer.0": `vsdb: 1:5: GET needs one tensor, but m:encoder.layer.0 is a layer of 2 tensors`,
		"FUSE m:encoder.layer.0.attn.weight, m:encoder.layer.0.attn.weight WEIGHTS 1e38, 1e38": `vsdb: FUSE result for encoder.layer.0.attn.weight is +Inf at element 0 (float32 overflow); nothing was written`,
	}
	for stmt, want := range cases {
		_, err := db.Query(ctx, stmt)
		if err == nil || err.Error() != want {
			t.Errorf("%s:\n got %v\nwant %s", stmt, err, want)
		}
	}
	models, _ := db.Models()
	if len(models) != 1 {
		t.Errorf("failed statements left %d models", len(models))
	}
}

func TestFailedIngestLeavesNothing(t *testing.T) {
	db := openTest(t, "raw")
	dir := t.TempDir()
	in := writeCheckpoint(t, dir, twoLayerModel())
	// Truncate the file's data: the header validates, a read fails.
	bad := filepath.Join(dir, "bad.safetensors")
	data := readFile(t, in)
	writeFile(t, bad, data[:len(data)-3])
	if _, err := db.Ingest(context.Background(), bad, IngestOptions{Name: "bad"}); err == nil {
		t.Fatal("truncated file ingested")
	}
	if ms, _ := db.Models(); len(ms) != 0 {
		t.Fatalf("failed ingest left %v", ms)
	}
	if _, err := db.Ingest(context.Background(), in, IngestOptions{Name: "bad"}); err != nil {
		t.Fatalf("name unusable after a failed ingest: %v", err)
	}
}

func TestSplitName(t *testing.T) {
	cases := []struct{ name, layer, param string }{
		{"model.layers.12.mlp.up_proj.weight", "model.layers.12", "mlp.up_proj.weight"},
		{"encoder.layer.3.attention.self.query.weight", "encoder.layer.3", "attention.self.query.weight"},
		{"embeddings.LayerNorm.weight", "embeddings", "LayerNorm.weight"},
		{"lm_head.weight", "lm_head", "weight"},
		{"bias", "", "bias"},
		{"0.weight", "0", "weight"},
	}
	for _, c := range cases {
		if l, p := SplitName(c.name); l != c.layer || p != c.param {
			t.Errorf("SplitName(%q) = %q, %q; want %q, %q", c.name, l, p, c.layer, c.param)
		}
	}
}

func TestReadsOfCorruptChunksFail(t *testing.T) {
	db, err := Open(t.TempDir(), Options{ChunkBytes: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	in := writeCheckpoint(t, t.TempDir(), twoLayerModel())
	if _, err := db.Ingest(context.Background(), in, IngestOptions{Name: "m"}); err != nil {
		t.Fatal(err)
	}
	ts, _ := db.Tensors("m")
	if err := db.store.CorruptChunkForTest(ts[0].ID, 1); err != nil {
		t.Fatal(err)
	}
	_, err = db.Tensor("m", ts[0].Name)
	want := `vsdb: model "m": tensor "embeddings.word.weight": chunk 1 fails its checksum (stored data is corrupt)`
	if err == nil || err.Error() != want {
		t.Fatalf("read of a corrupt chunk: %v\nwant %s", err, want)
	}
	if _, err := db.Query(context.Background(), "FUSE m:embeddings, m:embeddings WEIGHTS 1, 1"); err == nil || err.Error() != want {
		t.Fatalf("FUSE over a corrupt chunk: %v", err)
	}
	if err := db.Export(context.Background(), "m", filepath.Join(t.TempDir(), "x.safetensors")); err == nil {
		t.Fatal("export of a corrupt model succeeded")
	}
	problems, _ := db.Check("m")
	if len(problems) != 1 {
		t.Fatalf("check found %v, want one problem", problems)
	}
}

func TestHotTensorsAreCached(t *testing.T) {
	db := openTest(t, "lossless")
	in := writeCheckpoint(t, t.TempDir(), twoLayerModel())
	if _, err := db.Ingest(context.Background(), in, IngestOptions{Name: "m"}); err != nil {
		t.Fatal(err)
	}
	const name = "encoder.layer.0.attn.weight"
	for i := 0; i < 10; i++ {
		if _, err := db.Tensor("m", name); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RefreshAccess(); err != nil {
		t.Fatal(err)
	}
	want, _ := db.Tensor("m", name) // fills the cache
	hits0, _, _ := db.cache.stats()
	got, err := db.Tensor("m", name)
	if err != nil {
		t.Fatal(err)
	}
	hits1, _, used := db.cache.stats()
	if hits1 <= hits0 || used == 0 {
		t.Fatalf("hot tensor not served from the cache: hits %d -> %d, %d bytes cached", hits0, hits1, used)
	}
	if !bytes.Equal(got.Data, want.Data) {
		t.Fatal("cached bytes differ")
	}
}

func TestExplainCountsCachedBytes(t *testing.T) {
	db := openTest(t, "raw")
	in := writeCheckpoint(t, t.TempDir(), twoLayerModel())
	if _, err := db.Ingest(context.Background(), in, IngestOptions{Name: "m"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		db.Tensor("m", "encoder.layer.0.attn.weight")
	}
	db.RefreshAccess()
	db.Tensor("m", "encoder.layer.0.attn.weight") // fills the cache
	plan, err := db.Explain("FUSE m:encoder.layer.0, m:encoder.layer.1 WEIGHTS 1, 1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "(+120 B cached)") || !strings.Contains(plan, "read=160 B") {
		t.Fatalf("plan does not count the cached tensor:\n%s", plan)
	}
}
