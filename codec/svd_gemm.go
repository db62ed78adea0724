package codec

import (
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// A float32 matrix product for the randomized SVD and low-rank decoding.
//
// gonum's blas32.Gemm (Go, with SSE assembly only for its inner axpy) ran
// at 4–10 GFLOP/s on both cores of the (shared) benchmark machine, 6–14×
// slower than numpy's OpenBLAS on the product shape the randomized SVD
// needs (A 4096×4096 times X 4096×74), and was 95% of RandomizedSVD's CPU
// profile. So, when built with GOEXPERIMENT=simd on amd64, gemm packs B in
// panels of gemmNR columns (Goto's scheme, as BLAS libraries do), reads A
// in place in slivers of gemmMR rows, blocks by up to gemmKCMax along the
// inner dimension and gemmNC along the columns, and runs an AVX2+FMA
// gemmMR×gemmNR micro-kernel written with Go's experimental SIMD package
// (svd_kernel_simd.go) over each (sliver, panel) pair, the rows split
// across GOMAXPROCS goroutines: 34–66 GFLOP/s on that shape. Other builds
// call blas32.Gemm.

const (
	gemmMR = 4   // rows of the micro-kernel tile
	gemmNR = 16  // columns of the micro-kernel tile (two 8-float vectors)
	gemmNC = 256 // column block
	// gemmKCMax bounds the inner-dimension block; gemmKCFloats is the size
	// of the packed B block (KC × the block's columns) that should stay in
	// L2 (512 KiB per core here). A long KC matters as much: each sliver
	// of A is read as gemmMR runs of KC contiguous floats, and runs of 1 KiB
	// (KC 256) left the hardware prefetcher behind — the product ran at 26
	// GFLOP per CPU-second with KC 256, 30–35 with 512 and 41 with 1024 on
	// the 4096×4096 by 4096×74 shape.
	gemmKCMax    = 1024
	gemmKCFloats = 96 << 10
)

// gemmKernel sets tile[r*gemmNR+j] = Σ_{t<kc} a[r][t]·bp[t*gemmNR+j] for
// r < gemmMR, j < gemmNR; each a[r] holds at least kc values. It is the
// AVX2 kernel of svd_kernel_simd.go when that is built and the CPU has AVX2
// and FMA; when it is nil, gemm calls gonum's blas32.Gemm instead (a
// portable Go micro-kernel of this shape ran at half gonum's speed).
var gemmKernel func(kc int, a *[gemmMR][]float32, bp []float32, tile *[gemmMR * gemmNR]float32)

// gemmKernelName names the product in use, for benchmarks and profiles.
var gemmKernelName = "gonum blas32.Gemm (portable)"

// GemmKernel names the float32 matrix product this build uses for the
// randomized SVD and low-rank decoding: "avx2-fma (GOEXPERIMENT=simd)" or
// "gonum blas32.Gemm (portable)".
func GemmKernel() string { return gemmKernelName }

// gemmParallelMin is the flop count below which gemm stays on one goroutine.
const gemmParallelMin = 1 << 21

// gemm sets c = a·b for row-major a (m×k, row stride lda), b (k×n, stride
// ldb) and c (m×n, stride ldc). c must not overlap a or b.
func gemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		for i := 0; i < m; i++ {
			clear(c[i*ldc : i*ldc+n])
		}
		return
	}
	if gemmKernel == nil {
		blas32.Gemm(blas.NoTrans, blas.NoTrans, 1,
			blas32.General{Rows: m, Cols: k, Stride: lda, Data: a},
			blas32.General{Rows: k, Cols: n, Stride: ldb, Data: b},
			0, blas32.General{Rows: m, Cols: n, Stride: ldc, Data: c})
		return
	}
	panels := (n + gemmNR - 1) / gemmNR
	bp := make([]float32, panels*k*gemmNR)
	packB(bp, b, ldb, k, n)

	blocks := (m + gemmMR - 1) / gemmMR
	workers := runtime.GOMAXPROCS(0)
	if 2*float64(m)*float64(n)*float64(k) < gemmParallelMin {
		workers = 1
	}
	workers = min(workers, blocks)
	if workers <= 1 {
		gemmRows(0, m, n, k, a, lda, bp, c, ldc)
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo := blocks * w / workers * gemmMR
		hi := min(m, blocks*(w+1)/workers*gemmMR)
		wg.Add(1)
		go func() {
			defer wg.Done()
			gemmRows(lo, hi, n, k, a, lda, bp, c, ldc)
		}()
	}
	wg.Wait()
}

// packB copies b (k×n) into panels of gemmNR columns: panel p holds
// b[t][p·NR+j] at bp[(p·k+t)·NR+j], zero past column n.
func packB(bp, b []float32, ldb, k, n int) {
	panels := (n + gemmNR - 1) / gemmNR
	for p := 0; p < panels; p++ {
		j0 := p * gemmNR
		w := min(gemmNR, n-j0)
		dst := bp[p*k*gemmNR : (p+1)*k*gemmNR]
		for t := 0; t < k; t++ {
			d := dst[t*gemmNR : (t+1)*gemmNR]
			copy(d, b[t*ldb+j0:t*ldb+j0+w])
			clear(d[w:])
		}
	}
}

