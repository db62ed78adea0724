package lsm

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Hooks for tests of corruption detection. They write behind the store's
// back (through Pebble, bypassing every check vsdb makes): never call them
// on a store you care about.

// CorruptChunkForTest flips the first byte of a stored chunk.
func (s *Store) CorruptChunkForTest(id uint32, idx int) error {
	return s.CorruptValueForTest(KeyChunk(id, uint32(idx)), 0, 0xff)
}

// CorruptValueForTest XORs mask into byte offset of the value stored at
// key; a negative offset counts from the end (-1 is the last byte). XORing
// the same mask at the same offset again restores the value.
func (s *Store) CorruptValueForTest(key []byte, offset int, mask byte) error {
	if mask == 0 {
		return fmt.Errorf("vsdb: corrupting %x: a zero mask changes nothing", key)
	}
	s.write.Lock()
	defer s.write.Unlock()
	v, closer, err := s.db.Get(key)
	if err != nil {
		return fmt.Errorf("vsdb: corrupting %x: %w", key, err)
	}
	bad := append([]byte(nil), v...)
	closer.Close()
	if offset < 0 {
		offset += len(bad)
	}
	if offset < 0 || offset >= len(bad) {
		return fmt.Errorf("vsdb: corrupting %x: offset %d outside its %d bytes", key, offset, len(bad))
	}
	bad[offset] ^= mask
	return s.db.Set(key, bad, pebble.Sync)
}

// ValueForTest returns a copy of the value stored at key (nil, false if
// there is none).
func (s *Store) ValueForTest(key []byte) ([]byte, bool, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer closer.Close()
	return append([]byte(nil), v...), true, nil
}

// ChunkKeysForTest lists the keys of the chunks stored for tensor id, in
// chunk order, as found in the store (not as its record says).
func (s *Store) ChunkKeysForTest(id uint32) ([][]byte, error) {
	prefix := u32([]byte{prefixChunk}, id)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	var keys [][]byte
	for it.First(); it.Valid(); it.Next() {
		keys = append(keys, append([]byte(nil), it.Key()...))
	}
	return keys, errors.Join(it.Error(), it.Close())
}
