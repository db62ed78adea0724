// Package allocbound measures the heap bytes a call allocates, so that fuzz
// targets can hold hostile inputs to a stated memory budget: a small file
// or statement must never make vsdb allocate as if it were large.
//
// It is for tests only. Measurements read runtime.MemStats.TotalAlloc
// around the call, so other goroutines allocating at the same time are
// counted too: call it where nothing else runs.
package allocbound

import (
	"runtime"
	"testing"
)

// Bytes returns the heap bytes allocated while fn ran.
func Bytes(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Check runs fn and fails t when it allocated more than limit bytes; what
// names the call in the message, with inputLen, the size of the input.
// Under the race detector it only runs fn (see raceDetector).
func Check(t testing.TB, what string, inputLen int, limit uint64, fn func()) {
	t.Helper()
	if raceDetector {
		fn()
		return
	}
	if got := Bytes(fn); got > limit {
		t.Fatalf("%s allocated %d bytes for a %d-byte input (bound %d)", what, got, inputLen, limit)
	}
}
