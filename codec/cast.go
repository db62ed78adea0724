package codec

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/x448/float16"
)

// F16 stores each value as an IEEE 754 half (binary16), rounded to nearest
// even (github.com/x448/float16). Relative error is at most 2^-11 for values
// in the normal half range (|x| ≥ 2^-14); below it the absolute error is at
// most 2^-25. NaN stays NaN (quiet), ±Inf stays ±Inf. A finite value that
// would round to infinity (|x| ≥ 65520; the largest half is 65504) is
// refused: EncodeFloats names the first such value and its index.
//
// Layout (version 1), 16 bits per value:
//
//	+------+------------------------------------------+
//	| 0x01 | n × uint16 little-endian binary16 values |
//	+------+------------------------------------------+
type F16 struct{}

// BF16 stores the top 16 bits of each float32 (bfloat16: 8 exponent bits, 7
// mantissa bits), rounded to nearest even. Relative error is at most 2^-8
// for normal values. NaN stays NaN (the quiet bit is set so that a NaN whose
// payload sits in the dropped bits does not become Inf), ±Inf stays ±Inf. A
// finite value that would round to infinity (|x| ≥ 2^128·(1−2^-9), just
// below float32's maximum) is refused like F16's overflow.
//
// Layout (version 1), 16 bits per value:
//
//	+------+-------------------------------------------+
//	| 0x01 | n × uint16 little-endian bfloat16 values  |
//	+------+-------------------------------------------+
type BF16 struct{}

func init() {
	registerFloat(F16{})
	registerFloat(BF16{})
}

// Name implements FloatCodec.
func (F16) Name() string { return "f16" }

// Lossless implements FloatCodec.
func (F16) Lossless() bool { return false }

// BitsPerValue implements FloatCodec.
func (F16) BitsPerValue() float64 { return 16 }

// EncodeFloats implements FloatCodec.
func (F16) EncodeFloats(dst []byte, vals []float32) ([]byte, error) {
	start := len(dst)
	dst = castGrow(dst, 1+2*len(vals))
	dst[start] = floatVersion
	out := dst[start+1:]
	for i, v := range vals {
		h := float16.Fromfloat32(v)
		if h.IsInf(0) && !math.IsInf(float64(v), 0) {
			return dst[:start], fmt.Errorf("vsdb: f16: value %g at index %d is beyond the half-precision range (±65504)", v, i)
		}
		binary.LittleEndian.PutUint16(out[2*i:], h.Bits())
	}
	return dst, nil
}

// DecodeFloats implements FloatCodec.
func (F16) DecodeFloats(vals []float32, enc []byte) error {
	if err := checkFloatHeader("f16", enc, len(vals), 2*len(vals)); err != nil {
		return err
	}
	body := enc[1:]
	for i := range vals {
		vals[i] = float16.Frombits(binary.LittleEndian.Uint16(body[2*i:])).Float32()
	}
	return nil
}

// Name implements FloatCodec.
func (BF16) Name() string { return "bf16" }

// Lossless implements FloatCodec.
func (BF16) Lossless() bool { return false }

// BitsPerValue implements FloatCodec.
func (BF16) BitsPerValue() float64 { return 16 }

// EncodeFloats implements FloatCodec.
func (BF16) EncodeFloats(dst []byte, vals []float32) ([]byte, error) {
	start := len(dst)
	dst = castGrow(dst, 1+2*len(vals))
	dst[start] = floatVersion
	out := dst[start+1:]
	for i, v := range vals {
		b, ok := castToBF16(v)
		if !ok {
			return dst[:start], fmt.Errorf("vsdb: bf16: value %g at index %d is beyond the bfloat16 range (±3.3895e38)", v, i)
		}
		binary.LittleEndian.PutUint16(out[2*i:], b)
	}
	return dst, nil
}

// DecodeFloats implements FloatCodec.
func (BF16) DecodeFloats(vals []float32, enc []byte) error {
	if err := checkFloatHeader("bf16", enc, len(vals), 2*len(vals)); err != nil {
		return err
	}
	body := enc[1:]
	for i := range vals {
		vals[i] = castFromBF16(binary.LittleEndian.Uint16(body[2*i:]))
	}
	return nil
}

// castToBF16 rounds v to bfloat16, nearest even. ok is false when a finite v
// rounds to infinity.
func castToBF16(v float32) (b uint16, ok bool) {
	u := math.Float32bits(v)
	if u&0x7f800000 == 0x7f800000 { // Inf or NaN
		if u&0x007fffff != 0 {
			return uint16(u>>16) | 0x0040, true // keep NaN, quiet
		}
		return uint16(u >> 16), true
	}
	u += 0x7fff + (u>>16)&1
	b = uint16(u >> 16)
	return b, b&0x7f80 != 0x7f80
}

func castFromBF16(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// castToF16 rounds v to a binary16, nearest even (finite v that overflow give
// ±Inf; callers check).
func castToF16(v float32) uint16 { return float16.Fromfloat32(v).Bits() }

func castFromF16(h uint16) float32 { return float16.Frombits(h).Float32() }

// castGrow extends dst by n bytes (contents undefined) and returns it.
func castGrow(dst []byte, n int) []byte {
	if cap(dst)-len(dst) < n {
		nd := make([]byte, len(dst), len(dst)+n)
		copy(nd, dst)
		dst = nd
	}
	return dst[:len(dst)+n]
}
