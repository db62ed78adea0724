package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/format"
	"github.com/vsdb/vsdb/tensor"
)

// TestFolderRoundTrip: a Hugging Face style folder (config.json + weights)
// is one model with its config kept; a sharded export writes shards of at
// most the given size, the index and the config, and re-ingests
// bit-identical.
func TestFolderRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ts := lossyModel()
	ckpt := writeCheckpoint(t, dir, ts)
	os.Rename(ckpt, filepath.Join(dir, "model.safetensors"))
	config := `{"architectures": ["BertModel"], "tie_word_embeddings": true, "torch_dtype": "float32"}`
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o644)
	db := openTest(t, "lossless")
	m, err := db.Ingest(ctx, dir, IngestOptions{Name: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Metadata[format.ConfigKey] != config {
		t.Fatalf("config not kept: %q", m.Metadata[format.ConfigKey])
	}
	out := filepath.Join(t.TempDir(), "sharded")
	if err := db.ExportWith(ctx, "m", out, ExportOptions{ShardSize: 4000}); err != nil {
		t.Fatal(err)
	}
	var index struct {
		Metadata  map[string]int64  `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}
	b, err := os.ReadFile(filepath.Join(out, "model.safetensors.index.json"))
	if err != nil || json.Unmarshal(b, &index) != nil {
		t.Fatalf("index: %v %s", err, b)
	}
	shards := map[string]bool{}
	for _, f := range index.WeightMap {
		shards[f] = true
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() > 4000+1000 {
			t.Errorf("shard %s: %v (size %d)", f, err, st.Size())
		}
	}
	if len(shards) < 2 || index.Metadata["total_size"] != m.RawBytes {
		t.Errorf("%d shards, total_size %d (raw %d)", len(shards), index.Metadata["total_size"], m.RawBytes)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "config.json")); string(got) != config {
		t.Errorf("config.json = %q", got)
	}
	if _, err := db.Ingest(ctx, out, IngestOptions{Name: "again"}); err != nil {
		t.Fatal(err)
	}
	for _, x := range ts {
		a, _ := db.Tensor("m", x.name)
		b, _ := db.Tensor("again", x.name)
		if a == nil || b == nil || !bytes.Equal(a.Data, b.Data) || a.DType != b.DType || !a.Shape.Equal(b.Shape) {
			t.Errorf("%s differs after the sharded round trip", x.name)
		}
	}
	// Exporting into a folder that is not empty is refused, and leaves it.
	if err := db.ExportWith(ctx, "m", out, ExportOptions{ShardSize: 4000}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("export over a full folder: %v", err)
	}
	// One shard: model.safetensors alone, no index.
	one := filepath.Join(t.TempDir(), "one") + "/"
	if err := db.ExportWith(ctx, "m", one, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(one, "model.safetensors")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(one, "model.safetensors.index.json")); err == nil {
		t.Error("an index for a single shard")
	}
}

// TestExportDType: float tensors are cast (round to nearest even), others
// kept; a value beyond F16's range is an error naming the tensor, and no
// file appears.
func TestExportDType(t *testing.T) {
	ctx := context.Background()
	ts := lossyModel()
	db := openTest(t, "lossless")
	if _, err := db.Ingest(ctx, writeCheckpoint(t, t.TempDir(), ts), IngestOptions{Name: "m"}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "m.safetensors")
	if err := db.ExportWith(ctx, "m", out, ExportOptions{DType: tensor.BF16}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Ingest(ctx, out, IngestOptions{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	for _, x := range ts {
		got, _ := db.Tensor("b", x.name)
		want := x.dtype
		if x.dtype.IsFloat() {
			want = tensor.BF16
		}
		if got.DType != want {
			t.Errorf("%s exported as %s, want %s", x.name, got.DType, want)
		}
		g, _ := got.Float32s()
		for i, v := range x.vals {
			exp := v
			if x.dtype.IsFloat() {
				b := make([]byte, 2)
				tensor.FromFloat32(tensor.BF16, []float32{v}, b)
				e := []float32{0}
				tensor.ToFloat32(tensor.BF16, b, e)
				exp = e[0]
			}
			if g[i] != exp {
				t.Fatalf("%s[%d] = %v, want %v", x.name, i, g[i], exp)
			}
		}
	}
	big := []testTensor{{"w", tensor.F32, tensor.Shape{3}, []float32{1, 70000, math.MaxFloat32}}}
	if _, err := db.Ingest(ctx, writeCheckpoint(t, t.TempDir(), big), IngestOptions{Name: "big"}); err != nil {
		t.Fatal(err)
	}
	out = filepath.Join(t.TempDir(), "big.safetensors")
	err := db.ExportWith(ctx, "big", out, ExportOptions{DType: tensor.F16})
	if err == nil || !strings.Contains(err.Error(), `"w"`) || !strings.Contains(err.Error(), "element 1") {
		t.Errorf("F16 overflow: %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed export left a file")
	}
}
