// Package tensor is vsdb's in-memory model of a tensor: its dtype, its shape
// and its bytes, kept bit-exact in the original little-endian dtype.
//
// Arithmetic never happens in the stored dtype: values are widened to
// float32 (float64 for F64) with ToFloat32 and narrowed back with
// FromFloat32. The package imports no other vsdb package.
package tensor
