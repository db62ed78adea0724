package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/vsdb/vsdb/lsm"
	"github.com/vsdb/vsdb/planner"
)

// modelWriter writes a new model for FUSE ... INTO, tensor by tensor.
type modelWriter struct {
	load   *lsm.Load
	sink   *chunkSink
	codec  chunkCodec
	outs   []planner.OutTensor
	source string
	cur    int // tensor being written; -1 before the first
}

func (s *snapshot) Create(model, source string, outs []planner.OutTensor) (planner.ModelWriter, error) {
	c, err := chunkCodecByName(s.db.opts.Codec)
	if err != nil {
		return nil, err
	}
	load, err := s.db.store.BeginLoad(model, len(outs))
	if err != nil {
		return nil, err
	}
	sink := newChunkSink(load, s.db.store.ChunkBytes(), s.db.opts.Workers)
	return &modelWriter{load: load, sink: sink, codec: c, outs: outs, source: source, cur: -1}, nil
}

// advance finishes tensors up to (not including) i, including empty ones.
func (w *modelWriter) advance(i int) error {
	if i < w.cur || i > len(w.outs) {
		return fmt.Errorf("vsdb: tensors must be written in order (%d after %d)", i, w.cur)
	}
	for w.cur < i {
		if w.cur >= 0 {
			if err := w.finish(w.cur); err != nil {
				return err
			}
		}
		w.cur++
		if w.cur < len(w.outs) {
			id, err := w.load.NewTensor()
			if err != nil {
				return err
			}
			w.sink.begin(id, w.outs[w.cur].DType, w.codec, nil)
		}
	}
	return nil
}

func (w *modelWriter) finish(i int) error {
	if err := w.sink.end(); err != nil {
		return err
	}
	o := w.outs[i]
	layer, param := SplitName(o.Name)
	rec := lsm.TensorRecord{Name: o.Name, Layer: layer, Param: param, DType: o.DType.String(), Shape: shapeOf(o.Shape)}
	w.sink.record(&rec)
	w.load.AddTensor(rec)
	return nil
}

func (w *modelWriter) Write(i int, raw []byte) error {
	if err := w.advance(i); err != nil {
		return err
	}
	_, err := w.sink.Write(raw)
	return err
}

func (w *modelWriter) Commit(ctx context.Context) error {
	if err := w.advance(len(w.outs)); err != nil {
		return errors.Join(err, w.Abort())
	}
	w.sink.close()
	return w.load.Commit(ctx, lsm.ModelRecord{Source: w.source})
}

func (w *modelWriter) Abort() error {
	w.sink.close()
	return w.load.Abort()
}
