package codec

import (
	"encoding/binary"
	"fmt"
	"math"
)

// quantBlock is the block length of Q8 and Q4 (llama.cpp's QK8_0 and QK4_0).
const quantBlock = 32

// Q8 is llama.cpp's Q8_0 (quantize_row_q8_0_ref): values go in blocks of
// 32, each with one scale d = max|x|/127 computed in float32 and stored as
// fp16, and 32 int8 quants q = roundf(x·(1/d)) (halves away from zero); a
// value decodes to q·d with the stored (fp16) d. 34 bytes per 32 values =
// 8.5 bits per value (plus two header bytes per chunk). A block of zeros has d = 0 and decodes to zeros. The
// last block is padded with zeros (quants 0).
//
// Error: |x − q·d| ≤ d/2 for the exact float32 d; the fp16 rounding of d
// adds at most 127·|d − fp16(d)| ≈ d·2^-4 in the worst case (relative
// rounding 2^-11). NaN and ±Inf cannot be quantized and are refused, naming
// the index; so is a block whose scale exceeds the fp16 range (max|x| >
// 127·65504).
//
// Layout (version 1):
//
//	+------+------+-------------------------------------------+
//	| 0x01 | tail | ⌈n/32⌉ blocks of 34 bytes:                |
//	|      |      |   d uint16 LE fp16 | q[0] … q[31] int8    |
//	+------+------+-------------------------------------------+
//
// tail is the number of values in the last block (1..32; 0 when n = 0), so
// that a chunk decodes only to its own length; padding quants must be 0.
type Q8 struct{}

// Q4 is llama.cpp's Q4_0 (quantize_row_q4_0_ref): values go in blocks of
// 32; max is the value of largest magnitude in the block, with its sign (the
// first one if several tie), d = max/−8 in float32, stored as fp16; each
// value gets q = min(15, trunc(x·(1/d) + 8.5)) in 0..15 and decodes to
// (q−8)·d with the stored d. Two quants share a byte: byte j holds value j
// in its low nibble and value j+16 in its high nibble. 18 bytes per 32
// values = 4.5 bits per value (plus two header bytes per chunk). The last block is padded with zeros (quants
// 8).
//
// Error: |x − (q−8)·d| ≤ |d|/2 except where the clamp at 15 acts (values of
// the sign opposite to max with magnitude above 7.5·|d|), where it is at
// most |d|; fp16 rounding of d adds at most 8·|d − fp16(d)|. NaN and ±Inf
// are refused, naming the index; so is a block whose scale exceeds the fp16
// range (|max| > 8·65504).
//
// Layout (version 1):
//
//	+------+------+-------------------------------------------+
//	| 0x01 | tail | ⌈n/32⌉ blocks of 18 bytes:                |
//	|      |      |   d uint16 LE fp16 | qs[0] … qs[15],      |
//	|      |      |   qs[j] = q[j] | q[j+16]<<4               |
//	+------+------+-------------------------------------------+
//
// tail is as in Q8; padding quants must be 8.
type Q4 struct{}

func init() {
	registerFloat(Q8{})
	registerFloat(Q4{})
}

const (
	q8BlockBytes = 2 + quantBlock
	q4BlockBytes = 2 + quantBlock/2
)

func quantBlocks(n int) int { return (n + quantBlock - 1) / quantBlock }

// quantHeader is the version byte and the tail byte.
const quantHeader = 2

// quantTail is the number of values in the last block of n.
func quantTail(n int) byte {
	if n == 0 {
		return 0
	}
	return byte((n-1)%quantBlock + 1)
}

// checkQuantHeader checks version, tail and length of a Q8/Q4 chunk of n
// values whose blocks take bodyLen bytes.
func checkQuantHeader(name string, enc []byte, n, bodyLen int) error {
	if len(enc) < quantHeader {
		return fmt.Errorf("vsdb: %s chunk of %d bytes is shorter than its header", name, len(enc))
	}
	if enc[0] != floatVersion {
		return fmt.Errorf("vsdb: %s chunk has version %d, want %d", name, enc[0], floatVersion)
	}
	if len(enc)-quantHeader != bodyLen || enc[1] != quantTail(n) {
		return fmt.Errorf("vsdb: %s chunk of %d bytes (last block %d values) does not hold %d values", name, len(enc), enc[1], n)
	}
	return nil
}

// quantCheck refuses NaN and ±Inf, which no block scale can represent.
func quantCheck(name string, vals []float32) error {
	for i, v := range vals {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("vsdb: %s: value %g at index %d cannot be quantized", name, v, i)
		}
	}
	return nil
}

// quantBlockOf copies block b of vals into blk, zero-padding past the end.
func quantBlockOf(blk *[quantBlock]float32, vals []float32, b int) {
	n := copy(blk[:], vals[b*quantBlock:])
	clear(blk[n:])
}

// quantInverse is llama.cpp's id = d ? 1.0f/d : 0.0f, except that a scale
// so small that 1/d overflows float32 (|d| < 2^-128, a block of subnormal
// values whose fp16 scale is 0 anyway) also gives 0 rather than Inf.
func quantInverse(d float32) float32 {
	if d == 0 {
		return 0
	}
	id := 1 / d
	if math.IsInf(float64(id), 0) {
		return 0
	}
	return id
}

// Name implements FloatCodec.
func (Q8) Name() string { return "q8" }

// Lossless implements FloatCodec.
func (Q8) Lossless() bool { return false }

// BitsPerValue implements FloatCodec.
func (Q8) BitsPerValue() float64 { return 8.5 }

