//go:build amd64 && !purego

#include "textflag.h"

// Register use in both kernels:
//   DI out, SI a, DX b, CX n (elements), BX loop counter,
//   Y0 = wa broadcast, Y1 = wb broadcast, Y2..Y5 accumulators.

// AXPBY32 computes 32 results (4 YMM) into Y2..Y5: wa*a, then fma(wb, b, .).
#define AXPBY32 \
	VMULPS (SI), Y0, Y2; \
	VMULPS 32(SI), Y0, Y3; \
	VMULPS 64(SI), Y0, Y4; \
	VMULPS 96(SI), Y0, Y5; \
	VFMADD231PS (DX), Y1, Y2; \
	VFMADD231PS 32(DX), Y1, Y3; \
	VFMADD231PS 64(DX), Y1, Y4; \
	VFMADD231PS 96(DX), Y1, Y5

#define ADVANCE(bytes) \
	ADDQ $bytes, SI; \
	ADDQ $bytes, DX; \
	ADDQ $bytes, DI

// func axpbyAVX2(out, a, b *float32, n int, wa, wb float32)
TEXT ·axpbyAVX2(SB), NOSPLIT, $0-40
	MOVQ out+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS wa+32(FP), Y0
	VBROADCASTSS wb+36(FP), Y1

	MOVQ CX, BX
	SHRQ $5, BX
	JZ   tail8

loop32:
	AXPBY32
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, 32(DI)
	VMOVUPS Y4, 64(DI)
	VMOVUPS Y5, 96(DI)
	ADVANCE(128)
	DECQ BX
	JNZ  loop32

tail8:
	ANDQ $31, CX
	MOVQ CX, BX
	SHRQ $3, BX
	JZ   tail1

loop8:
	VMULPS      (SI), Y0, Y2
	VFMADD231PS (DX), Y1, Y2
	VMOVUPS     Y2, (DI)
	ADVANCE(32)
	DECQ BX
	JNZ  loop8

tail1:
	ANDQ $7, CX
	JZ   done

loop1:
	VMULSS      (SI), X0, X2
	VFMADD231SS (DX), X1, X2
	VMOVSS      X2, (DI)
	ADVANCE(4)
	DECQ CX
	JNZ  loop1

done:
	VZEROUPPER
	RET

// func axpbyAVX2NT(out, a, b *float32, n int, wa, wb float32)
// out is 32-byte aligned, n a positive multiple of 32.
TEXT ·axpbyAVX2NT(SB), NOSPLIT, $0-40
	MOVQ out+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), BX
	VBROADCASTSS wa+32(FP), Y0
	VBROADCASTSS wb+36(FP), Y1
	SHRQ $5, BX
	JZ   ntdone

ntloop:
	AXPBY32
	VMOVNTPS Y2, (DI)
	VMOVNTPS Y3, 32(DI)
	VMOVNTPS Y4, 64(DI)
	VMOVNTPS Y5, 96(DI)
	ADVANCE(128)
	DECQ BX
	JNZ  ntloop

ntdone:
	SFENCE
	VZEROUPPER
	RET
