package engine

import (
	"fmt"
	"math"
	"strings"

	"github.com/vsdb/vsdb/codec"
	"github.com/vsdb/vsdb/lsm"
	"github.com/vsdb/vsdb/tensor"
)

// chunkCodec encodes one chunk of a tensor: a byte codec (raw, lossless)
// as it is, or a float codec (f16, bf16, q8, q4) on the chunk widened to
// float32, decoding it again to measure the error and to know the bytes
// reads will return.
type chunkCodec struct {
	name  string
	bytes codec.Codec      // set for byte codecs
	float codec.FloatCodec // set for float codecs
}

// encoded is one encoded chunk.
type encoded struct {
	enc      []byte
	decoded  []byte  // what a read returns, when it differs from the input
	num, den float64 // error sums (float codecs)
}

func chunkCodecByName(name string) (chunkCodec, error) {
	if c, err := codec.ByName(name); err == nil {
		return chunkCodec{name: c.Name(), bytes: c}, nil
	}
	if f, err := codec.FloatCodecByName(name); err == nil {
		return chunkCodec{name: f.Name(), float: f}, nil
	}
	all := append(append(codec.Names(), codec.FloatCodecNames()...), lsm.LowRank, "auto")
	return chunkCodec{}, fmt.Errorf("vsdb: unknown codec %q (codecs: %s)", name, strings.Join(all, ", "))
}

// forDType returns the codec to use for a tensor of dtype dt: float codecs
// apply to float tensors wider than what they store (bf16 on an F16 tensor
// would lose precision and save nothing); others fall back to lossless.
func (c chunkCodec) forDType(dt tensor.DType) chunkCodec {
	if c.float != nil && (!dt.IsFloat() || c.float.BitsPerValue() >= float64(8*dt.Size())) {
		l, _ := chunkCodecByName("lossless")
		return l
	}
	return c
}

func (c chunkCodec) lossy() bool { return c.float != nil && !c.float.Lossless() }

// encode encodes raw (elements of dt) into dst; with base (the base
// tensor's bytes for the same chunk) it encodes the delta: XOR for byte
// codecs, the float difference for float codecs.
func (c chunkCodec) encode(dst, raw []byte, dt tensor.DType, base []byte) (encoded, error) {
	if c.bytes != nil {
		in := raw
		if base != nil {
			in = make([]byte, len(raw))
			for k := range raw {
				in[k] = raw[k] ^ base[k]
			}
		}
		enc, err := c.bytes.Encode(dst, in, dt.Size())
		return encoded{enc: enc}, err
	}
	n := len(raw) / dt.Size()
	vals := make([]float32, n)
	if err := tensor.ToFloat32(dt, raw, vals); err != nil {
		return encoded{}, err
	}
	var baseVals []float32
	in := vals
	if base != nil {
		baseVals = make([]float32, n)
		if err := tensor.ToFloat32(dt, base, baseVals); err != nil {
			return encoded{}, err
		}
		in = make([]float32, n)
		for k := range in {
			in[k] = vals[k] - baseVals[k]
		}
	}
	enc, err := c.float.EncodeFloats(dst, in)
	if err != nil {
		return encoded{}, err
	}
	back := make([]float32, n)
	if err := c.float.DecodeFloats(back, enc); err != nil {
		return encoded{}, err
	}
	for k := range baseVals {
		back[k] += baseVals[k] // what a read reconstructs
	}
	decoded := make([]byte, len(raw))
	if err := tensor.FromFloat32(dt, back, decoded); err != nil {
		return encoded{}, err
	}
	// The error of what a read returns: decoded values narrowed to dt.
	if err := tensor.ToFloat32(dt, decoded, back); err != nil {
		return encoded{}, err
	}
	num, den := codec.ErrorSums(vals, back)
	if math.IsInf(num, 1) {
		return encoded{}, fmt.Errorf("vsdb: codec %s turns a finite value into a non-finite one", c.name)
	}
	return encoded{enc: enc, decoded: decoded, num: num, den: den}, nil
}
