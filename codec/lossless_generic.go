//go:build !amd64 || purego

package codec

func joinRot32(raw []byte, p0, p1, p2, p3 []byte, n int) int { return 0 }

func orLowFast(raw, low []byte, n int, w uint) int { return 0 }

func huffRun2(dst, src []byte, t *huffTable, state *[4]int, r int) { huffRun2Go(dst, src, t, state, r) }
