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
// profile. So, on amd64 CPUs with AVX2 and FMA, gemm packs B in panels of
// gemmNR columns (Goto's scheme, as BLAS libraries do), reads A in place
// in slivers of gemmMR rows, blocks B to stay in L2, and runs an AVX2+FMA
// gemmMR×gemmNR micro-kernel in assembly (svd_kernel_amd64.s) over each
// (sliver, panel) pair, split across GOMAXPROCS goroutines: about 80
// GFLOP/s on one core of that machine, 100–150 on two depending on its
// load. Other CPUs and
// architectures, and -tags purego, call blas32.Gemm.

const (
	gemmMR = 6  // rows of the micro-kernel tile
	gemmNR = 16 // columns of the micro-kernel tile (two 8-float vectors)
	// gemmKCMax bounds the inner-dimension block; gemmKCFloats is the size
	// of the packed block of B (KC × as many panels as fit) that should
	// stay in L2 (512 KiB per core here). A long KC matters as much: each
	// sliver of A is read as gemmMR runs of KC contiguous floats, and runs
	// of 1 KiB (KC 256) left the hardware prefetcher behind.
	gemmKCMax    = 1024
	gemmKCFloats = 96 << 10
)

// gemmKernel sets tile[r*gemmNR+j] = Σ_{t<kc} a[r][t]·bp[t*gemmNR+j] for
// r < gemmMR, j < gemmNR; each a[r] holds at least kc values. It is the
// assembly kernel of svd_kernel_amd64.go when the CPU has AVX2 and FMA;
// when it is nil, gemm calls gonum's blas32.Gemm instead (a portable Go
// micro-kernel of this shape, gemmKernelRef in the tests, ran at half
// gonum's speed).
var gemmKernel func(kc int, a *[gemmMR][]float32, bp []float32, tile *[gemmMR * gemmNR]float32)

// gemmKernelName names the product in use, for benchmarks and profiles.
var gemmKernelName = "gonum blas32.Gemm (portable)"

// GemmKernel names the float32 matrix product this build uses for the
// randomized SVD and low-rank decoding: "avx2-fma (assembly)" or
// "gonum blas32.Gemm (portable)".
func GemmKernel() string { return gemmKernelName }

// gemmParallelMin is the flop count below which gemm stays on one goroutine.
const gemmParallelMin = 1 << 21

// gemm sets c = a·b for row-major a (m×k, row stride lda), b (k×n, stride
// ldb) and c (m×n, stride ldc). c must not overlap a or b.
//
// The work is split across GOMAXPROCS goroutines by rows of c when it has
// at least as many gemmMR-row slivers as gemmNR-column panels (A·Ω: 683
// slivers, 5 panels), otherwise by panels (Yᵀ·A in gemmAtB: 13 slivers,
// 256 panels), so that each goroutine packs only the blocks of b it uses
// and a large b is read once.
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
	slivers := (m + gemmMR - 1) / gemmMR
	panels := (n + gemmNR - 1) / gemmNR
	byRows := slivers >= panels
	workers := runtime.GOMAXPROCS(0)
	if 2*float64(m)*float64(n)*float64(k) < gemmParallelMin {
		workers = 1
	}
	if byRows {
		workers = min(workers, slivers)
	} else {
		workers = min(workers, panels)
	}
	if workers <= 1 {
		gemmPart(0, m, 0, panels, n, k, a, lda, b, ldb, c, ldc)
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		i0, i1, p0, p1 := 0, m, 0, panels
		if byRows {
			i0, i1 = slivers*w/workers*gemmMR, min(m, slivers*(w+1)/workers*gemmMR)
		} else {
			p0, p1 = panels*w/workers, panels*(w+1)/workers
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			gemmPart(i0, i1, p0, p1, n, k, a, lda, b, ldb, c, ldc)
		}()
	}
	wg.Wait()
}

