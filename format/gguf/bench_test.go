package gguf

import (
	"io"
	"os"
	"testing"
)

// BenchmarkReadFile reads every tensor of $VSDB_BENCH_GGUF into freshly
// allocated memory; bench/formats_read.sh compares it with
// gguf.GGUFReader.
func BenchmarkReadFile(b *testing.B) {
	path := os.Getenv("VSDB_BENCH_GGUF")
	if path == "" {
		b.Skip("VSDB_BENCH_GGUF is not set")
	}
	var total int64
	for b.Loop() {
		f, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		total = 0
		for i, e := range f.Entries() {
			r, err := f.Open(i)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, e.Size)
			if _, err := io.ReadFull(r, buf); err != nil {
				b.Fatal(err)
			}
			r.Close()
			total += e.Size
		}
		f.Close()
	}
	b.SetBytes(total)
}
