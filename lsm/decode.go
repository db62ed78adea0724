package lsm

import (
	"fmt"

	"github.com/vsdb/vsdb/codec"
	"github.com/vsdb/vsdb/tensor"
)

// DecodeChunk decodes one stored chunk of a tensor of dtype dt into raw
// (its exact decoded length): byte codecs (raw, lossless) directly, float
// codecs (f16, bf16, q8, q4) to float32 and then narrowed to dt.
func DecodeChunk(codecName string, dt tensor.DType, raw, enc []byte) error {
	if c, err := codec.ByName(codecName); err == nil {
		return c.Decode(raw, enc, dt.Size())
	}
	fc, err := codec.FloatCodecByName(codecName)
	if err != nil {
		return fmt.Errorf("vsdb: unknown codec %q", codecName)
	}
	if !dt.IsFloat() {
		return fmt.Errorf("vsdb: codec %s stores float tensors, not %s", codecName, dt)
	}
	vals := make([]float32, len(raw)/dt.Size())
	if err := fc.DecodeFloats(vals, enc); err != nil {
		return err
	}
	return tensor.FromFloat32(dt, vals, raw)
}

// KnownCodec reports whether name is a byte or a float codec.
func KnownCodec(name string) bool {
	if _, err := codec.ByName(name); err == nil {
		return true
	}
	_, err := codec.FloatCodecByName(name)
	return err == nil
}
