//go:build race

package allocbound

// raceFactor widens every bound under the race detector, where sync.Pool
// drops a share of what is put back (to expose misuse) and the parser's
// pooled buffers are allocated again: FuzzParse's seeds measured up to
// 3.2× their plain-build bound there.
const raceFactor = 4
