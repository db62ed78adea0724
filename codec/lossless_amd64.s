//go:build amd64 && !purego

#include "textflag.h"

// The four-stream Huffman loop (see huffRun4Go in lossless_huff.go).
// Registers: stream i has its bit buffer in R8+i, the count of valid bits
// at the buffer's top in R12, R13, BX, CX (low six bits exact; the rest
// garbage until the refill masks them), its output pointer in DI, SI, DX,
// BP; its source pointer lives at 8*i(SP). R14 is the table, R15 64 minus
// the table's bits (also kept at 56(SP): the refill borrows R15), AX the
// scratch register.

// One table lookup on a stream: the entry's low six bits are the bits its
// codes take, so B shifts by the entry itself, and C's low six bits stay
// exact when the whole entry is subtracted. SHIFTS turns the entry into
// the word to store (a shift by 8 for byte symbols, nothing for 16-bit
// ones); the output advance then sits at bit ADV.
#define LOOKUP(B, C, O, SHIFTS) \
	SHRXQ R15, B, AX \
	MOVQ  (R14)(AX*8), AX \
	SHLXQ AX, B, B \
	SUBQ  AX, C \
	SHIFTS(AX) \
	MOVQ  AX, (O) \
	SHRQ  ADV, AX \
	ADDQ  AX, O

// The round's last lookup on a stream, with the refill: the bytes that
// fit below B's C valid bits are or-ed in from the source pointer at
// P(SP), which then moves past them (Giesen's variant 4: the load's address
// does not wait for the lookups). Its window is read before the refill
// (at least 20 bits are valid then), so that the refill, which waits for
// C, is off the lookups' dependency chain: only the shift by the entry
// waits for it, and the entry's load takes longer.
#define LOOKUP_REFILL(B, C, O, P, SHIFTS) \
	SHRXQ  R15, B, AX \
	MOVQ   (R14)(AX*8), AX \
	MOVQ   P(SP), R15 \
	MOVQ   (R15), R15 \
	BSWAPQ R15 \
	ANDQ   $63, C \
	SHRXQ  C, R15, R15 \
	ORQ    R15, B \
	SHLXQ  AX, B, B \
	MOVL   C, R15 \
	XORL   $63, R15 \
	SHRL   $3, R15 \
	ADDQ   R15, P(SP) \
	MOVQ   56(SP), R15 \
	ORQ    $56, C \
	SUBQ   AX, C \
	SHIFTS(AX) \
	MOVQ   AX, (O) \
	SHRQ   ADV, AX \
	ADDQ   AX, O

// Starts a stream from the state at R15: bit position OFF(R15), output
// offset (OFF-32)(R15). Loads the eight bytes at the position's byte,
// shifted past its bits within that byte: 56 minus those bits are valid.
#define START(B, C, O, OFF, P) \
	MOVQ   OFF(R15), AX \
	MOVQ   AX, C \
	ANDQ   $7, C \
	SHRQ   $3, AX \
	ADDQ   40(SP), AX \
	MOVQ   (AX), B \
	BSWAPQ B \
	SHLXQ  C, B, B \
	NEGQ   C \
	ADDQ   $56, C \
	ADDQ   $7, AX \
	MOVQ   AX, P(SP) \
	MOVQ   (OFF-32)(R15), O \
	ADDQ   48(SP), O

// Stores a stream's output offset and bit position (8*pointer - C) back
// into the state at R15.
#define STOP(C, O, OFF, P) \
	SUBQ   48(SP), O \
	MOVQ   O, (OFF-32)(R15) \
	MOVQ   P(SP), AX \
	SUBQ   40(SP), AX \
	SHLQ   $3, AX \
	ANDQ   $63, C \
	SUBQ   C, AX \
	MOVQ   AX, OFF(R15)

// huffRun4's prologue: frame 0..24(SP) the source pointers, 32(SP) the
// rounds left (at least one, in AX), 40(SP) src, 48(SP) dst, 56(SP) the
// table's shift.
#define RUN4_START \
	MOVQ AX, 32(SP) \
	MOVQ src+8(FP), AX \
	MOVQ AX, 40(SP) \
	MOVQ dst+0(FP), AX \
	MOVQ AX, 48(SP) \
	MOVQ t+16(FP), R14 \
	MOVQ s+24(FP), R15 \
	START(R8, R12, DI, 32, 0) \
	START(R9, R13, SI, 40, 8) \
	START(R10, BX, DX, 48, 16) \
	START(R11, CX, BP, 56, 24) \
	MOVQ 64(R15), R15 \
	MOVQ R15, 56(SP)

