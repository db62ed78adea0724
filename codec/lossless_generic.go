//go:build !amd64 || purego

package codec

func joinRot32(raw []byte, p0, p1, p2, p3 []byte, n int) int { return 0 }

func mergeLowFast(raw, low []byte, n int, w uint) int { return 0 }

func huffRun4(dst, src []byte, t *huffTable, s *huffState, r, width int) {
	huffRun4Go(dst, src, t, s, r, width)
}
