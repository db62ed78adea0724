package engine

import (
	"context"
	"errors"
	"io"

	"github.com/vsdb/vsdb/format"
	"github.com/vsdb/vsdb/format/safetensors"
)

// ErrNotFound matches (errors.Is) the errors about a model or tensor that
// does not exist.
var ErrNotFound = errors.New("vsdb: not found")

type notFoundError string

func (e notFoundError) Error() string        { return string(e) }
func (e notFoundError) Is(target error) bool { return target == ErrNotFound }

// TensorTo streams one stored tensor to w as a safetensors file holding
// only it, chunk by chunk (the tensor is never whole in memory). It
// returns the tensor's record first through info, so a caller can refuse
// one that is too large before anything is written.
func (db *DB) TensorTo(ctx context.Context, model, name string, w io.Writer, check func(TensorInfo) error) error {
	s := db.snapshot()
	defer s.Close()
	ts, err := s.Tensors(model)
	if err != nil {
		if _, ok, _ := s.r.Model(model); !ok {
			return notFoundError("vsdb: no model \"" + model + "\"")
		}
		return err
	}
	for _, t := range ts {
		if t.Name != name {
			continue
		}
		if check != nil {
			if err := check(t); err != nil {
				return err
			}
		}
		entry := format.Entry{Name: t.Name, DType: t.DType, Shape: t.Shape, Size: t.RawBytes}
		return safetensors.Write(w, []format.Entry{entry}, nil, func(int) (io.ReadCloser, error) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			r, err := s.Open(t)
			if err != nil {
				return nil, err
			}
			return &rawStream{r: r.(*tensorReader), size: t.RawBytes}, nil
		})
	}
	return notFoundError("vsdb: model \"" + model + "\" has no tensor \"" + name + "\"")
}

// CacheStats reports the hot-tensor cache's hits and misses since Open and
// the bytes it holds.
func (db *DB) CacheStats() (hits, misses uint64, bytes int64) {
	c := db.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses, c.used
}
