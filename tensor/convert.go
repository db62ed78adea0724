package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	"github.com/x448/float16"
)

// ToFloat32 widens len(dst) elements of dtype d from src into dst.
// Integer and boolean dtypes convert by value; F64 rounds to nearest.
func ToFloat32(d DType, src []byte, dst []float32) error {
	if !d.Valid() || len(src) < len(dst)*d.Size() {
		return fmt.Errorf("vsdb: cannot read %d %s values from %d bytes", len(dst), d, len(src))
	}
	le := binary.LittleEndian
	switch d {
	case F32:
		if nativeLE {
			copy(f32Bytes(dst), src[:4*len(dst)])
			return nil
		}
		for i := range dst {
			dst[i] = math.Float32frombits(le.Uint32(src[4*i:]))
		}
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(le.Uint64(src[8*i:])))
		}
	case F16:
		for i := range dst {
			dst[i] = float16.Frombits(le.Uint16(src[2*i:])).Float32()
		}
	case BF16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(le.Uint16(src[2*i:])) << 16)
		}
	case F8E4M3:
		for i := range dst {
			dst[i] = f8e4m3Table[src[i]]
		}
	case F8E5M2:
		for i := range dst {
			dst[i] = f8e5m2Table[src[i]]
		}
	default:
		for i := range dst {
			dst[i] = float32(intAt(d, src, i))
		}
	}
	return nil
}

// FromFloat32 narrows src into dst in dtype d (round to nearest even for
// floating types; integers round to nearest and saturate).
func FromFloat32(d DType, src []float32, dst []byte) error {
	if !d.Valid() || len(dst) < len(src)*d.Size() {
		return fmt.Errorf("vsdb: cannot write %d %s values into %d bytes", len(src), d, len(dst))
	}
	le := binary.LittleEndian
	switch d {
	case F32:
		if nativeLE {
			copy(dst[:4*len(src)], f32Bytes(src))
			return nil
		}
		for i, v := range src {
			le.PutUint32(dst[4*i:], math.Float32bits(v))
		}
	case F64:
		for i, v := range src {
			le.PutUint64(dst[8*i:], math.Float64bits(float64(v)))
		}
	case F16:
		for i, v := range src {
			le.PutUint16(dst[2*i:], float16.Fromfloat32(v).Bits())
		}
	case BF16:
		for i, v := range src {
			le.PutUint16(dst[2*i:], BF16FromFloat32(v))
		}
	case F8E4M3:
		for i, v := range src {
			dst[i] = nearestF8(f8e4m3Sorted, v, 0x7f)
		}
	case F8E5M2:
		for i, v := range src {
			dst[i] = nearestF8(f8e5m2Sorted, v, 0x7e)
		}
	default:
		for i, v := range src {
			putInt(d, dst, i, v)
		}
	}
	return nil
}

