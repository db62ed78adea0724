package lsm

import (
	"fmt"
	"strconv"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/cockroachdb/pebble/v2"
)

// DeleteModel removes a committed model, its tensors, chunks, counters and
// index entries in one synced batch.
func (s *Store) DeleteModel(name string) error {
	s.write.Lock()
	defer s.write.Unlock()
	r := s.Reader()
	m, ok, err := r.Model(name)
	var tensors []TensorRecord
	if err == nil && ok {
		tensors, err = r.Tensors(m.ID)
	}
	r.Close()
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("vsdb: no model %q", name)
	}
	remove := map[string]*roaring.Bitmap{}
	drop := func(kind, value string, id uint32) {
		k := string(KeyIndex(kind, value))
		if remove[k] == nil {
			remove[k] = roaring.New()
		}
		remove[k].Add(id)
	}
	b := s.db.NewBatch()
	for _, t := range tensors {
		b.Delete(KeyName(m.ID, t.Name), nil)
		drop("model", strconv.FormatUint(uint64(m.ID), 10), t.ID)
		drop("layer", t.Layer, t.ID)
		drop("param", t.Param, t.ID)
		drop("dtype", t.DType, t.ID)
		drop("codec", t.Codec, t.ID)
	}
	if err := mergeBitmaps(s, b, nil, remove); err != nil {
		return err
	}
	deleteTensorRange(b, m.FirstTensor, m.EndTensor)
	b.Delete(KeyModel(name), nil)
	if err := s.db.Apply(b, pebble.Sync); err != nil {
		return fmt.Errorf("vsdb: delete model %q: %w", name, err)
	}
	return nil
}

// CountRead adds n to a tensor's access counter without reading it.
func (s *Store) CountRead(id uint32, n uint64) error {
	return s.db.Merge(KeyReads(id), Count(n), pebble.NoSync)
}
