package engine

import (
	"context"
	"errors"
	"io"

	"github.com/vsdb/vsdb/format"
	"github.com/vsdb/vsdb/format/safetensors"
	"github.com/vsdb/vsdb/lsm"
)

// ErrNotFound matches (errors.Is) the errors about a model or tensor that
// does not exist.
var ErrNotFound = errors.New("vsdb: not found")

// ErrObjectStore matches (errors.Is) the errors of requests to the object
// store that failed (down, unreachable, refused, given up on): the
// statement may succeed later.
var ErrObjectStore = lsm.ErrObjectStore

type notFoundError string

func (e notFoundError) Error() string        { return string(e) }
func (e notFoundError) Is(target error) bool { return target == ErrNotFound }

// TensorTo streams one stored tensor to w as a safetensors file holding
// only it, chunk by chunk (the tensor is never whole in memory). It
// returns the tensor's record first through info, so a caller can refuse
// one that is too large before anything is written.
func (db *DB) TensorTo(ctx context.Context, model, name string, w io.Writer, check func(TensorInfo) error) error {
	s := db.snapshotCtx(ctx)
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
		if err := s.fetchFirst(ctx, t.ID); err != nil {
			return err
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

// fetchFirst, for a tensor whose chunks live in the object store, starts
// fetching them and waits for the first: a store that is down or a chunk
// that is gone fails the call before anything is written (an HTTP status
// can still say so), not as a cut-off body.
func (s *snapshot) fetchFirst(ctx context.Context, id uint32) error {
	rec, err := s.r.Tensor(id)
	if err != nil || !rec.Remote() {
		return err
	}
	s.r.Prefetch(ctx, []lsm.TensorRecord{rec})
	return s.r.ChunkFunc(&rec, 0, func([]byte) error { return nil })
}

// CacheStats reports the hot-tensor cache's hits and misses since Open and
// the bytes it holds.
func (db *DB) CacheStats() (hits, misses uint64, bytes int64) {
	c := db.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses, c.used
}
