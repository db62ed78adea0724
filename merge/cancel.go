package merge

import "errors"

// ErrCancelled is what a merge returns when Params.Done closed before it
// finished; out is then incomplete.
var ErrCancelled = errors.New("vsdb: merge cancelled")

// stopped reports whether p.Done has closed (never, when it is nil).
func (p Params) stopped() bool {
	select {
	case <-p.Done:
		return true
	default:
		return false
	}
}

// stopEvery is how many blocks of a merge run between two looks at Done
// (64 blocks of 1024 elements: a few hundred microseconds of work).
const stopEvery = 64
