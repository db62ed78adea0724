package lsm

import (
	"fmt"

	"github.com/vsdb/vsdb/codec"
	"github.com/vsdb/vsdb/tensor"
)

// LowRank is the codec name of tensors stored whole as low-rank factors
// (codec.EncodeLowRank): such a tensor has exactly one chunk, ChunkBytes =
// RawBytes, whose value is the encoding of the tensor viewed as a matrix
// (first dimension × the product of the rest).
const LowRank = "lowrank"

// DecodeChunk decodes one stored chunk of a tensor of dtype dt into raw
// (its exact decoded length): byte codecs (raw, lossless) directly, float
// codecs (f16, bf16, q8, q4, lowrank) to float32 and then narrowed to dt.
func DecodeChunk(codecName string, dt tensor.DType, raw, enc []byte) error {
	if c, err := codec.ByName(codecName); err == nil {
		return c.Decode(raw, enc, dt.Size())
	}
	if !KnownCodec(codecName) {
		return fmt.Errorf("vsdb: unknown codec %q", codecName)
	}
	if !dt.IsFloat() {
		return fmt.Errorf("vsdb: codec %s stores float tensors, not %s", codecName, dt)
	}
	vals := make([]float32, len(raw)/dt.Size())
	if err := decodeFloats(codecName, vals, enc); err != nil {
		return err
	}
	return tensor.FromFloat32(dt, vals, raw)
}

// decodeFloats decodes the chunk of a float codec (or a low-rank tensor)
// into vals, its exact number of values.
func decodeFloats(codecName string, vals []float32, enc []byte) error {
	if codecName == LowRank {
		m, n, _, err := codec.LowRankShape(enc)
		if err != nil {
			return err
		}
		if int64(m)*int64(n) != int64(len(vals)) {
			return fmt.Errorf("vsdb: low-rank encoding is %d×%d, the tensor has %d values", m, n, len(vals))
		}
		return codec.DecodeLowRank(vals, enc, m, n)
	}
	fc, err := codec.FloatCodecByName(codecName)
	if err != nil {
		return fmt.Errorf("vsdb: unknown codec %q", codecName)
	}
	return fc.DecodeFloats(vals, enc)
}

// KnownCodec reports whether name is a byte or a float codec, or lowrank.
func KnownCodec(name string) bool {
	if name == LowRank {
		return true
	}
	if _, err := codec.ByName(name); err == nil {
		return true
	}
	_, err := codec.FloatCodecByName(name)
	return err == nil
}
