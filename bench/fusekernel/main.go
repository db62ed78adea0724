// Command fusekernel times kernel.AxpbyParallel(out, a, b, 0.5, 0.5) on two
// 256 MB float32 arrays (64Mi elements) and prints the best and median
// seconds as one JSON object. bench/fuse_kernel.sh runs it beside numpy.
//
// The output array is written before timing starts, as numpy's preallocated
// output is, so no first-touch page faults are timed. With -hugepages (the
// default) the arrays are mmap'd with MADV_HUGEPAGE, as numpy's allocator
// does for arrays of 4 MB and more; without it they come from the Go heap.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"syscall"
	"time"
	"unsafe"

	"github.com/vsdb/vsdb/kernel"
)

// result is what the program prints.
type result struct {
	Elements   int     `json:"elements"`
	ArrayBytes int     `json:"array_bytes"`
	Iters      int     `json:"iters"`
	GoMaxProcs int     `json:"gomaxprocs"`
	HugePages  bool    `json:"hugepages"`
	Serial     bool    `json:"serial"`
	BestS      float64 `json:"best_s"`
	MedianS    float64 `json:"median_s"`
	// GBps is the bytes the kernel must move (read a and b, write out) over
	// the best time.
	GBps float64 `json:"gbps"`
}

func main() {
	n := flag.Int("n", 64<<20, "elements per array")
	iters := flag.Int("iters", 20, "timed runs")
	warmup := flag.Int("warmup", 3, "untimed runs first")
	huge := flag.Bool("hugepages", true, "mmap arrays with MADV_HUGEPAGE (as numpy does)")
	serial := flag.Bool("serial", false, "time Axpby (one goroutine) instead of AxpbyParallel")
	flag.Parse()
	if err := run(*n, *iters, *warmup, *huge, *serial); err != nil {
		fmt.Fprintln(os.Stderr, "fusekernel:", err)
		os.Exit(1)
	}
}

func run(n, iters, warmup int, huge, serial bool) error {
	if n <= 0 || iters <= 0 || warmup < 0 {
		return fmt.Errorf("need -n > 0, -iters > 0, -warmup >= 0")
	}
	a, b, out := alloc(n, huge), alloc(n, huge), alloc(n, huge)
	fillRandom(a, 1)
	fillRandom(b, 2)
	clear(out) // touch every output page before timing
	f := kernel.AxpbyParallel
	if serial {
		f = kernel.Axpby
	}
	for range warmup {
		if err := f(out, a, b, 0.5, 0.5); err != nil {
			return err
		}
	}
	times := make([]float64, iters)
	for i := range times {
		start := time.Now()
		if err := f(out, a, b, 0.5, 0.5); err != nil {
			return err
		}
		times[i] = time.Since(start).Seconds()
	}
	if err := verify(out, a, b); err != nil {
		return err
	}
	slices.Sort(times)
	r := result{
		Elements: n, ArrayBytes: 4 * n, Iters: iters,
		GoMaxProcs: runtime.GOMAXPROCS(0), HugePages: huge, Serial: serial,
		BestS: times[0], MedianS: times[len(times)/2],
	}
	r.GBps = float64(3*4*n) / r.BestS / 1e9
	return json.NewEncoder(os.Stdout).Encode(r)
}

// alloc returns n zero float32s, mmap'd and advised to use transparent huge
// pages if huge (falling back to the heap if mmap fails).
func alloc(n int, huge bool) []float32 {
	if huge {
		mem, err := syscall.Mmap(-1, 0, 4*n, syscall.PROT_READ|syscall.PROT_WRITE,
			syscall.MAP_PRIVATE|syscall.MAP_ANON)
		if err == nil {
			_ = syscall.Madvise(mem, syscall.MADV_HUGEPAGE) // a hint only
			return unsafe.Slice((*float32)(unsafe.Pointer(&mem[0])), n)
		}
	}
	return make([]float32, n)
}

// fillRandom fills v with values in [0, 1) from a xorshift64* generator
// seeded with seed, the same on every run.
func fillRandom(v []float32, seed uint64) {
	x := seed*0x9E3779B97F4A7C15 | 1
	for i := range v {
		x ^= x >> 12
		x ^= x << 25
		x ^= x >> 27
		v[i] = float32((x*0x2545F4914F6CDD1D)>>40) / (1 << 24)
	}
}

// verify spot-checks out against 0.5*a + 0.5*b.
func verify(out, a, b []float32) error {
	for i := 0; i < len(out); i += max(1, len(out)/4097) {
		want := 0.5*float64(a[i]) + 0.5*float64(b[i])
		if math.Abs(float64(out[i])-want) > 1e-6 {
			return fmt.Errorf("out[%d] = %g, want %g", i, out[i], want)
		}
	}
	return nil
}