// EncodeFloats implements FloatCodec.
func (Q8) EncodeFloats(dst []byte, vals []float32) ([]byte, error) {
	if err := quantCheck("q8", vals); err != nil {
		return dst, err
	}
	nb := quantBlocks(len(vals))
	start := len(dst)
	dst = castGrow(dst, quantHeader+nb*q8BlockBytes)
	dst[start], dst[start+1] = floatVersion, quantTail(len(vals))
	out := dst[start+quantHeader:]
	var blk [quantBlock]float32
	for b := 0; b < nb; b++ {
		quantBlockOf(&blk, vals, b)
		var amax float32
		for _, v := range blk {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := amax / 127
		id := quantInverse(d)
		h := castToF16(d)
		if h&0x7c00 == 0x7c00 {
			return dst[:start], fmt.Errorf("vsdb: q8: block at index %d has max |x| = %g, beyond what an fp16 scale holds (127·65504)", b*quantBlock, amax)
		}
		o := out[b*q8BlockBytes : (b+1)*q8BlockBytes]
		binary.LittleEndian.PutUint16(o, h)
		for j, v := range blk {
			// float32(v*id) keeps the product rounded to float32 as
			// llama.cpp's float x0 = x*id; math.Round rounds halves
			// away from zero like roundf.
			o[2+j] = byte(int8(int(math.Round(float64(float32(v * id))))))
		}
	}
	return dst, nil
}

// DecodeFloats implements FloatCodec.
func (Q8) DecodeFloats(vals []float32, enc []byte) error {
	nb := quantBlocks(len(vals))
	if err := checkQuantHeader("q8", enc, len(vals), nb*q8BlockBytes); err != nil {
		return err
	}
	body := enc[quantHeader:]
	for b := 0; b < nb; b++ {
		o := body[b*q8BlockBytes : (b+1)*q8BlockBytes]
		h := binary.LittleEndian.Uint16(o)
		if h&0x7c00 == 0x7c00 {
			return fmt.Errorf("vsdb: q8 chunk is corrupt: block %d has a non-finite scale", b)
		}
		d := castFromF16(h)
		q := o[2:]
		n := min(quantBlock, len(vals)-b*quantBlock)
		for j := n; j < quantBlock; j++ {
			if q[j] != 0 {
				return fmt.Errorf("vsdb: q8 chunk is corrupt: padding of the last block is not zero")
			}
		}
		out := vals[b*quantBlock : b*quantBlock+n]
		for j := range out {
			out[j] = float32(int8(q[j])) * d
		}
	}
	return nil
}

// Name implements FloatCodec.
func (Q4) Name() string { return "q4" }

// Lossless implements FloatCodec.
func (Q4) Lossless() bool { return false }

// BitsPerValue implements FloatCodec.
func (Q4) BitsPerValue() float64 { return 4.5 }

// EncodeFloats implements FloatCodec.
func (Q4) EncodeFloats(dst []byte, vals []float32) ([]byte, error) {
	if err := quantCheck("q4", vals); err != nil {
		return dst, err
	}
	nb := quantBlocks(len(vals))
	start := len(dst)
	dst = castGrow(dst, quantHeader+nb*q4BlockBytes)
	dst[start], dst[start+1] = floatVersion, quantTail(len(vals))
	out := dst[start+quantHeader:]
	var blk [quantBlock]float32
	for b := 0; b < nb; b++ {
		quantBlockOf(&blk, vals, b)
		var amax, mx float32
		for _, v := range blk {
			if a := float32(math.Abs(float64(v))); amax < a {
				amax, mx = a, v
			}
		}
		d := mx / -8
		id := quantInverse(d)
		h := castToF16(d)
		if h&0x7c00 == 0x7c00 {
			return dst[:start], fmt.Errorf("vsdb: q4: block at index %d has max |x| = %g, beyond what an fp16 scale holds (8·65504)", b*quantBlock, amax)
		}
		o := out[b*q4BlockBytes : (b+1)*q4BlockBytes]
		binary.LittleEndian.PutUint16(o, h)
		for j := 0; j < quantBlock/2; j++ {
			o[2+j] = q4Quant(blk[j], id) | q4Quant(blk[j+quantBlock/2], id)<<4
		}
	}
	return dst, nil
}

// q4Quant is llama.cpp's MIN(15, (int8_t)(x*id + 8.5f)): the product and
// the sum are each rounded to float32 (the conversions stop Go from fusing
// them into one FMA), then truncated toward zero.
func q4Quant(x, id float32) byte {
	s := float32(float32(x*id) + 8.5)
	q := int(s) // s ≥ 0.5 − rounding, so truncation is floor
	return byte(min(15, max(0, q)))
}

// DecodeFloats implements FloatCodec.
func (Q4) DecodeFloats(vals []float32, enc []byte) error {
	nb := quantBlocks(len(vals))
	if err := checkQuantHeader("q4", enc, len(vals), nb*q4BlockBytes); err != nil {
		return err
	}
	body := enc[quantHeader:]
	var q [quantBlock]byte
	for b := 0; b < nb; b++ {
		o := body[b*q4BlockBytes : (b+1)*q4BlockBytes]
		h := binary.LittleEndian.Uint16(o)
		if h&0x7c00 == 0x7c00 {
			return fmt.Errorf("vsdb: q4 chunk is corrupt: block %d has a non-finite scale", b)
		}
		d := castFromF16(h)
		for j := 0; j < quantBlock/2; j++ {
			q[j] = o[2+j] & 0x0f
			q[j+quantBlock/2] = o[2+j] >> 4
		}
		n := min(quantBlock, len(vals)-b*quantBlock)
		for j := n; j < quantBlock; j++ {
			if q[j] != 8 {
				return fmt.Errorf("vsdb: q4 chunk is corrupt: padding of the last block is not 8")
			}
		}
		out := vals[b*quantBlock : b*quantBlock+n]
		for j := range out {
			out[j] = float32(int(q[j])-8) * d
		}
	}
	return nil
}
