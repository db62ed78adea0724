//go:build amd64 && !purego

package kernel

// The assembly kernels (axpby_amd64.s, weighted_amd64.s). They need AVX2 and
// FMA. Lengths are in elements; the callers guarantee every pointer is valid
// for n elements (for inputs, from index off on).

// axpbyAVX2 sets out[i] = fma(wb, b[i], wa*a[i]) for i < n, with ordinary
// stores. n may be 0.
//
//go:noescape
func axpbyAVX2(out, a, b *float32, n int, wa, wb float32)

// axpbyAVX2NT is axpbyAVX2 with non-temporal stores and a closing SFENCE.
// out must be 32-byte aligned and n a positive multiple of 32.
//
//go:noescape
func axpbyAVX2NT(out, a, b *float32, n int, wa, wb float32)

// weightedAVX2 sets out[i] = Σ_k w[k]*in[k][off+i] for i < n, k < nk (nk >= 1),
// accumulating left to right with FMA, with ordinary stores. n may be 0.
//
//go:noescape
func weightedAVX2(out *float32, in *[]float32, w *float32, nk, off, n int)

// weightedAVX2NT is weightedAVX2 with non-temporal stores and a closing
// SFENCE. out must be 32-byte aligned and n a positive multiple of 32.
//
//go:noescape
func weightedAVX2NT(out *float32, in *[]float32, w *float32, nk, off, n int)
