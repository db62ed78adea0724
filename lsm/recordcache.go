package lsm

import (
	"fmt"
	"sync"

	"github.com/vsdb/vsdb/codec"
)

// recordCache keeps decoded tensor records: decoding JSON was most of the
// planning time. An entry is keyed by tensor id and checked against the
// CRC-32C of the stored bytes, so a snapshot always gets the record its own
// bytes hold. Records are shared: callers must not modify their slices.
type recordCache struct {
	mu      sync.Mutex
	entries map[uint32]cachedRecord
}

type cachedRecord struct {
	crc uint32
	rec TensorRecord
}

// maxCachedRecords bounds the cache (the map is dropped when full).
const maxCachedRecords = 1 << 18

func (c *recordCache) decode(id uint32, v []byte) (TensorRecord, error) {
	crc := codec.Checksum(v)
	c.mu.Lock()
	e, ok := c.entries[id]
	c.mu.Unlock()
	if ok && e.crc == crc {
		return e.rec, nil
	}
	var t TensorRecord
	if err := decodeJSON(fmt.Sprintf("tensor %d", id), v, &t); err != nil {
		return t, err
	}
	if err := t.validate(id); err != nil {
		return TensorRecord{}, err
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= maxCachedRecords {
		c.entries = map[uint32]cachedRecord{}
	}
	c.entries[id] = cachedRecord{crc, t}
	c.mu.Unlock()
	return t, nil
}
