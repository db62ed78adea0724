//go:build !race

package allocbound

// raceDetector is false outside the race detector: budgets are enforced.
const raceDetector = false
