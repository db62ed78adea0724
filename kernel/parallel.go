package kernel

import (
	"runtime"
	"sync"
	"unsafe"
)

// parallelMin is the length below which the parallel kernels run inline on
// the calling goroutine: under it, starting goroutines costs more than the
// memory traffic they could overlap.
const parallelMin = 256 << 10

// minChunk is the smallest share of a parallel kernel given to one
// goroutine, in elements.
const minChunk = 64 << 10

// WeightedSumParallel is WeightedSum with the index range split into one
// contiguous, cache-line-aligned block per runtime.GOMAXPROCS goroutine
// (the caller's included, at least 64Ki elements each) when len(out) is at
// least 256Ki elements; shorter inputs run inline. Results are bit-for-bit
// those of WeightedSum.
func WeightedSumParallel(out []float32, in [][]float32, w []float32) error {
	if err := checkWeighted(out, in, w); err != nil {
		return err
	}
	nt := useNT(len(out), len(in))
	parallelFor(out, func(lo, hi int) {
		weightedRange(out, in, w, lo, hi, nt)
	})
	return nil
}

// AxpbyParallel is Axpby split over goroutines as WeightedSumParallel is.
// Results are bit-for-bit those of Axpby.
func AxpbyParallel(out, a, b []float32, wa, wb float32) error {
	if err := checkPair(out, a, b); err != nil {
		return err
	}
	nt := useNT(len(out), 2)
	parallelFor(out, func(lo, hi int) {
		axpbyRange(out[lo:hi], a[lo:hi], b[lo:hi], wa, wb, nt)
	})
	return nil
}

// parallelFor calls fn over consecutive blocks [lo, hi) covering out, one
// per goroutine, the last on the caller's goroutine, and waits for all.
// Inner block boundaries fall on 64-byte boundaries of out so that no two
// goroutines write the same cache line.
func parallelFor(out []float32, fn func(lo, hi int)) {
	n := len(out)
	p := min(runtime.GOMAXPROCS(0), n/minChunk)
	if n < parallelMin || p < 2 {
		fn(0, n)
		return
	}
	const line = 64 / 4 // float32s per cache line
	skew := int((64-uintptr(unsafe.Pointer(&out[0]))%64)%64) / 4
	chunk := (n/p + line - 1) / line * line
	var wg sync.WaitGroup
	lo := 0
	for i := 1; i < p; i++ {
		hi := min(skew+i*chunk, n)
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, hi)
		lo = hi
	}
	fn(lo, n)
	wg.Wait()
}
