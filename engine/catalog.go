package engine

import (
	"context"
	"fmt"
	"strconv"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/vsdb/vsdb/lsm"
	"github.com/vsdb/vsdb/planner"
	"github.com/vsdb/vsdb/tensor"
)

// ModelInfo describes a stored model.
type ModelInfo = planner.ModelInfo

// TensorInfo describes a stored tensor.
type TensorInfo = planner.TensorInfo

// snapshot implements planner.Storage over one consistent lsm snapshot.
type snapshot struct {
	db   *DB
	r    *lsm.Reader
	ids  map[string]uint32 // model name → id, filled lazily
	name map[uint32]string
}

func (db *DB) snapshot() *snapshot {
	return &snapshot{db: db, r: db.store.Reader(), ids: map[string]uint32{}, name: map[uint32]string{}}
}

// snapshotCtx is a snapshot whose reads from the object store end with ctx.
func (db *DB) snapshotCtx(ctx context.Context) *snapshot {
	s := db.snapshot()
	s.r.WithContext(ctx)
	return s
}

func (s *snapshot) Close() error { return s.r.Close() }

func modelInfo(m lsm.ModelRecord) ModelInfo {
	return ModelInfo{Name: m.Name, Tensors: m.Tensors, RawBytes: m.RawBytes, StoredBytes: m.Stored, Source: m.Source, Created: m.Created, Base: m.Base, Metadata: m.Metadata}
}

func (s *snapshot) Models() ([]ModelInfo, error) {
	ms, err := s.r.Models()
	out := make([]ModelInfo, len(ms))
	for i, m := range ms {
		out[i] = modelInfo(m)
		s.ids[m.Name], s.name[m.ID] = m.ID, m.Name
	}
	return out, err
}

func (s *snapshot) Model(name string) (ModelInfo, bool, error) {
	m, ok, err := s.r.Model(name)
	if ok {
		s.ids[m.Name], s.name[m.ID] = m.ID, m.Name
	}
	return modelInfo(m), ok, err
}

func (s *snapshot) Tensors(model string) ([]TensorInfo, error) {
	if _, ok := s.ids[model]; !ok {
		if _, found, err := s.Model(model); err != nil || !found {
			return nil, notFound(model, err)
		}
	}
	m, ok, err := s.r.Model(model)
	if err != nil || !ok {
		return nil, notFound(model, err)
	}
	recs, err := s.r.Tensors(m)
	if err != nil {
		return nil, inModel(model, err)
	}
	infos, err := s.infos(recs)
	if err != nil {
		return nil, inModel(model, err)
	}
	return infos, nil
}

// Tensor looks a tensor up through its name key.
func (s *snapshot) Tensor(model, name string) (TensorInfo, bool, error) {
	m, ok, err := s.r.Model(model)
	if err != nil || !ok {
		return TensorInfo{}, false, notFound(model, err)
	}
	rec, ok, err := s.r.TensorByName(m.ID, name)
	if err != nil || !ok {
		return TensorInfo{}, false, err
	}
	infos, err := s.infos([]lsm.TensorRecord{rec})
	if err != nil {
		return TensorInfo{}, false, err
	}
	return infos[0], true, nil
}

func notFound(model string, err error) error {
	if err != nil {
		return inModel(model, err)
	}
	return fmt.Errorf("vsdb: no model %q", model)
}

func (s *snapshot) infos(recs []lsm.TensorRecord) ([]TensorInfo, error) {
	ids := make([]uint32, len(recs))
	for i := range recs {
		ids[i] = recs[i].ID
	}
	reads, err := s.r.ReadsOf(ids)
	if err != nil {
		return nil, err
	}
	out := make([]TensorInfo, len(recs))
	for i := range recs {
		t, err := s.info(&recs[i], reads[recs[i].ID])
		if err != nil {
			return nil, err
		}
		out[i] = t
	}
	return out, nil
}

func (s *snapshot) info(t *lsm.TensorRecord, reads lsm.Reads) (TensorInfo, error) {
	dt, err := tensor.ParseDType(t.DType)
	if err != nil {
		return TensorInfo{}, fmt.Errorf("vsdb: corrupt record of tensor %q: %w", t.Name, err)
	}
	if _, ok := s.name[t.Model]; !ok {
		if _, err := s.Models(); err != nil {
			return TensorInfo{}, err
		}
	}
	info := TensorInfo{ID: t.ID, Model: s.name[t.Model], Name: t.Name, Layer: t.Layer, Param: t.Param,
		DType: dt, Shape: tensor.Shape(t.Shape), Codec: t.Codec, RawBytes: t.RawBytes, StoredBytes: t.Stored,
		Reads: reads.Count, Tier: s.tier(t.ID), RelError: t.RelError, CachedBytes: s.db.cache.cachedBytes(t.ID, t.Chunks()),
		Rank: t.Rank}
	if t.Base != nil {
		info.Delta, info.DeltaBase = t.Delta, *t.Base
	}
	return info, nil
}

