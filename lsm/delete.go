package lsm

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble/v2"
)

// DeleteModel removes a committed model, its tensors, chunks, counters and
// index entries in one synced batch. A model in the object store is
// removed from the bucket too (its manifest and this node's hold; other
// nodes that attached it keep it), unless a model there is stored as
// deltas against it.
func (s *Store) DeleteModel(name string) error {
	m, ok, err := s.model(name)
	if err != nil || !ok || !m.Remote || s.tier == nil {
		return s.deleteLocal(name)
	}
	ctx, cancel := s.tier.ctx()
	defer cancel()
	// A manifest under this name that is another model's (the name was
	// reused after this one was deleted elsewhere) stays.
	published, err := s.tier.publishes(ctx, m)
	if err != nil {
		return s.tier.remoteErr(fmt.Sprintf("DELETE MODEL %q: reading its manifest", name), err)
	}
	if published {
		deps, err := s.tier.remoteDependants(ctx, name)
		if err != nil {
			return err
		}
		if len(deps) > 0 {
			return fmt.Errorf("vsdb: model %q is the base of %s in %s, stored as deltas against it; delete %s first", name, strings.Join(deps, ", "), s.tier.name, plural(len(deps), "that model", "those models"))
		}
	}
	if err := s.deleteLocal(name); err != nil {
		return err
	}
	return s.deleteRemote(ctx, m, published)
}

// deleteLocal removes a model from this node's catalog.
func (s *Store) deleteLocal(name string) error {
	s.write.Lock()
	defer s.write.Unlock()
	r := s.Reader()
	m, ok, err := r.Model(name)
	var tensors []TensorRecord
	if err == nil && ok {
		tensors, err = r.Tensors(m)
	}
	r.Close()
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("vsdb: no model %q", name)
	}
	if deps, err := s.dependants(name); err != nil {
		return err
	} else if len(deps) > 0 {
		return fmt.Errorf("vsdb: model %q is the base of %s, stored as deltas against it; delete %s first", name, strings.Join(deps, ", "), plural(len(deps), "that model", "those models"))
	}
	remove := bitmapDelta{}
	b := s.db.NewBatch()
	for i := range tensors {
		b.Delete(KeyName(m.ID, tensors[i].Name), nil)
		remove.addTensor(&tensors[i])
	}
	if err := mergeBitmaps(s, b, nil, remove); err != nil {
		return err
	}
	if err := dropFromAccessIndex(s, b, m.FirstTensor, m.EndTensor); err != nil {
		return err
	}
	deleteTensorRange(b, m.FirstTensor, m.EndTensor)
	b.Delete(KeyModel(name), nil)
	s.dropPendingReads(m.FirstTensor, m.EndTensor)
	if err := s.applyIndexed(b, pebble.Sync); err != nil {
		return fmt.Errorf("vsdb: delete model %q: %w", name, err)
	}
	return nil
}

// dropFromAccessIndex removes tensor ids [first, end) from the tier bitmaps
// and the read-count index.
func dropFromAccessIndex(s *Store, b *pebble.Batch, first, end uint32) error {
	r := s.Reader()
	defer r.Close()
	counts, err := r.readCounts()
	if err != nil {
		return err
	}
	if !counts.exists.IsEmpty() {
		v, err := counts.without(first, end).encode() // the cached one is shared: copy
		if err != nil {
			return err
		}
		b.Set(KeyIndex("reads", "bsi"), v, nil)
	}
	for _, kind := range accessKinds {
		values, err := r.IndexValues(kind)
		if err != nil {
			return err
		}
		for v, bm := range values {
			bm.RemoveRange(uint64(first), uint64(end))
			key := KeyIndex(kind, v)
			if bm.IsEmpty() {
				b.Delete(key, nil)
				continue
			}
			if err := setBitmap(b, key, bm); err != nil {
				return err
			}
		}
	}
	return nil
}

// dependants names the models stored as deltas against model.
func (s *Store) dependants(model string) ([]string, error) {
	r := s.Reader()
	defer r.Close()
	ms, err := r.Models()
	var out []string
	for _, m := range ms {
		if m.Base == model {
			out = append(out, strconv.Quote(m.Name))
		}
	}
	return out, err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
