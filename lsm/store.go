package lsm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/cockroachdb/pebble/v2"
)

// Store is an open vsdb store: a Pebble database in DIR/pebble and a
// scratch folder DIR/tmp for sstables being built. One writer at a time
// (ingest, FUSE INTO, delete); any number of readers.
type Store struct {
	db      *pebble.DB
	bitmaps *bitmapCache
	records recordCache
	dir     string
	opts    Options
	cache   interface{ Unref() }
	write   sync.Mutex
	reads   readBatch
	tier    *tier
}

// Open opens (creating if needed) the store in dir and removes what any
// ingest that never committed left behind.
func Open(dir string, o Options) (*Store, error) {
	o = o.withDefaults()
	if o.Tier != nil {
		// A refused address creates no store (no request is made here).
		if _, err := newTier(*o.Tier); err != nil {
			return nil, err
		}
	}
	if err := prepareDir(dir, o.MustExist); err != nil {
		return nil, err
	}
	po := o.pebbleOptions()
	cache := pebble.NewCache(o.CacheBytes)
	po.Cache = cache
	db, err := pebble.Open(filepath.Join(dir, "pebble"), po)
	cache.Unref() // the DB holds its own reference
	if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) || (err != nil && strings.Contains(err.Error(), "lock held by current process")) {
		return nil, fmt.Errorf("vsdb: store %s is in use by another vsdb process (an open shell or a running ingest); try again when it ends", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("vsdb: cannot open store %s: %w", dir, err)
	}
	s := &Store{db: db, dir: dir, opts: o, bitmaps: newBitmapCache()}
	if err := s.recover(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.openTier(o.Tier); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// prepareDir checks that dir is (or may become) a store and is writable:
// Pebble retries a failed flush forever on a read-only folder, so this is
// found out before opening it.
func prepareDir(dir string, mustExist bool) error {
	if dir == "" {
		return fmt.Errorf("vsdb: no store folder given")
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist) && mustExist:
		return fmt.Errorf("vsdb: no store at %s (vsdb ingest creates one)", dir)
	case err == nil && !fi.IsDir():
		return fmt.Errorf("vsdb: %s is a file, not a vsdb store", dir)
	case err == nil:
		if _, perr := os.Stat(filepath.Join(dir, "pebble")); errors.Is(perr, os.ErrNotExist) {
			if entries, _ := os.ReadDir(dir); len(entries) > 0 && !onlyScratch(entries) {
				return fmt.Errorf("vsdb: %s is not a vsdb store (it holds other files); choose a new or empty folder", dir)
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return fmt.Errorf("vsdb: cannot create store %s: %w", dir, err)
	}
	for _, sub := range []string{"tmp", "pebble"} {
		if err := probeWritable(filepath.Join(dir, sub)); err != nil {
			return fmt.Errorf("vsdb: store %s is not writable: %w", dir, err)
		}
	}
	return nil
}

func onlyScratch(entries []os.DirEntry) bool {
	return len(entries) == 1 && entries[0].Name() == "tmp"
}

// probeWritable creates and removes a file in dir, if dir exists.
func probeWritable(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// Close closes the store.
func (s *Store) Close() error {
	if s.db == nil {
		return nil
	}
	ferr := s.flushReads()
	if s.tier != nil {
		s.tier.background.close() // no fetch writes to the cache after this
		s.tier.cache.flush()
	}
	err := s.db.Close()
	s.db = nil
	if err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("vsdb: closing store: %w", err)
	}
	return nil
}

// Dir is the store's folder.
func (s *Store) Dir() string { return s.dir }

// ChunkBytes is the raw size of one chunk.
func (s *Store) ChunkBytes() int64 { return s.opts.ChunkBytes }

// recover removes chunks and markers of ingests that never committed, and
// stale sstables from the scratch folder.
func (s *Store) recover() error {
	tmp := filepath.Join(s.dir, "tmp")
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		os.Remove(filepath.Join(tmp, e.Name()))
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixPending}, UpperBound: []byte{prefixPending + 1}})
	if err != nil {
		return fmt.Errorf("vsdb: recovery: %w", err)
	}
	b := s.db.NewBatch()
	for it.First(); it.Valid(); it.Next() {
		var p pendingRecord
		if err := decodeJSON("pending ingest", it.Value(), &p); err != nil {
			it.Close()
			return err
		}
		deleteTensorRange(b, p.FirstTensor, p.EndTensor)
		b.Delete(append([]byte{}, it.Key()...), nil)
	}
	if err := closeIter(it); err != nil {
		return fmt.Errorf("vsdb: recovery: %w", err)
	}
	if b.Empty() {
		return b.Close()
	}
	return s.db.Apply(b, pebble.Sync)
}

// deleteTensorRange deletes chunks, records and counters of tensor ids [first, end).
func deleteTensorRange(b *pebble.Batch, first, end uint32) {
	if first >= end {
		return
	}
	b.DeleteRange(KeyChunk(first, 0), KeyChunk(end, 0), nil)
	b.DeleteRange(KeyTensor(first), KeyTensor(end), nil)
	b.DeleteRange(KeyReads(first), KeyReads(end), nil)
}

// Settle flushes the memtable and compacts the whole key space, so that
// no background compaction competes with what runs next (benchmarks).
func (s *Store) Settle() error {
	if err := s.db.Flush(); err != nil {
		return err
	}
	return s.db.Compact(context.Background(), []byte{0}, []byte{0xff}, true)
}
