//go:build amd64 && !purego

#include "textflag.h"

// The AVX2+FMA kernels of the randomized SVD (declared in
// svd_kernel_amd64.go, which says when they run).

// gemmKernel6x16AVX2 register use:
//   R8..R13 the six rows of A, CX byte offset into them (4 per step),
//   SI the packed B panel (64 bytes per step), DI the tile,
//   DX kc·4, BX kc·4 rounded down to 16 (the 4-step loop's bound),
//   Y0..Y11 the 6×16 tile (row r in Y(2r), Y(2r+1)),
//   Y12, Y13 one step's 16 values of B, Y14, Y15 broadcasts of A.

// STEP(ao, bo) adds the outer product of column CX+ao of the six rows and
// the B row at bo(SI) to the tile.
#define STEP(ao, bo) \
	VMOVUPS      bo(SI), Y12; \
	VMOVUPS      bo+32(SI), Y13; \
	VBROADCASTSS ao(R8)(CX*1), Y14; \
	VFMADD231PS  Y12, Y14, Y0; \
	VFMADD231PS  Y13, Y14, Y1; \
	VBROADCASTSS ao(R9)(CX*1), Y15; \
	VFMADD231PS  Y12, Y15, Y2; \
	VFMADD231PS  Y13, Y15, Y3; \
	VBROADCASTSS ao(R10)(CX*1), Y14; \
	VFMADD231PS  Y12, Y14, Y4; \
	VFMADD231PS  Y13, Y14, Y5; \
	VBROADCASTSS ao(R11)(CX*1), Y15; \
	VFMADD231PS  Y12, Y15, Y6; \
	VFMADD231PS  Y13, Y15, Y7; \
	VBROADCASTSS ao(R12)(CX*1), Y14; \
	VFMADD231PS  Y12, Y14, Y8; \
	VFMADD231PS  Y13, Y14, Y9; \
	VBROADCASTSS ao(R13)(CX*1), Y15; \
	VFMADD231PS  Y12, Y15, Y10; \
	VFMADD231PS  Y13, Y15, Y11

// func gemmKernel6x16AVX2(kc int, a *[6]*float32, bp *float32, tile *[96]float32)
TEXT ·gemmKernel6x16AVX2(SB), NOSPLIT, $0-32
	MOVQ kc+0(FP), DX
	MOVQ a+8(FP), AX
	MOVQ bp+16(FP), SI
	MOVQ tile+24(FP), DI
	MOVQ 0(AX), R8
	MOVQ 8(AX), R9
	MOVQ 16(AX), R10
	MOVQ 24(AX), R11
	MOVQ 32(AX), R12
	MOVQ 40(AX), R13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	XORQ   CX, CX
	SHLQ   $2, DX
	MOVQ   DX, BX
	ANDQ   $-16, BX
	JZ     gemm_tail

gemm_loop4:
	STEP(0, 0)
	STEP(4, 64)
	STEP(8, 128)
	STEP(12, 192)
	ADDQ $16, CX
	ADDQ $256, SI
	CMPQ CX, BX
	JB   gemm_loop4

gemm_tail:
	CMPQ CX, DX
	JAE  gemm_store

gemm_loop1:
	STEP(0, 0)
	ADDQ $4, CX
	ADDQ $64, SI
	CMPQ CX, DX
	JB   gemm_loop1

gemm_store:
	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, 128(DI)
	VMOVUPS Y5, 160(DI)
	VMOVUPS Y6, 192(DI)
	VMOVUPS Y7, 224(DI)
	VMOVUPS Y8, 256(DI)
	VMOVUPS Y9, 288(DI)
	VMOVUPS Y10, 320(DI)
	VMOVUPS Y11, 352(DI)
	VZEROUPPER
	RET

// func dotAVX2(x, y *float32, n int) float32
// Σ x[i]·y[i] for i < n: four 8-lane FMA accumulators over 32 values a
// step, then 8 a step into the first, a fixed pairwise reduction of the
// lanes, then the last n mod 8 products in order.
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ   x+0(FP), SI
	MOVQ   y+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ   AX, AX
	MOVQ   CX, BX
	ANDQ   $-32, BX
	JZ     dot_8

dot_loop32:
	VMOVUPS     0(SI)(AX*4), Y4
	VMOVUPS     32(SI)(AX*4), Y5
	VMOVUPS     64(SI)(AX*4), Y6
	VMOVUPS     96(SI)(AX*4), Y7
	VFMADD231PS 0(DI)(AX*4), Y4, Y0
	VFMADD231PS 32(DI)(AX*4), Y5, Y1
	VFMADD231PS 64(DI)(AX*4), Y6, Y2
	VFMADD231PS 96(DI)(AX*4), Y7, Y3
	ADDQ        $32, AX
	CMPQ        AX, BX
	JB          dot_loop32