// gemmRows computes rows lo..hi of c = a·b from the packed b. The rows of
// a are read in place, four at a time, kc values each (4 KiB at kc 256,
// 16 KiB at 1024, in L1 while the kernel runs over every panel of the
// column block); packing them as well cost more than it saved.
func gemmRows(lo, hi, n, k int, a []float32, lda int, bp []float32, c []float32, ldc int) {
	var tile [gemmMR * gemmNR]float32
	var rowsA [gemmMR][]float32
	panels := (n + gemmNR - 1) / gemmNR
	var zero []float32
	for p0 := 0; p0 < panels; p0 += gemmNC / gemmNR {
		p1 := min(panels, p0+gemmNC/gemmNR)
		kcb := min(gemmKCMax, max(gemmNR, gemmKCFloats/((p1-p0)*gemmNR)))
		if len(zero) < kcb {
			zero = make([]float32, kcb)
		}
		for k0 := 0; k0 < k; k0 += kcb {
			kc := min(kcb, k-k0)
			for i := lo; i < hi; i += gemmMR {
				rows := min(gemmMR, hi-i)
				for r := range rowsA {
					if r < rows {
						rowsA[r] = a[(i+r)*lda+k0 : (i+r)*lda+k0+kc]
					} else {
						rowsA[r] = zero[:kc]
					}
				}
				for p := p0; p < p1; p++ {
					off := (p*k + k0) * gemmNR
					gemmKernel(kc, &rowsA, bp[off:off+kc*gemmNR], &tile)
					j0 := p * gemmNR
					w := min(gemmNR, n-j0)
					for r := 0; r < rows; r++ {
						row := c[(i+r)*ldc+j0 : (i+r)*ldc+j0+w]
						src := tile[r*gemmNR : r*gemmNR+w]
						if k0 == 0 {
							copy(row, src)
						} else {
							for j, v := range src {
								row[j] += v
							}
						}
					}
				}
			}
		}
	}
}

// transpose sets dst (cols×rows) to the transpose of src (rows×cols), both
// dense row-major. It moves 16×16 tiles (a 64-byte cache line of 16 floats
// is read or written whole, so the power-of-two strides of square weight
// matrices do not evict lines before they are used up) and walks down bands
// of 16 dst rows, so each dst row is written in order; the bands are split
// across goroutines for large matrices. It reports whether every value is
// finite (no NaN or ±Inf), a check that costs nothing extra here.
func transpose(dst, src []float32, rows, cols int) (finite bool) {
	const tb = 16
	bands := (cols + tb - 1) / tb // bands of 16 dst rows = 16 src columns
	workers := runtime.GOMAXPROCS(0)
	if rows*cols < 1<<18 {
		workers = 1
	}
	workers = min(workers, bands)
	do := func(b0, b1 int) (bad bool) {
		var tile [tb * tb]float32
		for j0 := b0 * tb; j0 < min(cols, b1*tb); j0 += tb {
			jw := min(tb, cols-j0)
			for i0 := 0; i0 < rows; i0 += tb {
				ih := min(tb, rows-i0)
				if ih < tb || jw < tb {
					for r := 0; r < ih; r++ {
						for c := 0; c < jw; c++ {
							v := src[(i0+r)*cols+j0+c]
							dst[(j0+c)*rows+i0+r] = v
							bad = bad || math.Float32bits(v)&0x7f800000 == 0x7f800000
						}
					}
					continue
				}
				for r := 0; r < tb; r++ {
					copy(tile[r*tb:r*tb+tb], src[(i0+r)*cols+j0:])
				}
				for c := 0; c < tb; c++ {
					d := (*[tb]float32)(dst[(j0+c)*rows+i0:])
					for r := range d {
						v := tile[r*tb+c]
						d[r] = v
						if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
							bad = true
						}
					}
				}
			}
		}
		return bad
	}
	if workers <= 1 {
		return !do(0, bands)
	}
	var wg sync.WaitGroup
	bad := make([]bool, workers)
	for w := 0; w < workers; w++ {
		b0, b1 := bands*w/workers, bands*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			bad[w] = do(b0, b1)
		}()
	}
	wg.Wait()
	for _, b := range bad {
		if b {
			return false
		}
	}
	return true
}

// qrDot, qrAxpy and qrScal are the vector operations of svdQR: gonum's
// blas32 (SSE assembly), replaced by AVX2 versions under GOEXPERIMENT=simd.
var (
	qrDot = func(x, y []float32) float32 {
		return blas32.Dot(blas32.Vector{N: len(x), Inc: 1, Data: x}, blas32.Vector{N: len(x), Inc: 1, Data: y})
	}
	qrAxpy = func(alpha float32, x, y []float32) {
		blas32.Axpy(alpha, blas32.Vector{N: len(x), Inc: 1, Data: x}, blas32.Vector{N: len(x), Inc: 1, Data: y})
	}
	qrScal = func(alpha float32, x []float32) {
		blas32.Scal(alpha, blas32.Vector{N: len(x), Inc: 1, Data: x})
	}
)
