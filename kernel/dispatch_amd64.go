//go:build amd64 && !purego

package kernel

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// useAVX2 reports whether the AVX2+FMA assembly may run (HasAVX2 includes
// the check that the OS saves YMM state).
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// ntAlign is the output alignment, in bytes, of the non-temporal loops: a
// whole cache line, so each line is filled by one write-combining burst.
const ntAlign = 64

// ntUnit is the element count the non-temporal loops require n to be a
// multiple of (four YMM registers).
const ntUnit = 32

// ntSplit divides out into a head written with ordinary stores until
// &out[head] is cache-line aligned, a body of whole ntUnits for the
// non-temporal loop, and the tail after it. ok is false when out is too
// short or not float32-aligned, and the caller should not stream.
func ntSplit(out []float32) (head, body int, ok bool) {
	if len(out) < 2*ntAlign/4+ntUnit {
		return 0, 0, false
	}
	addr := uintptr(unsafe.Pointer(&out[0]))
	if addr%4 != 0 {
		return 0, 0, false
	}
	head = int((ntAlign-addr%ntAlign)%ntAlign) / 4
	body = (len(out) - head) / ntUnit * ntUnit
	return head, body, true
}

// axpbyRange sets out = wa*a + wb*b; a and b are as long as out. With nt
// the cache-line-aligned bulk of out is written with non-temporal stores.
func axpbyRange(out, a, b []float32, wa, wb float32, nt bool) {
	n := len(out)
	if n == 0 {
		return
	}
	if !useAVX2 {
		axpbyGeneric(out, a, b, wa, wb)
		return
	}
	head, body, ok := ntSplit(out)
	if !nt || !ok {
		axpbyAVX2(&out[0], &a[0], &b[0], n, wa, wb)
		return
	}
	if head > 0 {
		axpbyAVX2(&out[0], &a[0], &b[0], head, wa, wb)
	}
	axpbyAVX2NT(&out[head], &a[head], &b[head], body, wa, wb)
	if t := head + body; t < n {
		axpbyAVX2(&out[t], &a[t], &b[t], n-t, wa, wb)
	}
}

// weightedBlock sets out[lo:hi] = Σ_k w[k]*in[k][lo:hi], for len(in) >= 1
// inputs as long as out. With nt the aligned bulk is streamed.
func weightedBlock(out []float32, in [][]float32, w []float32, lo, hi int, nt bool) {
	if !useAVX2 {
		weightedGeneric(out[lo:hi], in, w, lo)
		return
	}
	k := len(in)
	head, body, ok := ntSplit(out[lo:hi])
	if !nt || !ok {
		weightedAVX2(&out[lo], &in[0], &w[0], k, lo, hi-lo)
		return
	}
	if head > 0 {
		weightedAVX2(&out[lo], &in[0], &w[0], k, lo, head)
	}
	s := lo + head
	weightedAVX2NT(&out[s], &in[0], &w[0], k, s, body)
	if t := s + body; t < hi {
		weightedAVX2(&out[t], &in[0], &w[0], k, t, hi-t)
	}
}
