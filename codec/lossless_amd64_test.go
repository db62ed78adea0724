//go:build amd64 && !purego

package codec

import (
	"fmt"
	"testing"
)

// TestLosslessPortablePaths runs the round trips with the assembly off,
// so that the pure Go loops that other machines use are tested here too.
func TestLosslessPortablePaths(t *testing.T) {
	bmi2, avx2 := useBMI2, useAVX2
	defer func() { useBMI2, useAVX2 = bmi2, avx2 }()
	useBMI2, useAVX2 = false, false
	for _, elemSize := range []int{1, 2, 4} {
		for _, n := range []int{7, 5000, 64<<10 + 3} {
			for name, raw := range inputs(n, elemSize) {
				roundTrip(t, fmt.Sprintf("portable: size %d, %d elements, %s", elemSize, n, name), raw, elemSize)
			}
		}
	}
}