// BF16FromFloat32 rounds a float32 to bfloat16 bits, nearest even, keeping NaN.
func BF16FromFloat32(v float32) uint16 {
	b := math.Float32bits(v)
	if v != v {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

func intAt(d DType, src []byte, i int) float64 {
	le := binary.LittleEndian
	switch d {
	case I64:
		return float64(int64(le.Uint64(src[8*i:])))
	case I32:
		return float64(int32(le.Uint32(src[4*i:])))
	case I16:
		return float64(int16(le.Uint16(src[2*i:])))
	case I8:
		return float64(int8(src[i]))
	case U64:
		return float64(le.Uint64(src[8*i:]))
	case U32:
		return float64(le.Uint32(src[4*i:]))
	case U16:
		return float64(le.Uint16(src[2*i:]))
	case U8:
		return float64(src[i])
	case Bool:
		if src[i] != 0 {
			return 1
		}
	}
	return 0
}

func putInt(d DType, dst []byte, i int, v float32) {
	le := binary.LittleEndian
	r := math.RoundToEven(float64(v))
	clamp := func(lo, hi float64) float64 { return math.Max(lo, math.Min(hi, r)) }
	switch d {
	case I64:
		le.PutUint64(dst[8*i:], uint64(int64(clamp(math.MinInt64, math.MaxInt64))))
	case I32:
		le.PutUint32(dst[4*i:], uint32(int32(clamp(math.MinInt32, math.MaxInt32))))
	case I16:
		le.PutUint16(dst[2*i:], uint16(int16(clamp(math.MinInt16, math.MaxInt16))))
	case I8:
		dst[i] = byte(int8(clamp(math.MinInt8, math.MaxInt8)))
	case U64:
		le.PutUint64(dst[8*i:], uint64(clamp(0, math.MaxUint64)))
	case U32:
		le.PutUint32(dst[4*i:], uint32(clamp(0, math.MaxUint32)))
	case U16:
		le.PutUint16(dst[2*i:], uint16(clamp(0, math.MaxUint16)))
	case U8:
		dst[i] = byte(clamp(0, math.MaxUint8))
	case Bool:
		if v != 0 {
			dst[i] = 1
		} else {
			dst[i] = 0
		}
	}
}

// f8 decodes one 8-bit float with the given exponent and mantissa widths.
// fn selects the "finite" variant (e4m3fn): no infinities, only S.1111.111 is NaN.
func f8(b byte, expBits, manBits, bias uint, fn bool) float32 {
	sign := float32(1)
	if b&0x80 != 0 {
		sign = -1
	}
	e := uint(b>>manBits) & (1<<expBits - 1)
	m := uint(b) & (1<<manBits - 1)
	switch {
	case fn && e == 1<<expBits-1 && m == 1<<manBits-1:
		return float32(math.NaN())
	case !fn && e == 1<<expBits-1:
		if m == 0 {
			return sign * float32(math.Inf(1))
		}
		return float32(math.NaN())
	case e == 0:
		return sign * float32(math.Ldexp(float64(m)/float64(uint(1)<<manBits), 1-int(bias)))
	}
	return sign * float32(math.Ldexp(1+float64(m)/float64(uint(1)<<manBits), int(e)-int(bias)))
}

var (
	f8e4m3Table, f8e5m2Table   [256]float32
	f8e4m3Sorted, f8e5m2Sorted []f8Code
)

type f8Code struct {
	v    float32
	code byte
}

func init() {
	for i := 0; i < 256; i++ {
		f8e4m3Table[i] = f8(byte(i), 4, 3, 7, true)
		f8e5m2Table[i] = f8(byte(i), 5, 2, 15, false)
	}
	f8e4m3Sorted = sortedPositive(&f8e4m3Table)
	f8e5m2Sorted = sortedPositive(&f8e5m2Table)
}

// sortedPositive lists the finite non-negative codes (sign bit clear) by value.
func sortedPositive(t *[256]float32) []f8Code {
	var out []f8Code
	for i := 0; i < 128; i++ {
		v := t[i]
		if !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) {
			out = append(out, f8Code{v, byte(i)})
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].v < out[b].v })
	return out
}

// nearestF8 rounds v to the nearest code (ties to the even code); values
// beyond the largest finite code become NaN (e4m3fn) or Inf (e5m2).
func nearestF8(codes []f8Code, v float32, nan byte) byte {
	if v != v {
		return nan
	}
	sign := byte(0)
	if math.Signbit(float64(v)) {
		sign, v = 0x80, -v
	}
	i := sort.Search(len(codes), func(i int) bool { return codes[i].v >= v })
	if i == len(codes) {
		if nan == 0x7e { // e5m2 has infinities
			return sign | 0x7c
		}
		return sign | nan
	}
	if i > 0 {
		lo, hi := codes[i-1], codes[i]
		if v-lo.v < hi.v-v || (v-lo.v == hi.v-v && lo.code&1 == 0) {
			return sign | lo.code
		}
	}
	return sign | codes[i].code
}
