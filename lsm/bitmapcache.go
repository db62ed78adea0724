package lsm

import (
	"sync"
	"sync/atomic"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/cockroachdb/pebble/v2"
)

// bitmapCache keeps decoded index bitmaps so a lookup is a few in-memory
// ANDs instead of reading and decoding every bitmap again.
//
// Consistency with snapshots works like a seqlock: every write that changes
// bitmaps (all of them hold the store's write lock) makes gen odd before it
// applies its batch and even again after. A Reader notes gen before and
// after taking its snapshot; if both are the same even number, the snapshot
// holds exactly the bitmaps of that generation and cached entries of that
// generation are valid for it. Otherwise the Reader bypasses the cache.
type bitmapCache struct {
	gen     atomic.Uint64
	mu      sync.Mutex
	entries map[string]cachedBitmap
}

type cachedBitmap struct {
	gen uint64
	bm  *roaring.Bitmap
	bs  *bitSlices
}

func newBitmapCache() *bitmapCache {
	return &bitmapCache{entries: map[string]cachedBitmap{}}
}

// beginWrite and endWrite bracket every batch that changes bitmaps.
func (c *bitmapCache) beginWrite() { c.gen.Add(1) }

func (c *bitmapCache) endWrite() {
	c.mu.Lock()
	c.entries = map[string]cachedBitmap{}
	c.mu.Unlock()
	c.gen.Add(1)
}

func (c *bitmapCache) getSlices(gen uint64, key string) *bitSlices {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && e.gen == gen {
		return e.bs
	}
	return nil
}

func (c *bitmapCache) putSlices(gen uint64, key string, b *bitSlices) {
	if c.gen.Load() != gen {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[key] = cachedBitmap{gen: gen, bs: b}
}

func (c *bitmapCache) get(gen uint64, key string) *roaring.Bitmap {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && e.gen == gen {
		return e.bm
	}
	return nil
}

func (c *bitmapCache) put(gen uint64, key string, bm *roaring.Bitmap) {
	if c.gen.Load() != gen {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[key] = cachedBitmap{gen: gen, bm: bm}
}

// applyIndexed applies a batch that changes bitmaps, keeping the bitmap
// cache consistent with snapshots. The caller holds the write lock.
func (s *Store) applyIndexed(b *pebble.Batch, o *pebble.WriteOptions) error {
	s.bitmaps.beginWrite()
	defer s.bitmaps.endWrite()
	return s.db.Apply(b, o)
}
