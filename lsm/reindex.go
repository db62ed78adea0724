package lsm

import (
	"github.com/cockroachdb/pebble/v2"
)

// RebuildIndexes recomputes every property bitmap (model, layer, param,
// dtype, codec) from the tensor records and the access indexes from the read
// records, replacing what is stored, in one batch.
func (s *Store) RebuildIndexes() error {
	if err := s.rebuildPropertyIndexes(); err != nil {
		return err
	}
	return s.RefreshAccessIndex()
}

func (s *Store) rebuildPropertyIndexes() error {
	s.write.Lock()
	defer s.write.Unlock()
	r := s.Reader()
	defer r.Close()
	models, err := r.Models()
	if err != nil {
		return err
	}
	index := bitmapDelta{}
	for _, m := range models {
		ts, err := r.Tensors(m)
		if err != nil {
			return err
		}
		for i := range ts {
			index.addTensor(&ts[i])
		}
	}
	b := s.db.NewBatch()
	for _, kind := range indexKinds {
		start := KeyIndex(kind, "")
		b.DeleteRange(start, prefixEnd(start), nil)
	}
	for k, bm := range index {
		if err := setBitmap(b, []byte(k), bm); err != nil {
			return err
		}
	}
	return s.applyIndexed(b, pebble.Sync)
}
