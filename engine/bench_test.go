package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkIngestModel ingests the checkpoint named by $VSDB_BENCH_MODEL
// (bench/ingest_export.sh sets it to the real all-MiniLM-L6-v2).
func BenchmarkIngestModel(b *testing.B) {
	path := os.Getenv("VSDB_BENCH_MODEL")
	if path == "" {
		b.Skip("set VSDB_BENCH_MODEL to a checkpoint")
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []string{"raw", "lossless"} {
		b.Run(c, func(b *testing.B) {
			b.SetBytes(fi.Size())
			for i := 0; i < b.N; i++ {
				db, err := Open(filepath.Join(b.TempDir(), "s"), Options{Codec: c})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := db.Ingest(context.Background(), path, IngestOptions{Name: "m"}); err != nil {
					b.Fatal(err)
				}
				db.Close()
			}
		})
	}
}

// BenchmarkExportModel exports the checkpoint named by $VSDB_BENCH_MODEL
// after ingesting it once per codec.
func BenchmarkExportModel(b *testing.B) {
	path := os.Getenv("VSDB_BENCH_MODEL")
	if path == "" {
		b.Skip("set VSDB_BENCH_MODEL to a checkpoint")
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []string{"raw", "lossless"} {
		b.Run(c, func(b *testing.B) {
			dir := b.TempDir()
			db, err := Open(filepath.Join(dir, "s"), Options{Codec: c})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Ingest(context.Background(), path, IngestOptions{Name: "m"}); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(fi.Size())
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := db.Export(context.Background(), "m", filepath.Join(dir, "out.safetensors")); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
