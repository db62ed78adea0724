package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/vsdb/vsdb/format"
	"github.com/vsdb/vsdb/lsm"
	"github.com/vsdb/vsdb/planner"
	"github.com/vsdb/vsdb/query"
	"github.com/vsdb/vsdb/tensor"
)

// IngestOptions control one ingest.
type IngestOptions struct {
	// Name of the new model. Default: derived from the file name.
	Name string
	// Codec overrides the DB's default codec: a byte codec (raw,
	// lossless), a float codec (f16, bf16, q8, q4; non-float tensors fall
	// back to lossless) or "auto".
	Codec string
	// ErrorBudget is the largest relative Frobenius error "auto" (or
	// "lowrank" without a Rank) may accept per tensor; 0 means lossless
	// only.
	ErrorBudget float64
	// Rank, with codec "lowrank", stores every float matrix (tensors of 2
	// or more dimensions, viewed as first dimension × the rest) at this
	// rank where that is smaller than the raw tensor; other tensors are
	// stored lossless.
	Rank int
	// Base names a stored model to keep this one as deltas against (a
	// fine-tune against its base): every tensor with a same-named,
	// same-shaped, same-dtype tensor in Base is stored as its difference.
	// Reads add the base back; Base cannot be deleted while this model
	// exists.
	Base string
	// Progress, if set, is called with bytes done and total: once before
	// the first tensor (done 0), then after each tensor. Unset, the
	// function ctx carries is called, if any (see planner.WithProgress).
	Progress func(done, total int64)
}

// Ingest stores the checkpoint at path as a new model. The model appears
// whole or not at all: any error (or a crash) leaves no trace of it.
func (db *DB) Ingest(ctx context.Context, path string, o IngestOptions) (ModelInfo, error) {
	src, err := format.Open(path)
	if err != nil {
		return ModelInfo{}, err
	}
	defer src.Close()
	if o.Name == "" {
		o.Name = nameFromPath(path)
	}
	return db.ingestSource(ctx, src, absPath(path), o)
}

// Compress stores model again as into, with the codec (and base) of o:
// the tensors stream from the store through the same atomic load path.
func (db *DB) Compress(ctx context.Context, model, into string, o IngestOptions) (ModelInfo, error) {
	src, err := db.storeSource(ctx, model)
	if err != nil {
		return ModelInfo{}, err
	}
	defer src.Close()
	o.Name = into
	return db.ingestSource(ctx, src, "COMPRESS "+model, o)
}

// ingestSource loads every tensor of src as the new model o.Name.
func (db *DB) ingestSource(ctx context.Context, src format.Source, label string, o IngestOptions) (ModelInfo, error) {
	name := o.Name
	if err := query.ValidModelName(name); err != nil {
		return ModelInfo{}, err
	}
	cname := o.Codec
	if cname == "" {
		cname = db.opts.Codec
	}
	pick, err := newCodecPicker(cname, o.ErrorBudget, o.Rank)
	if err != nil {
		return ModelInfo{}, err
	}
	entries := src.Entries()
	bases, err := db.baseTensors(o.Base)
	if err != nil {
		return ModelInfo{}, err
	}
	defer bases.Close()
	load, err := db.store.BeginLoad(name, len(entries))
	if err != nil {
		return ModelInfo{}, err
	}
	progress := o.Progress
	if progress == nil {
		progress = planner.ProgressFrom(ctx)
	}
	if err := db.loadEntries(ctx, load, pick, bases, src, entries, progress); err != nil {
		return ModelInfo{}, errors.Join(err, load.Abort())
	}
	rec := lsm.ModelRecord{Source: label, Metadata: src.Metadata(), Base: o.Base}
	if err := load.Commit(ctx, rec); err != nil {
		return ModelInfo{}, err
	}
	m, _, err := db.model(name)
	return m, err
}

