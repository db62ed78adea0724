package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// fuseRealModel is the whole-model merge bench/merge_models.sh times: two
// copies of the checkpoint named by $VSDB_BENCH_MODEL, paired by tensor name.
const fuseRealModel = "FUSE a, b WEIGHTS 0.5, 0.5 USING linear"

// openTwoCopies ingests $VSDB_BENCH_MODEL twice, as a and b, into a store in
// b.TempDir() (outside the timer; the caller resets it).
func openTwoCopies(b *testing.B) *DB {
	b.Helper()
	path := os.Getenv("VSDB_BENCH_MODEL")
	if path == "" {
		b.Skip("set VSDB_BENCH_MODEL to a checkpoint")
	}
	db, err := Open(filepath.Join(b.TempDir(), "s"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	for _, name := range []string{"a", "b"} {
		if _, err := db.Ingest(context.Background(), path, IngestOptions{Name: name}); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// BenchmarkPlanFuseRealModel measures planning alone: query.Parse and
// planner.Build (through db.Explain, which also renders the plan text) of a
// whole-model FUSE of two copies of the real model.
func BenchmarkPlanFuseRealModel(b *testing.B) {
	db := openTwoCopies(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Explain(fuseRealModel); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunFuseRealModel measures the same statement run to the end
// without INTO: parse, plan, read both models and return the merged
// tensors in memory.
func BenchmarkRunFuseRealModel(b *testing.B) {
	db := openTwoCopies(b)
	fi, err := os.Stat(os.Getenv("VSDB_BENCH_MODEL"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := db.Query(context.Background(), fuseRealModel)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Tensors) == 0 {
			b.Fatal("FUSE returned no tensors")
		}
	}
}
