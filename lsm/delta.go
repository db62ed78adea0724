package lsm

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vsdb/vsdb/tensor"
)

// Delta kinds: how a tensor stored against a base is reconstructed.
const (
	// DeltaXOR: the stored bytes are the tensor's bytes XOR the base's
	// (byte codecs; exact). Close weights share sign and exponent bits, so
	// the XOR is mostly zero bytes in the high planes.
	DeltaXOR = "xor"
	// DeltaSub: the stored values are tensor − base in float32 (float
	// codecs); reads add the base back and narrow to the dtype.
	DeltaSub = "sub"
)

// maxDeltaDepth bounds chains of deltas (a base that is itself a delta).
const maxDeltaDepth = 8

// DecodeTensorChunk decodes chunk i of t into raw (its exact length),
// adding back the base tensor's chunk for deltas.
func (r *Reader) DecodeTensorChunk(t *TensorRecord, i int, raw []byte) error {
	return r.decodeTensorChunk(t, i, raw, 0)
}

func (r *Reader) decodeTensorChunk(t *TensorRecord, i int, raw []byte, depth int) error {
	dt, err := tensor.ParseDType(t.DType)
	if err != nil {
		return err
	}
	var decodeErr error
	err = r.ChunkFunc(t, i, func(enc []byte) error {
		if t.Base == nil || t.Delta == DeltaXOR {
			decodeErr = DecodeChunk(t.Codec, dt, raw, enc)
			return nil
		}
		decodeErr = r.decodeSub(t, i, raw, enc, dt, depth)
		return nil
	})
	var be *baseError
	if err == nil && errors.As(decodeErr, &be) {
		return decodeErr // names the delta already
	}
	if err != nil || decodeErr != nil {
		return firstErr(err, decodeErr, t, i)
	}
	if t.Base != nil && t.Delta == DeltaXOR {
		base := make([]byte, len(raw))
		if err := r.baseChunk(t, i, base, depth); err != nil {
			return err
		}
		for k := range raw {
			raw[k] ^= base[k]
		}
	}
	return nil
}

func firstErr(err, decodeErr error, t *TensorRecord, i int) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("vsdb: tensor %q: chunk %d: %v", t.Name, i, decodeErr)
}

// decodeSub decodes a float delta and adds the base.
func (r *Reader) decodeSub(t *TensorRecord, i int, raw, enc []byte, dt tensor.DType, depth int) error {
	n := len(raw) / dt.Size()
	delta := make([]float32, n)
	if err := decodeFloats(t.Codec, delta, enc); err != nil {
		return err
	}
	if err := r.baseChunk(t, i, raw, depth); err != nil {
		return err
	}
	base := make([]float32, n)
	if err := tensor.ToFloat32(dt, raw, base); err != nil {
		return err
	}
	for k := range base {
		base[k] += delta[k]
	}
	return tensor.FromFloat32(dt, base, raw)
}

// baseChunk decodes the bytes of t's base that chunk i of t covers into
// dst. The base may be stored in chunks of another size (a low-rank tensor
// is one chunk): then the base chunks overlapping the range are decoded and
// the range copied out.
func (r *Reader) baseChunk(t *TensorRecord, i int, dst []byte, depth int) error {
	if depth >= maxDeltaDepth {
		return fmt.Errorf("vsdb: tensor %q: chain of deltas deeper than %d", t.Name, maxDeltaDepth)
	}
	b, err := r.Tensor(*t.Base)
	if err != nil {
		return fmt.Errorf("vsdb: tensor %q: its base is missing: %v", t.Name, err)
	}
	if b.RawBytes != t.RawBytes || b.DType != t.DType || b.ChunkBytes <= 0 {
		return fmt.Errorf("vsdb: tensor %q: its base %q no longer matches it", t.Name, b.Name)
	}
	off := int64(i) * t.ChunkBytes
	if b.ChunkBytes == t.ChunkBytes {
		return r.inBase(t, &b, r.decodeTensorChunk(&b, i, dst, depth+1))
	}
	var buf []byte
	for len(dst) > 0 {
		j := int(off / b.ChunkBytes)
		if j >= b.Chunks() {
			return fmt.Errorf("vsdb: tensor %q: its base %q has %d chunks, chunk %d is needed", t.Name, b.Name, b.Chunks(), j)
		}
		n := b.ChunkRaw(j)
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if err := r.decodeTensorChunk(&b, j, buf, depth+1); err != nil {
			return r.inBase(t, &b, err)
		}
		k := copy(dst, buf[off-int64(j)*b.ChunkBytes:])
		dst, off = dst[k:], off+int64(k)
	}
	return nil
}

// baseError is a failure to read the base of a delta. It names the base's
// model and tensor, so that a corrupt base is not taken for a corrupt
// delta: "tensor "x": in its base, model "b": tensor "x": chunk 1 fails
// its checksum".
type baseError struct {
	tensor, model string
	err           error
}

func (e *baseError) Error() string {
	return fmt.Sprintf("vsdb: tensor %q: in its base, model %s: %s", e.tensor, e.model, strings.TrimPrefix(e.err.Error(), "vsdb: "))
}

func (e *baseError) Unwrap() error { return e.err }

// inBase wraps err (nil stays nil), from reading b, the base of t.
func (r *Reader) inBase(t, b *TensorRecord, err error) error {
	if err == nil {
		return nil
	}
	model := fmt.Sprintf("id %d", b.Model)
	if ms, merr := r.Models(); merr == nil {
		for _, m := range ms {
			if m.ID == b.Model {
				model = fmt.Sprintf("%q", m.Name)
			}
		}
	}
	return &baseError{tensor: t.Name, model: model, err: err}
}