// One round: four lookups on each stream, interleaved, the last with the
// refill.
#define ROUND(SHIFTS) \
	LOOKUP(R8, R12, DI, SHIFTS) \
	LOOKUP(R9, R13, SI, SHIFTS) \
	LOOKUP(R10, BX, DX, SHIFTS) \
	LOOKUP(R11, CX, BP, SHIFTS) \
	LOOKUP(R8, R12, DI, SHIFTS) \
	LOOKUP(R9, R13, SI, SHIFTS) \
	LOOKUP(R10, BX, DX, SHIFTS) \
	LOOKUP(R11, CX, BP, SHIFTS) \
	LOOKUP(R8, R12, DI, SHIFTS) \
	LOOKUP(R9, R13, SI, SHIFTS) \
	LOOKUP(R10, BX, DX, SHIFTS) \
	LOOKUP(R11, CX, BP, SHIFTS) \
	LOOKUP_REFILL(R8, R12, DI, 0, SHIFTS) \
	LOOKUP_REFILL(R9, R13, SI, 8, SHIFTS) \
	LOOKUP_REFILL(R10, BX, DX, 16, SHIFTS) \
	LOOKUP_REFILL(R11, CX, BP, 24, SHIFTS)

#define RUN4_STOP \
	MOVQ s+24(FP), R15 \
	STOP(R12, DI, 32, 0) \
	STOP(R13, SI, 40, 8) \
	STOP(BX, DX, 48, 16) \
	STOP(CX, BP, 56, 24)

#define SHIFT8(R) SHRQ $8, R
#define SHIFT0(R)

// func huffRun4Bytes(dst, src *byte, t *huffTable, s *huffState, r int)
// Runs r rounds (four lookups on each stream and a refill of each) on four
// streams of byte symbols; s holds their output offsets, bit positions and
// the table's shift.
#define ADV $52
TEXT ·huffRun4Bytes(SB), $64-40
	MOVQ  r+32(FP), AX
	TESTQ AX, AX
	JLE   run4b_ret
	RUN4_START

run4b_loop:
	ROUND(SHIFT8)
	DECQ 32(SP)
	JNZ  run4b_loop
	RUN4_STOP

run4b_ret:
	RET
#undef ADV

// func huffRun4Words(dst, src *byte, t *huffTable, s *huffState, r int)
// huffRun4Bytes for 16-bit symbols: the entry is stored as it is.
#define ADV $60
TEXT ·huffRun4Words(SB), $64-40
	MOVQ  r+32(FP), AX
	TESTQ AX, AX
	JLE   run4w_ret
	RUN4_START

run4w_loop:
	ROUND(SHIFT0)
	DECQ 32(SP)
	JNZ  run4w_loop
	RUN4_STOP

run4w_ret:
	RET
#undef ADV

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

// func mergeLowAVX2(dst, low *byte, groups, w int, c *mergeConsts)
// For each group of sixteen w-bit fields f (2w bytes at low; reads
// sixteen) and the next sixteen 16-bit values u at dst, stores
// rotr16(u&^(1<<w-1) | f, 1): the bytes holding each field are shuffled
// into its lane, multiplied so that the field starts at bit 7, swapped
// within the lane (a rotation by 8) and masked; u is shifted right by one
// and masked.
TEXT ·mergeLowAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ low+8(FP), SI
	MOVQ groups+16(FP), CX
	MOVQ w+24(FP), DX
	SHLQ $1, DX
	MOVQ c+32(FP), AX
	VMOVDQU 0(AX), Y4
	VMOVDQU 32(AX), Y5
	VMOVDQU 64(AX), Y6
	VMOVDQU 96(AX), Y7
	VMOVDQU 128(AX), Y8
	TESTQ CX, CX
	JLE  merge_done

merge_loop:
	VBROADCASTI128 (SI), Y0
	VPSHUFB Y4, Y0, Y0
	VPMULLW Y5, Y0, Y0
	VPSHUFB Y6, Y0, Y0
	VPAND   Y7, Y0, Y0
	VMOVDQU (DI), Y1
	VPSRLW  $1, Y1, Y1
	VPAND   Y8, Y1, Y1
	VPOR    Y1, Y0, Y0
	VMOVDQU Y0, (DI)
	ADDQ DX, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  merge_loop

merge_done:
	VZEROUPPER
	RET
