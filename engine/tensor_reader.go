package engine

import (
	"fmt"
	"strings"

	"github.com/vsdb/vsdb/lsm"
	"github.com/vsdb/vsdb/planner"
	"github.com/vsdb/vsdb/tensor"
)

// tensorReader decodes a stored tensor chunk by chunk, keeping one decoded
// chunk cached, so sequential reads touch each chunk once.
type tensorReader struct {
	s     *snapshot
	rec   lsm.TensorRecord
	ref   string
	model string
	dtype tensor.DType
	cur   int // index of the cached chunk, -1 if none
	raw   []byte
}

func (s *snapshot) Open(t TensorInfo) (planner.TensorReader, error) {
	rec, err := s.record(t)
	if err != nil {
		return nil, err
	}
	if !lsm.KnownCodec(rec.Codec) {
		return nil, fmt.Errorf("vsdb: tensor %s: unknown codec %q", t.Ref(), rec.Codec)
	}
	s.db.store.CountRead(rec.ID, 1)
	return &tensorReader{s: s, rec: rec, ref: t.Ref(), model: t.Model, dtype: t.DType, cur: -1}, nil
}

func (r *tensorReader) Close() error { return nil }

// chunk decodes chunk i into r.raw.
func (r *tensorReader) chunk(i int) error {
	if i == r.cur {
		return nil
	}
	if i < 0 || i >= r.rec.Chunks() {
		return fmt.Errorf("vsdb: tensor %s: chunk %d out of range", r.ref, i)
	}
	n := int(r.rec.ChunkRaw(i))
	if cap(r.raw) < n {
		r.raw = make([]byte, n)
	}
	r.raw = r.raw[:n]
	r.cur = -1
	if err := r.decodeInto(r.raw, i); err != nil {
		return err
	}
	r.cur = i
	return nil
}

// decodeInto decodes chunk i into dst, which has its exact raw length.
func (r *tensorReader) decodeInto(dst []byte, i int) error {
	key := chunkKey{r.rec.ID, i}
	cache := r.s.db.cache
	if cache.get(key, dst) {
		return nil
	}
	if err := r.decodeStored(dst, i); err != nil {
		return err
	}
	cache.put(key, dst)
	return nil
}

// decodeStored reads chunk i from the store and decodes it into dst.
func (r *tensorReader) decodeStored(dst []byte, i int) error {
	if err := r.s.r.DecodeTensorChunk(&r.rec, i, dst); err != nil {
		return inModel(r.model, err)
	}
	return nil
}

// inModel prefixes a storage error with the model it concerns, keeping the
// cause for errors.Is.
func inModel(model string, err error) error {
	return &modelError{model: model, err: err}
}

type modelError struct {
	model string
	err   error
}

func (e *modelError) Error() string {
	msg := strings.ReplaceAll(strings.TrimPrefix(e.err.Error(), "vsdb: "), ": vsdb: ", ": ")
	return fmt.Sprintf("vsdb: model %q: %s", e.model, msg)
}

func (e *modelError) Unwrap() error { return e.err }

// ReadRaw fills dst with raw bytes [off, off+len(dst)).
func (r *tensorReader) ReadRaw(off int64, dst []byte) error {
	if off < 0 || off+int64(len(dst)) > r.rec.RawBytes {
		return fmt.Errorf("vsdb: tensor %s: read of %d bytes at %d past its %d bytes", r.ref, len(dst), off, r.rec.RawBytes)
	}
	cb := r.rec.ChunkBytes
	for len(dst) > 0 {
		i := int(off / cb)
		if n := r.rec.ChunkRaw(i); off == int64(i)*cb && int64(len(dst)) >= n {
			// A whole chunk: decode straight into the caller's buffer.
			if err := r.decodeInto(dst[:n], i); err != nil {
				return err
			}
			dst, off = dst[n:], off+n
			continue
		}
		if err := r.chunk(i); err != nil {
			return err
		}
		k := copy(dst, r.raw[off-int64(i)*cb:])
		dst, off = dst[k:], off+int64(k)
	}
	return nil
}

// ReadFloat32 fills dst with elements [off, off+len(dst)) as float32.
func (r *tensorReader) ReadFloat32(off int64, dst []float32) error {
	size := int64(r.dtype.Size())
	cb := r.rec.ChunkBytes
	for len(dst) > 0 {
		byteOff := off * size
		if byteOff+size > r.rec.RawBytes || off < 0 {
			return fmt.Errorf("vsdb: tensor %s: element %d out of range", r.ref, off)
		}
		i := int(byteOff / cb)
		if err := r.chunk(i); err != nil {
			return err
		}
		in := r.raw[byteOff-int64(i)*cb:]
		n := min(int64(len(dst)), int64(len(in))/size)
		if err := tensor.ToFloat32(r.dtype, in, dst[:n]); err != nil {
			return err
		}
		dst, off = dst[n:], off+n
	}
	return nil
}