func (db *DB) loadEntries(ctx context.Context, load *lsm.Load, pick *codecPicker, bases *baseSet, src format.Source, entries []format.Entry, progress func(int64, int64)) error {
	sink := newChunkSink(load, db.store.ChunkBytes(), db.opts.Workers)
	defer sink.close()
	var total, done int64
	for _, e := range entries {
		total += e.Size
	}
	if progress != nil {
		progress(0, total)
	}
	for i, e := range entries {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("vsdb: ingest cancelled: %w", err)
		}
		rec, err := db.loadTensor(load, sink, pick, bases, src, i, e)
		if err != nil {
			return err
		}
		load.AddTensor(rec)
		done += e.Size
		if progress != nil {
			progress(done, total)
		}
	}
	return nil
}

func (db *DB) loadTensor(load *lsm.Load, sink *chunkSink, pick *codecPicker, bases *baseSet, src format.Source, i int, e format.Entry) (lsm.TensorRecord, error) {
	id, err := load.NewTensor()
	if err != nil {
		return lsm.TensorRecord{}, err
	}
	r, err := src.Open(i)
	if err != nil {
		return lsm.TensorRecord{}, err
	}
	defer r.Close()
	var in io.Reader = r
	c := pick.fixed
	base, baseID, err := bases.reader(e)
	if err != nil {
		return lsm.TensorRecord{}, err
	}
	if pick.wholeTensor(e.DType) {
		// The whole tensor is tried against each candidate codec.
		data := make([]byte, e.Size)
		if _, err := io.ReadFull(r, data); err != nil {
			return lsm.TensorRecord{}, fmt.Errorf("vsdb: %s: tensor %q: %w", src.Path(), e.Name, err)
		}
		var baseData []byte
		if base != nil {
			baseData = make([]byte, e.Size)
			if err := base.ReadRaw(0, baseData); err != nil {
				return lsm.TensorRecord{}, err
			}
		}
		var size float64
		if c, size, err = pick.choose(data, e.DType, baseData); err != nil {
			return lsm.TensorRecord{}, fmt.Errorf("vsdb: tensor %q: %s", e.Name, strings.TrimPrefix(err.Error(), "vsdb: "))
		}
		if lr, ok := pick.lowRankFor(e.Shape, e.DType, size); ok {
			rec, ok, err := encodeLowRank(load, id, lr, data, e.DType, baseData)
			if err != nil {
				return lsm.TensorRecord{}, err
			}
			if ok {
				return describe(rec, e, base != nil, baseID), nil
			}
		}
		in = bytes.NewReader(data)
	}
	var br baseReader
	if base != nil {
		br = base
	}
	sink.begin(id, e.DType, c, br)
	n, err := io.Copy(sink, in)
	if err == nil && n != e.Size {
		err = fmt.Errorf("vsdb: %s: tensor %q: read %d bytes, want %d", src.Path(), e.Name, n, e.Size)
	}
	if err == nil {
		err = sink.end()
	}
	if err != nil {
		return lsm.TensorRecord{}, fmt.Errorf("vsdb: tensor %q: %s", e.Name, strings.TrimPrefix(err.Error(), "vsdb: "))
	}
	var rec lsm.TensorRecord
	sink.record(&rec)
	return describe(rec, e, base != nil, baseID), nil
}

// describe fills the naming fields of a stored tensor's record.
func describe(rec lsm.TensorRecord, e format.Entry, hasBase bool, baseID uint32) lsm.TensorRecord {
	rec.Name, rec.DType, rec.Shape = e.Name, e.DType.String(), shapeOf(e.Shape)
	rec.Layer, rec.Param = SplitName(e.Name)
	if hasBase {
		rec.Base = &baseID
	}
	return rec
}

// shapeOf keeps rank 0 as an empty, non-nil shape.
func shapeOf(s tensor.Shape) []int64 {
	return append([]int64{}, s...)
}

// nameFromPath makes a model name from a file or folder name.
func nameFromPath(path string) string {
	base := filepath.Base(filepath.Clean(path))
	for _, ext := range []string{".index.json", ".safetensors", ".npy"} {
		base = strings.TrimSuffix(base, ext)
	}
	var b strings.Builder
	for i, r := range base {
		ok := r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			r = '_'
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return "model"
	}
	return b.String()
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
