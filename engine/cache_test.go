package engine

import (
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
)

func TestChunkCache(t *testing.T) {
	c := newChunkCache(10)
	c.setHot(roaring.BitmapOf(1, 2))
	c.put(chunkKey{3, 0}, []byte("cold")) // not hot: refused
	c.put(chunkKey{1, 0}, []byte("aaaa"))
	c.put(chunkKey{2, 0}, []byte("bbbb"))
	dst := make([]byte, 4)
	if c.get(chunkKey{3, 0}, dst) {
		t.Error("cold tensor admitted")
	}
	if !c.get(chunkKey{1, 0}, dst) || string(dst) != "aaaa" {
		t.Errorf("hit returned %q", dst)
	}
	c.put(chunkKey{2, 1}, []byte("cccc")) // over budget: evicts the least recent, {2,0}
	if c.get(chunkKey{2, 0}, dst) {
		t.Error("least recently used chunk not evicted")
	}
	if !c.get(chunkKey{1, 0}, dst) || !c.get(chunkKey{2, 1}, dst) {
		t.Error("recent chunks evicted")
	}
	if hits, misses, used := c.stats(); hits != 3 || misses != 2 || used != 8 {
		t.Errorf("stats %d %d %d", hits, misses, used)
	}
	c.setHot(roaring.BitmapOf(2))
	if c.get(chunkKey{1, 0}, dst) || c.cachedBytes(2, 2) != 4 {
		t.Error("setHot kept a tensor that cooled")
	}
}
