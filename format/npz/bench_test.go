package npz

import (
	"io"
	"os"
	"testing"

	"github.com/vsdb/vsdb/format/npy"
)

// BenchmarkReadFile reads every tensor of $VSDB_BENCH_NPZ (an .npz) or
// $VSDB_BENCH_NPY (an .npy) into freshly allocated memory, as numpy.load
// does; bench/formats_read.sh compares it with numpy.
func BenchmarkReadFile(b *testing.B) {
	for _, env := range []string{"VSDB_BENCH_NPZ", "VSDB_BENCH_NPY"} {
		path := os.Getenv(env)
		if path == "" {
			continue
		}
		b.Run(env, func(b *testing.B) {
			var total int64
			for b.Loop() {
				total = readFile(b, path, env == "VSDB_BENCH_NPY")
			}
			b.SetBytes(total)
		})
	}
}

type source interface {
	Open(int) (io.ReadCloser, error)
	Close() error
}

func readFile(b *testing.B, path string, isNpy bool) int64 {
	var src source
	var sizes []int64
	if isNpy {
		f, err := npy.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		src, sizes = f, []int64{f.Entries()[0].Size}
	} else {
		f, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		src = f
		for _, e := range f.Entries() {
			sizes = append(sizes, e.Size)
		}
	}
	defer src.Close()
	var total int64
	for i, size := range sizes {
		r, err := src.Open(i)
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, size)
		if _, err := io.ReadFull(r, buf); err != nil {
			b.Fatal(err)
		}
		r.Close()
		total += size
	}
	return total
}
