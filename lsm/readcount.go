package lsm

import (
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/cockroachdb/pebble/v2"
)

// readBatch gathers CountRead calls in memory. Writing one Pebble merge
// operand per read made a hot tensor's counter a pile of operands in the
// memtable (millions fit before a flush), which every later read of the
// counter (planning, SHOW TENSORS) merged one by one: a server answering
// GETs of one tensor slowed down the longer it ran. Pending counts are
// written as one operand per tensor at most every readFlushEvery, or when
// readFlushMax tensors are pending, and when the access index is rebuilt
// or the store closes; Reader.Reads and ReadsOf add the pending counts, so
// counts are never stale in this process (a crash loses at most the last
// second of counts, as an unsynced write did before).
type readBatch struct {
	mu      sync.Mutex
	pending map[uint32]Reads
	last    time.Time
}

const (
	readFlushEvery = time.Second
	readFlushMax   = 4096
)

// CountRead records n reads of a tensor now.
func (s *Store) CountRead(id uint32, n uint64) error {
	now := time.Now()
	b := &s.reads
	b.mu.Lock()
	if b.pending == nil {
		b.pending = map[uint32]Reads{}
		b.last = now
	}
	v := Reads{Count: n, Score: float64(n), At: now.Unix()}
	if old, ok := b.pending[id]; ok {
		v = old.add(v)
	}
	b.pending[id] = v
	due := now.Sub(b.last) >= readFlushEvery || len(b.pending) >= readFlushMax
	b.mu.Unlock()
	if !due {
		return nil
	}
	return s.flushReads()
}

// flushReads writes the pending counts as merge operands, not synced.
// It holds the batch's lock while writing, so DeleteModel (which drops
// the pending counts of the tensors it removes under the same lock)
// cannot be overtaken by a flush of counts for tensors it deleted.
func (s *Store) flushReads() error {
	b := &s.reads
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last = time.Now()
	if len(b.pending) == 0 || s.db == nil {
		return nil
	}
	batch := s.db.NewBatch()
	for id, v := range b.pending {
		if err := batch.Merge(KeyReads(id), v.encode(), nil); err != nil {
			return err
		}
	}
	clear(b.pending)
	return batch.Commit(pebble.NoSync)
}

// dropPendingReads forgets pending counts of tensor ids [first, end).
func (s *Store) dropPendingReads(first, end uint32) {
	b := &s.reads
	b.mu.Lock()
	defer b.mu.Unlock()
	for id := range b.pending {
		if id >= first && id < end {
			delete(b.pending, id)
		}
	}
}

// pendingReads returns the pending count of id, if any.
func (s *Store) pendingReads(id uint32) (Reads, bool) {
	b := &s.reads
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.pending[id]
	return v, ok
}

// liveTensors is the ids of every committed tensor: each model owns the
// range [FirstTensor, EndTensor).
func (r *Reader) liveTensors() (*roaring.Bitmap, error) {
	ms, err := r.Models()
	bm := roaring.New()
	for _, m := range ms {
		bm.AddRange(uint64(m.FirstTensor), uint64(m.EndTensor))
	}
	return bm, err
}
