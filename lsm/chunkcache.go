package lsm

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
)

// chunkCache keeps chunks fetched from the object store in local Pebble,
// within a byte budget, keyed by their content hash (so a chunk shared by
// several models is cached once). What stays is chosen by access
// frequency: each entry counts its hits, eviction removes the least-hit
// entries first (older first among equals), and every eviction round halves
// the counts of the survivors so that a chunk hot last week does not stay
// forever.
//
// Keys: "h" hash → encoded chunk; "i" hash → size and hits (uint64 LE each),
// written in one batch so the two agree. Entries are written without sync:
// a cache lost to a crash is refilled from the bucket.
type chunkCache struct {
	db      *pebble.DB
	budget  int64
	mu      sync.Mutex
	used    int64
	tick    uint64
	entries map[[32]byte]*cacheEntry
	hits    atomic.Int64
	misses  atomic.Int64
}

type cacheEntry struct {
	size  int64
	hits  uint64
	last  uint64
	dirty bool
}

const (
	prefixCache     = 'h'
	prefixCacheMeta = 'i'
)

func cacheKey(p byte, h [32]byte) []byte { return append([]byte{p}, h[:]...) }

func hashBytes(hash string) ([32]byte, error) {
	var h [32]byte
	b, err := hex.DecodeString(hash)
	if err != nil || len(b) != 32 {
		return h, fmt.Errorf("vsdb: %q is not a chunk name", hash)
	}
	copy(h[:], b)
	return h, nil
}

// openChunkCache reads the entries' sizes and counts.
func openChunkCache(db *pebble.DB, budget int64) (*chunkCache, error) {
	c := &chunkCache{db: db, budget: budget, entries: map[[32]byte]*cacheEntry{}}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixCacheMeta}, UpperBound: []byte{prefixCacheMeta + 1}})
	if err != nil {
		return nil, readErr(err)
	}
	for it.First(); it.Valid(); it.Next() {
		k, v := it.Key(), it.Value()
		if len(k) != 33 || len(v) != 16 {
			continue
		}
		var h [32]byte
		copy(h[:], k[1:])
		e := &cacheEntry{size: int64(binary.LittleEndian.Uint64(v)), hits: binary.LittleEndian.Uint64(v[8:])}
		c.entries[h] = e
		c.used += e.size
	}
	if err := closeIter(it); err != nil {
		return nil, readErr(err)
	}
	if c.used > budget {
		// The budget was lowered (cache= in --store) since the last run.
		b := db.NewBatch()
		c.evict(b, budget-budget/10)
		if err := b.Commit(pebble.NoSync); err != nil {
			return nil, fmt.Errorf("vsdb: shrinking the chunk cache to its budget: %w", err)
		}
	}
	return c, nil
}

// get calls fn with the cached chunk, if there; found reports whether it was.
func (c *chunkCache) get(h [32]byte, fn func([]byte) error) (found bool, err error) {
	v, closer, gerr := c.db.Get(cacheKey(prefixCache, h))
	if gerr != nil {
		c.misses.Add(1)
		return false, nil
	}
	defer closer.Close()
	c.hits.Add(1)
	c.mu.Lock()
	if e := c.entries[h]; e != nil {
		c.tick++
		e.hits++
		e.last = c.tick
		e.dirty = true
	}
	c.mu.Unlock()
	return true, fn(v)
}

// drop removes a cached chunk that failed its checksum.
func (c *chunkCache) drop(h [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.db.NewBatch()
	c.remove(b, h)
	b.Commit(pebble.NoSync)
}

func (c *chunkCache) remove(b *pebble.Batch, h [32]byte) {
	if e := c.entries[h]; e != nil {
		c.used -= e.size
		delete(c.entries, h)
	}
	b.Delete(cacheKey(prefixCache, h), nil)
	b.Delete(cacheKey(prefixCacheMeta, h), nil)
}

// put caches a chunk just fetched, evicting others to stay in budget.
func (c *chunkCache) put(h [32]byte, enc []byte) {
	size := int64(len(enc))
	if c.budget <= 0 || size > c.budget {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[h] != nil {
		return
	}
	b := c.db.NewBatch()
	if c.used+size > c.budget {
		c.evict(b, c.budget-c.budget/10-size)
	}
	c.tick++
	e := &cacheEntry{size: size, hits: 1, last: c.tick}
	b.Set(cacheKey(prefixCache, h), enc, nil)
	b.Set(cacheKey(prefixCacheMeta, h), e.meta(), nil)
	if err := b.Commit(pebble.NoSync); err != nil {
		return // a cache: a failed write only costs a later fetch
	}
	c.entries[h] = e
	c.used += size
}

func (e *cacheEntry) meta() []byte {
	v := binary.LittleEndian.AppendUint64(nil, uint64(e.size))
	return binary.LittleEndian.AppendUint64(v, e.hits)
}

// evict removes the least-hit entries until used <= target, then halves
// the survivors' counts.
func (c *chunkCache) evict(b *pebble.Batch, target int64) {
	type cand struct {
		h [32]byte
		e *cacheEntry
	}
	all := make([]cand, 0, len(c.entries))
	for h, e := range c.entries {
		all = append(all, cand{h, e})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].e.hits != all[j].e.hits {
			return all[i].e.hits < all[j].e.hits
		}
		return all[i].e.last < all[j].e.last
	})
	for _, x := range all {
		if c.used <= target {
			break
		}
		c.remove(b, x.h)
	}
	for _, e := range c.entries {
		e.hits = (e.hits + 1) / 2
		e.dirty = true
	}
}

// flush writes the entries' counts (at close).
func (c *chunkCache) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.db.NewBatch()
	for h, e := range c.entries {
		if e.dirty {
			b.Set(cacheKey(prefixCacheMeta, h), e.meta(), nil)
			e.dirty = false
		}
	}
	if b.Empty() {
		return b.Close()
	}
	return b.Commit(pebble.NoSync)
}

// CacheStats is the state of the local chunk cache.
type CacheStats struct {
	Bytes, Budget int64
	Entries       int
	Hits, Misses  int64
}

func (c *chunkCache) stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Bytes: c.used, Budget: c.budget, Entries: len(c.entries), Hits: c.hits.Load(), Misses: c.misses.Load()}
}

// DropChunkCache empties the local cache of chunks (benchmarks measure
// cold reads with it).
func (s *Store) DropChunkCache() error {
	if s.tier == nil {
		return nil
	}
	c := s.tier.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.db.NewBatch()
	for h := range c.entries {
		c.remove(b, h)
	}
	return b.Commit(pebble.NoSync)
}
