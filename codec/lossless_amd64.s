//go:build amd64 && !purego

#include "textflag.h"

// func joinRot32SSE2(dst, p0, p1, p2, p3 *byte, n int)
// Interleaves the four byte planes into n little-endian 32-bit values,
// each rotated right by one bit; n is a multiple of 16.
TEXT ·joinRot32SSE2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ p0+8(FP), SI
	MOVQ p1+16(FP), R8
	MOVQ p2+24(FP), R9
	MOVQ p3+32(FP), R10
	MOVQ n+40(FP), CX
	SHRQ $4, CX
	JZ   join_done

join_loop:
	MOVOU (SI), X0
	MOVOU (R8), X1
	MOVOU (R9), X2
	MOVOU (R10), X3
	MOVO  X0, X4
	PUNPCKLBW X1, X4
	PUNPCKHBW X1, X0
	MOVO  X2, X5
	PUNPCKLBW X3, X5
	PUNPCKHBW X3, X2
	MOVO  X4, X6
	PUNPCKLWL X5, X6
	PUNPCKHWL X5, X4
	MOVO  X0, X7
	PUNPCKLWL X2, X7
	PUNPCKHWL X2, X0
	MOVO  X6, X8
	PSRLL $1, X6
	PSLLL $31, X8
	POR   X8, X6
	MOVO  X4, X9
	PSRLL $1, X4
	PSLLL $31, X9
	POR   X9, X4
	MOVO  X7, X10
	PSRLL $1, X7
	PSLLL $31, X10
	POR   X10, X7
	MOVO  X0, X11
	PSRLL $1, X0
	PSLLL $31, X11
	POR   X11, X0
	MOVOU X6, (DI)
	MOVOU X4, 16(DI)
	MOVOU X7, 32(DI)
	MOVOU X0, 48(DI)
	ADDQ  $16, SI
	ADDQ  $16, R8
	ADDQ  $16, R9
	ADDQ  $16, R10
	ADDQ  $64, DI
	DECQ  CX
	JNZ   join_loop

join_done:
	RET

// func orLowBMI2(dst, low *byte, groups, w int, mask4, keep4 uint64)
// For each group of eight w-bit fields (w bytes at low), ors
// f>>1&keep | (f&1)<<15 into the next eight 16-bit values at dst.
// Reads eight bytes per group.
TEXT ·orLowBMI2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ low+8(FP), SI
	MOVQ groups+16(FP), CX
	MOVQ w+24(FP), DX
	MOVQ mask4+32(FP), R8
	MOVQ keep4+40(FP), R9
	MOVQ DX, R10
	SHLQ $2, R10
	MOVQ $0x0001000100010001, R11
	TESTQ CX, CX
	JZ   or_done

or_loop:
	MOVQ  (SI), AX
	PDEPQ R8, AX, BX
	SHRXQ R10, AX, AX
	PDEPQ R8, AX, AX
	MOVQ  BX, R12
	SHRQ  $1, R12
	ANDQ  R9, R12
	ANDQ  R11, BX
	SHLQ  $15, BX
	ORQ   R12, BX
	MOVQ  AX, R13
	SHRQ  $1, R13
	ANDQ  R9, R13
	ANDQ  R11, AX
	SHLQ  $15, AX
	ORQ   R13, AX
	ORQ   BX, (DI)
	ORQ   AX, 8(DI)
	ADDQ  DX, SI
	ADDQ  $16, DI
	DECQ  CX
	JNZ   or_loop

or_done:
	RET

// One table lookup on a stream: bit buffer B, output offset O; R15 holds
// 64-huffMaxLen. The entry's low six bits are the bits its codes take.
#define LOOKUP(B, O, E) \
	SHRXQ R15, B, E \
	MOVQ  (R8)(E*8), E \
	SHLXQ E, B, B \
	MOVQ  E, DX \
	SHRQ  $8, DX \
	MOVQ  DX, (DI)(O*1) \
	SHRQ  $60, E \
	ADDQ  E, O

// Loads the stream bits from bit position P into B: the 56 bits from byte
// P/8 on, then a 1 (the sentinel), then zeros, shifted left by P%8. After
// the lookups shifted B by n bits the sentinel sits at bit 7+P%8+n.
#define REFILL(B, P) \
	MOVQ   P, AX \
	SHRQ   $3, AX \
	MOVQ   (SI)(AX*1), B \
	BSWAPQ B \
	ANDQ   $-256, B \
	ORQ    $0x80, B \
	MOVQ   P, AX \
	ANDQ   $7, AX \
	SHLXQ  AX, B, B

// Advances P past the bits the lookups took since REFILL(B, P).
#define ADVANCE(B, P) \
	TZCNTQ B, AX \
	ANDQ   $-8, P \
	LEAQ   -7(P)(AX*1), P

// func huffRun2BMI2(dst, src *byte, t *huffTable, state *[4]int, r int)
// Runs r rounds (a refill and four lookups) on two streams; state holds
// their output offsets and bit positions (oa, ob, pa, pb).
TEXT ·huffRun2BMI2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ t+16(FP), R8
	MOVQ state+24(FP), CX
	MOVQ 0(CX), R9
	MOVQ 8(CX), R10
	MOVQ 16(CX), R11
	MOVQ 24(CX), R12
	MOVQ $52, R15
	MOVQ r+32(FP), CX
	TESTQ CX, CX
	JLE  huff_done

huff_loop:
	REFILL(R13, R11)
	REFILL(R14, R12)
	LOOKUP(R13, R9, AX)
	LOOKUP(R14, R10, BX)
	LOOKUP(R13, R9, AX)
	LOOKUP(R14, R10, BX)
	LOOKUP(R13, R9, AX)
	LOOKUP(R14, R10, BX)
	LOOKUP(R13, R9, AX)
	LOOKUP(R14, R10, BX)
	ADVANCE(R13, R11)
	ADVANCE(R14, R12)
	DECQ CX
	JNZ  huff_loop

huff_done:
	MOVQ state+24(FP), CX
	MOVQ R9, 0(CX)
	MOVQ R10, 8(CX)
	MOVQ R11, 16(CX)
	MOVQ R12, 24(CX)
	RET