dot_8:
	MOVQ CX, BX
	ANDQ $-8, BX
	CMPQ AX, BX
	JAE  dot_reduce

dot_loop8:
	VMOVUPS     0(SI)(AX*4), Y4
	VFMADD231PS 0(DI)(AX*4), Y4, Y0
	ADDQ        $8, AX
	CMPQ        AX, BX
	JB          dot_loop8

dot_reduce:
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0 // lanes i and i+4
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0 // and i+2
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0 // and i+1
	CMPQ         AX, CX
	JAE          dot_done

dot_loop1:
	VMOVSS      0(SI)(AX*4), X4
	VFMADD231SS 0(DI)(AX*4), X4, X0
	INCQ        AX
	CMPQ        AX, CX
	JB          dot_loop1

dot_done:
	VMOVSS     X0, ret+24(FP)
	VZEROUPPER
	RET

// func axpyAVX2(alpha float32, x, y *float32, n int)
// y[i] += alpha·x[i] (one fused multiply-add each) for i < n.
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Y0
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), CX
	XORQ         AX, AX
	MOVQ         CX, BX
	ANDQ         $-32, BX
	JZ           axpy_8

axpy_loop32:
	VMOVUPS     0(DI)(AX*4), Y1
	VMOVUPS     32(DI)(AX*4), Y2
	VMOVUPS     64(DI)(AX*4), Y3
	VMOVUPS     96(DI)(AX*4), Y4
	VFMADD231PS 0(SI)(AX*4), Y0, Y1
	VFMADD231PS 32(SI)(AX*4), Y0, Y2
	VFMADD231PS 64(SI)(AX*4), Y0, Y3
	VFMADD231PS 96(SI)(AX*4), Y0, Y4
	VMOVUPS     Y1, 0(DI)(AX*4)
	VMOVUPS     Y2, 32(DI)(AX*4)
	VMOVUPS     Y3, 64(DI)(AX*4)
	VMOVUPS     Y4, 96(DI)(AX*4)
	ADDQ        $32, AX
	CMPQ        AX, BX
	JB          axpy_loop32

axpy_8:
	MOVQ CX, BX
	ANDQ $-8, BX
	CMPQ AX, BX
	JAE  axpy_tail

axpy_loop8:
	VMOVUPS     0(DI)(AX*4), Y1
	VFMADD231PS 0(SI)(AX*4), Y0, Y1
	VMOVUPS     Y1, 0(DI)(AX*4)
	ADDQ        $8, AX
	CMPQ        AX, BX
	JB          axpy_loop8

axpy_tail:
	CMPQ AX, CX
	JAE  axpy_done

axpy_loop1:
	VMOVSS      0(DI)(AX*4), X1
	VFMADD231SS 0(SI)(AX*4), X0, X1
	VMOVSS      X1, 0(DI)(AX*4)
	INCQ        AX
	CMPQ        AX, CX
	JB          axpy_loop1

axpy_done:
	VZEROUPPER
	RET

// func packPanelsAVX2(bp, b *float32, ldb, kc, np int)
// Copies kc rows of np full 16-float panels: row t of panel p, from
// b + t·ldb + 16·p floats, to bp + (p·kc + t)·16 floats. Each row's
// source is prefetched PACKAHEAD rows ahead: the rows of a large b sit
// 16 KiB apart, and the hardware prefetchers left the copy waiting on
// memory.
#define PACKAHEAD 8
TEXT ·packPanelsAVX2(SB), NOSPLIT, $0-40
	MOVQ bp+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ ldb+16(FP), R8
	SHLQ $2, R8            // row stride in bytes
	MOVQ kc+24(FP), R9
	MOVQ np+32(FP), R10
	MOVQ R9, R11
	SHLQ $6, R11           // bytes from one panel to the next in bp
	MOVQ R8, R12
	IMULQ $PACKAHEAD, R12  // prefetch distance
	TESTQ R9, R9
	JZ   pack_done
	TESTQ R10, R10
	JZ   pack_done

pack_row:
	MOVQ SI, AX            // source of this row
	MOVQ DI, BX            // destination of its panel 0
	MOVQ R10, CX

pack_panel:
	PREFETCHT0 (AX)(R12*1)
	VMOVUPS    (AX), Y0
	VMOVUPS    32(AX), Y1
	VMOVUPS    Y0, (BX)
	VMOVUPS    Y1, 32(BX)
	ADDQ       $64, AX
	ADDQ       R11, BX
	DECQ       CX
	JNZ        pack_panel

	ADDQ R8, SI
	ADDQ $64, DI
	DECQ R9
	JNZ  pack_row

pack_done:
	VZEROUPPER
	RET
