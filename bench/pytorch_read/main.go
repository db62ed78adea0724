// Command pytorch_read times reading every tensor of a PyTorch checkpoint
// into memory with package format/pytorch (open, then each tensor into a
// buffer of its own, as torch.load does), best of -iters runs, and prints
// one JSON line. Used by bench/pytorch_read.sh.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vsdb/vsdb/format/pytorch"
)

func main() {
	iters := flag.Int("iters", 5, "runs; the best is reported")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: pytorch_read [-iters N] FILE")
		os.Exit(2)
	}
	path := flag.Arg(0)
	best := time.Duration(1<<63 - 1)
	var bytes int64
	var tensors int
	for range *iters {
		start := time.Now()
		n, k, err := readAll(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		best = min(best, time.Since(start))
		bytes, tensors = n, k
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"seconds": best.Seconds(), "bytes": bytes, "tensors": tensors,
		"mb_per_s": float64(bytes) / 1e6 / best.Seconds(),
	})
}

func readAll(path string) (int64, int, error) {
	f, err := pytorch.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	var total int64
	es := f.Entries()
	for i, e := range es {
		buf := make([]byte, e.Size)
		r, err := f.Open(i)
		if err != nil {
			return 0, 0, err
		}
		if _, err := io.ReadFull(r, buf); err != nil {
			return 0, 0, err
		}
		r.Close()
		total += e.Size
	}
	return total, len(es), nil
}
