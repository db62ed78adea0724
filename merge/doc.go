// Package merge holds the per-tensor arithmetic of mergekit's merge methods
// (linear, task_arithmetic, ties, dare_linear, dare_ties, slerp and
// model_stock) on whole tensors held as float32 slices.
//
// The formulas and defaults follow arcee-ai/mergekit's source; docs/MERGE.md
// gives, for every method, the formula, its options with their defaults, the
// mergekit file it follows and every deliberate difference. The one
// difference that changes results on ordinary inputs is DARE's random
// keep-mask: mergekit draws it with torch.bernoulli, this package derives it
// from a seed with splitmix64 (see [KeepUniform]) so that Go and Python
// produce the same mask.
//
// # Numeric behaviour
//
// Every method reads float32 inputs, computes in float64 and rounds each
// output element to float32 once. Inputs must be finite: a NaN or ±Inf in
// the base or an input is an error naming the input and the element. Finite
// inputs never give NaN (zero-norm, colinear and opposite vectors, weights
// whose masked sum is 0 and empty tensors are all handled explicitly); a
// result that overflows float32 is reported as an error. On any error the
// contents of out are unspecified.
//
// # Aliasing
//
// out may be exactly the same slice as base or as any input: every method
// finishes reading the inputs at element j before it writes out[j], and its
// earlier passes (norms, top-k thresholds) only read. Partially overlapping
// slices (out == in[0][1:], say) give unspecified results.
//
// # Scope
//
// The caller resolves everything that depends on the model rather than on
// one tensor: per-layer weights (mergekit's gradients), which model is the
// base, and tensors whose shapes differ (mergekit's embedding "rectify"
// step). Every slice handed to a method must have the same length.
package merge
