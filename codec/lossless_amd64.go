//go:build amd64 && !purego

package codec

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// useBMI2 reports whether the BMI1/BMI2 loops may run (PDEP is fast on
// this codec's targets: Intel since Haswell, AMD since Zen 3).
var useBMI2 = cpu.X86.HasBMI1 && cpu.X86.HasBMI2

//go:noescape
func huffRun2BMI2(dst, src *byte, t *huffTable, state *[4]int, r int)

// huffRun2 runs r rounds of five lookups on two streams (see huffRun2Go).
func huffRun2(dst, src []byte, t *huffTable, state *[4]int, r int) {
	if useBMI2 {
		huffRun2BMI2(unsafe.SliceData(dst), unsafe.SliceData(src), t, state, r)
		return
	}
	huffRun2Go(dst, src, t, state, r)
}

//go:noescape
func joinRot32SSE2(dst, p0, p1, p2, p3 *byte, n int)

//go:noescape
func orLowBMI2(dst, low *byte, groups, w int, mask4, keep4 uint64)

// joinRot32 writes n rotated 32-bit values from four planes; it returns
// how many it did (a multiple of 16).
func joinRot32(raw []byte, p0, p1, p2, p3 []byte, n int) int {
	m := n &^ 15
	if m == 0 || len(raw) < 4*m || len(p0) < m || len(p1) < m || len(p2) < m || len(p3) < m {
		return 0
	}
	joinRot32SSE2(unsafe.SliceData(raw), unsafe.SliceData(p0), unsafe.SliceData(p1), unsafe.SliceData(p2), unsafe.SliceData(p3), m)
	return m
}

// orLowFast does orLow's work for whole groups of eight elements whose
// eight-byte loads stay inside low; it returns how many elements it did.
func orLowFast(raw, low []byte, n int, w uint) int {
	if !useBMI2 {
		return 0
	}
	groups := min(n/8, (len(low)-8)/int(w)+1)
	if len(low) < 8 || groups <= 0 || len(raw) < 16*groups {
		return 0
	}
	fmask := uint64(1)<<w - 1
	keep := uint64(1)<<(w-1) - 1
	orLowBMI2(unsafe.SliceData(raw), unsafe.SliceData(low), groups, int(w), fmask*0x0001000100010001, keep*0x0001000100010001)
	return 8 * groups
}
