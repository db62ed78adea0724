package kernel

import "math"

// kernelConfig names a code path and switches to it; the function it
// returns switches back.
type kernelConfig struct {
	name  string
	setup func() (restore func())
}

// forceNT returns a setup that makes every call stream its output (on) or
// none (off), whatever its size.
func forceNT(on bool) func() func() {
	return func() func() {
		saved := ntMinBytes
		ntMinBytes = math.MaxInt
		if on {
			ntMinBytes = 0
		}
		return func() { ntMinBytes = saved }
	}
}
