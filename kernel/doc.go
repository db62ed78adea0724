// Package kernel holds the float32 fusion kernels used by FUSE: weighted
// sums of equally long tensors, out[i] = Σ_k w[k]*in[k][i].
//
// Every kernel makes a single pass over memory: each input is read once and
// the output is written once, so a k-input sum moves (k+1)·4·n bytes. On
// amd64 with AVX2 and FMA the inner loops are hand-written assembly; large
// outputs (inputs plus output of 32 MB or more) are written with non-temporal
// stores (VMOVNTPS, then SFENCE) after a short prefix, written with
// ordinary stores, that aligns the output to a cache line, so that streaming
// results do not evict the inputs or pay a read-for-ownership. Other
// platforms, CPUs without AVX2+FMA, and builds with the purego tag use the
// portable Go loops.
//
// # Numeric behaviour
//
// Accumulation is in float32. The assembly computes
//
//	acc = w[0]*in[0][i]               (one rounding)
//	acc = fma(w[k], in[k][i], acc)    (one rounding each, k = 1, 2, ...)
//
// and the portable loops compute the same sum left to right with a separate
// rounding for each product and each addition (the Go compiler may fuse some
// of them on platforms with FMA). Either way the result differs from the
// exactly rounded float64 sum by at most about (k+1)·2⁻²⁴·Σ_k|w[k]·in[k][i]|,
// i.e. a few ulp unless the terms cancel. NaN and ±Inf inputs propagate as
// in IEEE arithmetic: a NaN term (or Inf·0, or +Inf + -Inf) gives NaN, an
// infinite term with a nonzero weight gives an infinity of its sign. NaN
// payloads are not preserved. A float32 product that overflows may still
// give a finite result in the FMA path where the portable path gives ±Inf.
//
// # Aliasing
//
// out may be exactly the same slice as any input (out[i] depends only on the
// inputs at index i, and every input is read before out is written). Partially
// overlapping slices (out == a[1:], say) give unspecified results.
package kernel
