package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/vsdb/vsdb/codec"
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
	// factored holds the records of tensors written as low-rank factors;
	// baseModel is the model their deltas are against, if any.
	factored  map[int]lsm.TensorRecord
	baseModel string
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
	rec, ok := w.factored[i]
	if !ok {
		w.sink.record(&rec)
	}
	o := w.outs[i]
	rec.Name, rec.DType, rec.Shape = o.Name, o.DType.String(), shapeOf(o.Shape)
	rec.Layer, rec.Param = SplitName(o.Name)
	w.load.AddTensor(rec)
	return nil
}

// WriteFactors stores tensor i as low-rank float32 factors (exactly as
// given), as a delta against base when base is not nil.
func (w *modelWriter) WriteFactors(i int, f planner.Factors, base *planner.TensorInfo) error {
	if err := w.advance(i); err != nil {
		return err
	}
	if _, ok := w.factored[i]; ok || w.sink.raw > 0 {
		return fmt.Errorf("vsdb: tensor %d written twice", i)
	}
	o := w.outs[i]
	size, err := o.Shape.Bytes(o.DType)
	if err != nil || !o.DType.IsFloat() || size != int64(f.M)*int64(f.N)*int64(o.DType.Size()) {
		return fmt.Errorf("vsdb: %s (%s %s) cannot be stored as %d×%d factors", o.Name, o.DType, o.Shape, f.M, f.N)
	}
	enc, err := codec.EncodeLowRankFactors(nil, f.U, f.Vt, f.M, f.N, f.K)
	if err != nil {
		return fmt.Errorf("vsdb: %s: %s", o.Name, trimVsdb(err))
	}
	if err := w.load.PutChunk(w.sink.id, 0, enc); err != nil {
		return err
	}
	rec := lowRankRecord(w.sink.id, enc, size)
	if base != nil {
		if w.baseModel != "" && w.baseModel != base.Model {
			return fmt.Errorf("vsdb: %s: deltas against two base models (%s, %s)", o.Name, w.baseModel, base.Model)
		}
		id := base.ID
		rec.Base, rec.Delta, w.baseModel = &id, lsm.DeltaSub, base.Model
	}
	if w.factored == nil {
		w.factored = map[int]lsm.TensorRecord{}
	}
	w.factored[i] = rec
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
	return w.load.Commit(ctx, lsm.ModelRecord{Source: w.source, Base: w.baseModel})
}

func (w *modelWriter) Abort() error {
	w.sink.close()
	return w.load.Abort()
}