// tier names a tensor's access tier from the tier bitmaps.
func (s *snapshot) tier(id uint32) string {
	for _, t := range []string{"hot", "warm"} {
		if bm, err := s.r.Bitmap("tier", t); err == nil && bm.Contains(id) {
			return t
		}
	}
	return "cold"
}

// Index returns an index bitmap; models are indexed by id, so a model name
// is translated first (an unknown model has no tensors).
func (s *snapshot) Index(kind, value string) (*roaring.Bitmap, error) {
	if kind == "model" {
		m, ok, err := s.r.Model(value)
		if err != nil || !ok {
			return roaring.New(), err
		}
		value = strconv.FormatUint(uint64(m.ID), 10)
	}
	return s.r.Bitmap(kind, value)
}

func (s *snapshot) ReadsAbove(n uint64, candidates *roaring.Bitmap) (*roaring.Bitmap, error) {
	return s.r.ReadsAbove(n, candidates)
}

// AllTensors is the union of every model's tensor-id range.
func (s *snapshot) AllTensors() (*roaring.Bitmap, error) {
	ms, err := s.r.Models()
	bm := roaring.New()
	for _, m := range ms {
		bm.AddRange(uint64(m.FirstTensor), uint64(m.EndTensor))
	}
	return bm, err
}

func (s *snapshot) DeleteModel(model string) error { return s.db.DeleteModel(model) }

func (s *snapshot) Check(model string) ([]string, error) { return s.db.Check(model) }

func (s *snapshot) TensorsByID(ids *roaring.Bitmap) ([]TensorInfo, error) {
	var recs []lsm.TensorRecord
	it := ids.Iterator()
	for it.HasNext() {
		t, err := s.r.Tensor(it.Next())
		if err != nil {
			return nil, err
		}
		recs = append(recs, t)
	}
	return s.infos(recs)
}

func (s *snapshot) ChunkBytes() int64 { return s.db.store.ChunkBytes() }

// record fetches the full record behind a TensorInfo.
func (s *snapshot) record(t TensorInfo) (lsm.TensorRecord, error) {
	return s.r.Tensor(t.ID)
}

// model returns one model's info from a fresh snapshot.
func (db *DB) model(name string) (ModelInfo, bool, error) {
	s := db.snapshot()
	defer s.Close()
	return s.Model(name)
}

func (s *snapshot) Ingest(ctx context.Context, path string, o planner.LoadOptions) (ModelInfo, error) {
	path, err := resolvePath(ctx, path)
	if err != nil {
		return ModelInfo{}, err
	}
	return s.db.Ingest(ctx, path, IngestOptions{Name: o.Name, Base: o.Base, Codec: o.Codec, ErrorBudget: o.Budget, Rank: o.Rank})
}

func (s *snapshot) Export(ctx context.Context, model, path string, o planner.ExportOptions) error {
	path, err := resolvePath(ctx, path)
	if err != nil {
		return err
	}
	eo := ExportOptions{ShardSize: o.ShardSize}
	if o.DType != "" {
		if eo.DType, err = tensor.ParseDType(o.DType); err != nil {
			return err
		}
	}
	return s.db.ExportWith(ctx, model, path, eo)
}

func (s *snapshot) Compress(ctx context.Context, model string, o planner.LoadOptions) (ModelInfo, error) {
	return s.db.Compress(ctx, model, o.Name, IngestOptions{Base: o.Base, Codec: o.Codec, ErrorBudget: o.Budget, Rank: o.Rank})
}

func (s *snapshot) Attach(ctx context.Context, model, from string) ([]string, error) {
	return s.db.Attach(ctx, model, from)
}

func (s *snapshot) Detach(ctx context.Context, model string) error { return s.db.Detach(ctx, model) }

func (s *snapshot) Vacuum(ctx context.Context) (planner.VacuumReport, error) {
	return s.db.Vacuum(ctx)
}

// Tier describes the object-store tier.
func (s *snapshot) Tier() (planner.TierInfo, bool, error) { return s.db.Tier() }
