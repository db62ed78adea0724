//go:build amd64 && !purego

#include "textflag.h"

// Register use in both kernels:
//   DI out, R8 &in[0] (slice headers, 24 bytes each), R9 &w[0],
//   R10 nk, R11 byte offset into every input (advances with DI),
//   CX n (elements), BX outer counter, R12 header cursor, R13 weight
//   cursor, AX inner counter, SI current input base,
//   Y0 weight broadcast, Y2..Y5 accumulators.

// FIRSTw sets the accumulators of one w-lane block to w[0]*in[0] and NEXTw
// adds fma(w[k], in[k], acc) for the input at the R12/R13 cursors, for
// blocks of 32 (4 YMM), 8 (1 YMM) and 1 (scalar) lanes.

#define FIRST32 \
	MOVQ         (R8), SI; \
	ADDQ         R11, SI; \
	VBROADCASTSS (R9), Y0; \
	VMULPS       (SI), Y0, Y2; \
	VMULPS       32(SI), Y0, Y3; \
	VMULPS       64(SI), Y0, Y4; \
	VMULPS       96(SI), Y0, Y5

#define NEXT32 \
	MOVQ         (R12), SI; \
	ADDQ         R11, SI; \
	VBROADCASTSS (R13), Y0; \
	VFMADD231PS  (SI), Y0, Y2; \
	VFMADD231PS  32(SI), Y0, Y3; \
	VFMADD231PS  64(SI), Y0, Y4; \
	VFMADD231PS  96(SI), Y0, Y5

#define FIRST8 \
	MOVQ         (R8), SI; \
	ADDQ         R11, SI; \
	VBROADCASTSS (R9), Y0; \
	VMULPS       (SI), Y0, Y2

#define NEXT8 \
	MOVQ         (R12), SI; \
	ADDQ         R11, SI; \
	VBROADCASTSS (R13), Y0; \
	VFMADD231PS  (SI), Y0, Y2

#define FIRST1 \
	MOVQ   (R8), SI; \
	ADDQ   R11, SI; \
	VMOVSS (R9), X0; \
	VMULSS (SI), X0, X2

#define NEXT1 \
	MOVQ        (R12), SI; \
	ADDQ        R11, SI; \
	VMOVSS      (R13), X0; \
	VFMADD231SS (SI), X0, X2

// INNER(label, end, NEXT) runs NEXT for inputs 1..nk-1.
#define INNER(label, end, NEXT) \
	LEAQ 24(R8), R12; \
	LEAQ 4(R9), R13; \
	MOVQ R10, AX; \
	DECQ AX; \
	JZ   end; \
label: \
	NEXT; \
	ADDQ $24, R12; \
	ADDQ $4, R13; \
	DECQ AX; \
	JNZ  label; \
end:

#define LOADARGS \
	MOVQ out+0(FP), DI; \
	MOVQ in+8(FP), R8; \
	MOVQ w+16(FP), R9; \
	MOVQ nk+24(FP), R10; \
	MOVQ off+32(FP), R11; \
	SHLQ $2, R11; \
	MOVQ n+40(FP), CX

// func weightedAVX2(out *float32, in *[]float32, w *float32, nk, off, n int)
TEXT ·weightedAVX2(SB), NOSPLIT, $0-48
	LOADARGS
	MOVQ CX, BX
	SHRQ $5, BX
	JZ   tail8

loop32:
	FIRST32
	INNER(in32, in32end, NEXT32)
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, 32(DI)
	VMOVUPS Y4, 64(DI)
	VMOVUPS Y5, 96(DI)
	ADDQ $128, DI
	ADDQ $128, R11
	DECQ BX
	JNZ  loop32

tail8:
	ANDQ $31, CX
	MOVQ CX, BX
	SHRQ $3, BX
	JZ   tail1

loop8:
	FIRST8
	INNER(in8, in8end, NEXT8)
	VMOVUPS Y2, (DI)
	ADDQ $32, DI
	ADDQ $32, R11
	DECQ BX
	JNZ  loop8

tail1:
	ANDQ $7, CX
	JZ   done

loop1:
	FIRST1
	INNER(in1, in1end, NEXT1)
	VMOVSS X2, (DI)
	ADDQ $4, DI
	ADDQ $4, R11
	DECQ CX
	JNZ  loop1

done:
	VZEROUPPER
	RET

// func weightedAVX2NT(out *float32, in *[]float32, w *float32, nk, off, n int)
// out is 32-byte aligned, n a positive multiple of 32.
TEXT ·weightedAVX2NT(SB), NOSPLIT, $0-48
	LOADARGS
	MOVQ CX, BX
	SHRQ $5, BX
	JZ   ntdone

ntloop:
	FIRST32
	INNER(nt32, nt32end, NEXT32)
	VMOVNTPS Y2, (DI)
	VMOVNTPS Y3, 32(DI)
	VMOVNTPS Y4, 64(DI)
	VMOVNTPS Y5, 96(DI)
	ADDQ $128, DI
	ADDQ $128, R11
	DECQ BX
	JNZ  ntloop

ntdone:
	SFENCE
	VZEROUPPER
	RET
