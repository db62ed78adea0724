// Command readall times reading every tensor of a checkpoint in any format
// package format detects by content (safetensors, PyTorch zip or legacy
// torch.save, .npy, .npz, GGUF, sharded indexes and model folders) into
// memory: format.Open, then each tensor through Open(i) into a freshly
// allocated buffer of Entries()[i].Size bytes, row-major, best of -iters
// runs. It prints one JSON line {"seconds", "bytes", "tensors", "mb_per_s"}.
// Used by bench/ingest_formats.sh and bench/pytorch_read.sh.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vsdb/vsdb/format"
)

func main() {
	iters := flag.Int("iters", 5, "runs; the best is reported")
	flag.Parse()
	if flag.NArg() != 1 || *iters < 1 {
		fmt.Fprintln(os.Stderr, "usage: readall [-iters N] PATH")
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

// readAll reads every tensor of the checkpoint at path into a buffer of its
// own and returns the bytes read and the tensor count.
func readAll(path string) (int64, int, error) {
	src, err := format.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer src.Close()
	var total int64
	es := src.Entries()
	for i, e := range es {
		buf := make([]byte, e.Size)
		r, err := src.Open(i)
		if err != nil {
			return 0, 0, err
		}
		_, err = io.ReadFull(r, buf)
		r.Close()
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %s: %w", path, e.Name, err)
		}
		total += e.Size
	}
	return total, len(es), nil
}
