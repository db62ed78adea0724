//go:build amd64 && !purego

package codec

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// useBMI2 reports whether the BMI1/BMI2 Huffman loops may run.
var useBMI2 = cpu.X86.HasBMI1 && cpu.X86.HasBMI2

// useAVX2 reports whether mergeLowAVX2 may run.
var useAVX2 = cpu.X86.HasAVX2

//go:noescape
func huffRun4Bytes(dst, src *byte, t *huffTable, s *huffState, r int)

//go:noescape
func huffRun4Words(dst, src *byte, t *huffTable, s *huffState, r int)

// huffRun4 runs r rounds on four streams (see huffRun4Go).
func huffRun4(dst, src []byte, t *huffTable, s *huffState, r, width int) {
	switch {
	case !useBMI2:
		huffRun4Go(dst, src, t, s, r, width)
	case width == 2:
		huffRun4Words(unsafe.SliceData(dst), unsafe.SliceData(src), t, s, r)
	default:
		huffRun4Bytes(unsafe.SliceData(dst), unsafe.SliceData(src), t, s, r)
	}
}

//go:noescape
func joinRot32SSE2(dst, p0, p1, p2, p3 *byte, n int)

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

//go:noescape
func mergeLowAVX2(dst, low *byte, groups, w int, c *mergeConsts)

// mergeConsts are mergeLowAVX2's constants for one field width w: per
// 16-bit lane, the shuffle that brings the two bytes holding the lane's
// field into the lane, the multiplier that shifts the field to bit 7, the
// byte swap within lanes, the mask of the rotated field and the mask of
// the symbol bits shifted right by one.
type mergeConsts struct {
	shuf, mul, swap, mask, high [32]byte
}

var mergeTab = [3]mergeConsts{makeMergeConsts(6), makeMergeConsts(7), makeMergeConsts(8)}

func makeMergeConsts(w int) (c mergeConsts) {
	for j := 0; j < 16; j++ {
		// lanes 8..15 read the same sixteen bytes in the upper half
		b, s := j*w/8, j*w%8
		if j >= 8 {
			b, s = (j-8)*w/8+w, (j-8)*w%8
		}
		c.shuf[2*j], c.shuf[2*j+1] = byte(b), byte(b+1)
		if b+1 >= 16 { // not needed (s+w <= 8): a zero byte
			c.shuf[2*j+1] = 0x80
		}
		binary.LittleEndian.PutUint16(c.mul[2*j:], uint16(1)<<(7-s))
		c.swap[2*j], c.swap[2*j+1] = byte(2*(j%8)+1), byte(2*(j%8))
		binary.LittleEndian.PutUint16(c.mask[2*j:], uint16(1)<<(w-1)-1|0x8000)
		binary.LittleEndian.PutUint16(c.high[2*j:], 0x7fff&^(uint16(1)<<(w-1)-1))
	}
	return c
}

// mergeLowFast does mergeLow's work for whole groups of sixteen elements
// whose sixteen-byte loads stay inside low; it returns how many elements
// it did.
func mergeLowFast(raw, low []byte, n int, w uint) int {
	if !useAVX2 || w < 6 || w > 8 {
		return 0
	}
	groups := min(n/16, (len(low)-16)/(2*int(w))+1)
	if len(low) < 16 || groups <= 0 || len(raw) < 32*groups {
		return 0
	}
	mergeLowAVX2(unsafe.SliceData(raw), unsafe.SliceData(low), groups, int(w), &mergeTab[w-6])
	return 16 * groups
}
