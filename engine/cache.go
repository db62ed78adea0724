package engine

import (
	"container/list"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
)

// chunkCache keeps decoded chunks of hot tensors, least recently used out
// first, within a byte budget. Only tensors in the hot tier are admitted,
// so one large scan cannot flush it. Safe for concurrent use.
type chunkCache struct {
	mu     sync.Mutex
	budget int64
	used   int64
	lru    *list.List // of *cacheEntry, most recent at the front
	index  map[chunkKey]*list.Element
	hot    *roaring.Bitmap
	hits   uint64
	misses uint64
}

type chunkKey struct {
	tensor uint32
	chunk  int
}

type cacheEntry struct {
	key  chunkKey
	data []byte
}

func newChunkCache(budget int64) *chunkCache {
	return &chunkCache{budget: budget, lru: list.New(), index: map[chunkKey]*list.Element{}, hot: roaring.New()}
}

// setHot replaces the set of tensors the cache admits and drops the others.
func (c *chunkCache) setHot(hot *roaring.Bitmap) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hot = hot
	for e := c.lru.Back(); e != nil; {
		prev := e.Prev()
		if ent := e.Value.(*cacheEntry); !hot.Contains(ent.key.tensor) {
			c.remove(e)
		}
		e = prev
	}
}

// isHot reports whether a tensor is admitted.
func (c *chunkCache) isHot(id uint32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hot.Contains(id)
}

// get copies a cached chunk into dst (which has its exact length).
func (c *chunkCache) get(k chunkKey, dst []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.index[k]
	if !ok || len(e.Value.(*cacheEntry).data) != len(dst) {
		c.misses++
		return false
	}
	c.hits++
	c.lru.MoveToFront(e)
	copy(dst, e.Value.(*cacheEntry).data)
	return true
}

// put stores a copy of a decoded chunk of a hot tensor.
func (c *chunkCache) put(k chunkKey, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.hot.Contains(k.tensor) || int64(len(data)) > c.budget {
		return
	}
	if _, ok := c.index[k]; ok {
		return
	}
	for c.used+int64(len(data)) > c.budget {
		c.remove(c.lru.Back())
	}
	ent := &cacheEntry{key: k, data: append([]byte(nil), data...)}
	c.index[k] = c.lru.PushFront(ent)
	c.used += int64(len(data))
}

func (c *chunkCache) remove(e *list.Element) {
	ent := e.Value.(*cacheEntry)
	c.lru.Remove(e)
	delete(c.index, ent.key)
	c.used -= int64(len(ent.data))
}

// cachedBytes is how many bytes of a tensor's chunks are cached.
func (c *chunkCache) cachedBytes(id uint32, chunks int) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for i := 0; i < chunks; i++ {
		if e, ok := c.index[chunkKey{id, i}]; ok {
			n += int64(len(e.Value.(*cacheEntry).data))
		}
	}
	return n
}

// stats returns hits, misses and bytes in use.
func (c *chunkCache) stats() (hits, misses uint64, used int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses, c.used
}
