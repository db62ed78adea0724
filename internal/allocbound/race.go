//go:build race

package allocbound

// raceDetector is set under the race detector, where sync.Pool drops a
// random share of what is put back (to expose misuse), so a parser's
// pooled buffers are allocated again a varying number of times: FuzzParse's
// seeds measured 3–4× their plain-build figure from run to run. Budgets
// are not enforced there; scripts/test.sh runs the fuzz seeds without the
// race detector to check them.
const raceDetector = true
