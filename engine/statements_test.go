package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestStatementsEndToEnd runs every statement kind through the real store
// (Pebble, bitmaps, read counters) rather than the planner's fake.
func TestStatementsEndToEnd(t *testing.T) {
	db := openTest(t, "lossless")
	ctx := context.Background()
	in := writeCheckpoint(t, t.TempDir(), twoLayerModel())
	for _, name := range []string{"m", "n"} {
		if _, err := db.Ingest(ctx, in, IngestOptions{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 12; i++ { // make one tensor hot
		if _, err := db.Query(ctx, "GET m:encoder.layer.0.attn.weight"); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RefreshAccess(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		stmt string
		rows int
		has  string // a cell the result must contain
	}{
		{"SHOW LAYERS OF m", 4, "encoder.layer.1"},
		{"DESCRIBE m", 12, "metadata.format"},
		{"STATS", 4, "(all)"},
		{"SHOW TENSORS WHERE reads > 10", 1, "encoder.layer.0.attn.weight"},
		{"SHOW TENSORS FROM m WHERE tier = 'hot'", 1, "hot"},
		{"SHOW TENSORS FROM m WHERE tier = 'cold' AND dtype = 'f32'", 4, "cold"},
		{"SHOW TENSORS WHERE layer = 'encoder.layer.1' AND (param = 'attn.bias' OR size > 100)", 4, "attn.bias"},
		{"DIFF m:encoder.layer.0, n:encoder.layer.0", 2, "0"},
		{"FUSE m, n WEIGHTS 0.5, 0.5 USING linear WHERE layer LIKE 'encoder.%' INTO avg", 4, "encoder.layer.1.attn.bias"},
		{"FUSE m:encoder.layer.0, n:encoder.layer.1, m:encoder.layer.1 WEIGHTS 1, 1, 1 USING ties(density = 0.5) BASE n INTO t", 2, "attn.weight"},
		{"CHECK", 1, "ok"},
		{"DELETE MODEL avg", 1, "avg"},
		{"EXPLAIN ANALYZE FUSE m:encoder.layer.0, n:encoder.layer.0 USING slerp(t = 0.5)", 9, "actual:"},
	}
	for _, c := range cases {
		res, err := db.Query(ctx, c.stmt)
		if err != nil {
			t.Fatalf("%s: %v", c.stmt, err)
		}
		all := fmt.Sprint(res.Rows)
		if len(res.Rows) != c.rows || !strings.Contains(all, c.has) {
			t.Errorf("%s: %d rows %v; want %d rows containing %q", c.stmt, len(res.Rows), all, c.rows, c.has)
		}
	}
	if _, err := db.Query(ctx, "DESCRIBE avg"); err == nil || !strings.Contains(err.Error(), `no model "avg"`) {
		t.Errorf("DESCRIBE of a deleted model: %v", err)
	}
}

func TestIngestExportCompressStatements(t *testing.T) {
	db := openTest(t, "lossless")
	ctx := context.Background()
	dir := t.TempDir()
	in := writeCheckpoint(t, dir, lossyModel())
	stmts := []string{
		fmt.Sprintf("INGEST '%s' AS m", in),
		fmt.Sprintf("INGEST '%s' AS q CODEC auto(budget = 0.02)", in),
		"COMPRESS m CODEC q4 INTO m4",
		"COMPRESS m BASE q CODEC lossless INTO md",
		fmt.Sprintf("EXPORT md TO '%s/md.safetensors'", dir),
	}
	for _, s := range stmts {
		if _, err := db.Query(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	infos, _ := db.Tensors("q")
	if infos[0].Codec != "q8" {
		t.Errorf("INGEST ... CODEC auto(budget = 0.02) chose %s", infos[0].Codec)
	}
	// md is m stored as deltas against q: exported, it is m bit for bit.
	assertSameCheckpoint(t, in, dir+"/md.safetensors")
	res, err := db.Query(ctx, "DESCRIBE md")
	if err != nil || !strings.Contains(fmt.Sprint(res.Rows), "[base q]") {
		t.Fatalf("DESCRIBE md: %v %v", res, err)
	}
}