// gemmAtB sets c = aᵀ·b for row-major a (k×m, stride lda) and dense b
// (k×n) and c (m×n): the Aᵀ products of the randomized SVD, without
// forming Aᵀ. It computes cᵀ = bᵀ·a (n×m) with gemm and transposes the
// small bᵀ and cᵀ (n ≪ m there), so the large a is read once, in order, as
// gemm's packed operand. (With gonum this form, M = n, was also faster
// than blas32.Gemm with a transposed: 0.34 against 0.51 CPU-seconds.)
func gemmAtB(m, n, k int, a []float32, lda int, b, c []float32) {
	bt := make([]float32, n*k)
	transpose(bt, b[:k*n], k, n)
	ct := make([]float32, n*m)
	gemm(n, m, k, bt, k, a, lda, ct, m)
	transpose(c[:m*n], ct, n, m)
}

// packB copies rows k0..k0+kc of panels p0..p1 of b (gemmNR columns each)
// to bp: panel p's row t at bp[((p-p0)·kc+t)·gemmNR:], zero past column n.
func packB(bp, b []float32, ldb, k0, kc, p0, p1, n int) {
	full := min(p1, n/gemmNR) - p0 // panels with all gemmNR columns
	if packPanels != nil && full > 0 {
		packPanels(bp, b[k0*ldb+p0*gemmNR:], ldb, kc, full)
		p0 += full
		bp = bp[full*kc*gemmNR:]
	}
	for t := 0; t < kc; t++ {
		row := b[(k0+t)*ldb:]
		for p := p0; p < p1; p++ {
			j0 := p * gemmNR
			w := min(gemmNR, n-j0)
			d := bp[((p-p0)*kc+t)*gemmNR : ((p-p0)*kc+t+1)*gemmNR]
			copy(d, row[j0:j0+w])
			clear(d[w:])
		}
	}
}

// packPanels, if set, does packB's work for np full panels from b (row
// stride ldb, panel 0 at b[0]) to bp.
var packPanels func(bp, b []float32, ldb, kc, np int)

// gemmPart computes rows i0..i1 and panels p0..p1 of c = a·b. It packs b
// a block at a time (up to gemmKCMax rows by as many panels as fit in
// gemmKCFloats, to stay in L2) and runs the micro-kernel over every
// (sliver, panel) pair of the block. The rows of a are read in place,
// gemmMR at a time, kc values each (24 KiB at kc 1024, in L1 while the
// kernel runs over every panel of the block).
func gemmPart(i0, i1, p0, p1, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	var tile [gemmMR * gemmNR]float32
	var rowsA [gemmMR][]float32
	// k in equal blocks of at most gemmKCMax, and as many panels per block
	// as fit in gemmKCFloats.
	kblocks := (k + gemmKCMax - 1) / gemmKCMax
	kcb := (k + kblocks - 1) / kblocks
	np := max(1, min(p1-p0, gemmKCFloats/(kcb*gemmNR)))
	zero := make([]float32, kcb)
	bp := make([]float32, kcb*np*gemmNR)
	for q0 := p0; q0 < p1; q0 += np {
		q1 := min(p1, q0+np)
		for k0 := 0; k0 < k; k0 += kcb {
			kc := min(kcb, k-k0)
			packB(bp, b, ldb, k0, kc, q0, q1, n)
			for i := i0; i < i1; i += gemmMR {
				rows := min(gemmMR, i1-i)
				for r := range rowsA {
					if r < rows {
						rowsA[r] = a[(i+r)*lda+k0 : (i+r)*lda+k0+kc]
					} else {
						rowsA[r] = zero[:kc]
					}
				}
				for p := q0; p < q1; p++ {
					off := (p - q0) * kc * gemmNR
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
// blas32 (SSE assembly); qrDot and qrAxpy are replaced by AVX2+FMA
// assembly where gemm's kernel is (svd_kernel_amd64.go).
var (
	qrDot  = qrDotGonum
	qrAxpy = qrAxpyGonum
	qrScal = func(alpha float32, x []float32) {
		blas32.Scal(alpha, blas32.Vector{N: len(x), Inc: 1, Data: x})
	}
)

func qrDotGonum(x, y []float32) float32 {
	return blas32.Dot(blas32.Vector{N: len(x), Inc: 1, Data: x}, blas32.Vector{N: len(x), Inc: 1, Data: y})
}

func qrAxpyGonum(alpha float32, x, y []float32) {
	blas32.Axpy(alpha, blas32.Vector{N: len(x), Inc: 1, Data: x}, blas32.Vector{N: len(x), Inc: 1, Data: y})
}
