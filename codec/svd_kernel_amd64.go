//go:build amd64 && !purego

package codec

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// On amd64 the gemm micro-kernel, the packing of gemm's B operand, and the
// QR's dot and axpy are AVX2+FMA assembly (svd_kernel_amd64.s), chosen at
// start-up when the CPU has both (cpu.X86.HasAVX2 includes the check that
// the OS saves the YMM state); otherwise gemm keeps calling gonum's
// blas32.Gemm and the QR gonum's blas32 vector operations. -tags purego
// leaves the assembly out.
//
// The assembly replaced a kernel written with Go's experimental
// simd/archsimd package, which only a GOEXPERIMENT=simd build compiled
// (default builds, as users and CI make them, got gonum at 6–14× numpy's
// time) and which ran at about half the assembly's speed: the compiler
// emitted only the destructive VFMADD213PS form and register-source
// broadcasts, so every step carried register copies, and its 6×16 tile
// spilled, so it stayed at 4×16. The assembly's 6×16 tile (twelve
// accumulators, broadcasts straight from memory) ran at 81 GFLOP/s on one
// core against 42 for the SIMD-package kernel in the same runs (the
// 4096×4096 by 4096×74 product), so the latter and its build tag were
// removed.
func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		gemmKernel = gemmKernelAsm
		gemmKernelName = "avx2-fma (assembly)"
		packPanels = packPanelsAsm
		qrDot, qrAxpy = qrDotAsm, qrAxpyAsm
	}
}

// The assembly has the tile shape built in.
var _ = [1]struct{}{}[gemmMR*gemmNR-6*16]
var _ = [1]struct{}{}[gemmMR-6]

// gemmKernel6x16AVX2 is the micro-kernel of gemmKernelAsm: the 6×16 tile
// in twelve 8-float accumulators; per step two vector loads of bp, six
// broadcasts from memory and twelve FMAs (VFMADD231PS, so no register
// copies), the loop unrolled four steps. kc ≥ 0; each a[r] points at kc
// values and bp at 16·kc.
//
//go:noescape
func gemmKernel6x16AVX2(kc int, a *[6]*float32, bp *float32, tile *[96]float32)

// dotAVX2 returns Σ x[i]·y[i] for i < n (n ≥ 0).
//
//go:noescape
func dotAVX2(x, y *float32, n int) float32

// axpyAVX2 sets y[i] += alpha·x[i] for i < n (n ≥ 0).
//
//go:noescape
func axpyAVX2(alpha float32, x, y *float32, n int)

// packPanelsAVX2 copies kc rows of np full panels of b (row stride ldb
// floats) to bp: row t of panel p, b[t·ldb+16·p:][:16], at bp[(p·kc+t)·16:].
//
//go:noescape
func packPanelsAVX2(bp, b *float32, ldb, kc, np int)

// gemmKernelAsm is gemmKernel (see there) in assembly, after checking
// the lengths the assembly relies on.
func gemmKernelAsm(kc int, a *[gemmMR][]float32, bp []float32, tile *[gemmMR * gemmNR]float32) {
	if kc <= 0 {
		clear(tile[:])
		return
	}
	var p [6]*float32
	for r := range p {
		p[r] = &a[r][:kc][0]
	}
	gemmKernel6x16AVX2(kc, &p, &bp[:gemmNR*kc][0], (*[96]float32)(tile))
}

// packPanelsAsm is packPanels in assembly, after checking the lengths.
func packPanelsAsm(bp, b []float32, ldb, kc, np int) {
	if kc <= 0 || np <= 0 {
		return
	}
	_ = bp[np*kc*gemmNR-1]
	_ = b[(kc-1)*ldb+np*gemmNR-1]
	packPanelsAVX2(unsafe.SliceData(bp), unsafe.SliceData(b), ldb, kc, np)
}

// qrDotAsm is qrDot in assembly: Σ x[i]·y[i] over len(x) values (y at
// least as long).
func qrDotAsm(x, y []float32) float32 {
	if len(x) == 0 {
		return 0
	}
	y = y[:len(x)]
	return dotAVX2(unsafe.SliceData(x), unsafe.SliceData(y), len(x))
}

// qrAxpyAsm is qrAxpy in assembly: y[i] += alpha·x[i] for i < len(x).
func qrAxpyAsm(alpha float32, x, y []float32) {
	if len(x) == 0 {
		return
	}
	y = y[:len(x)]
	axpyAVX2(alpha, unsafe.SliceData(x), unsafe.SliceData(y), len(x))
}
