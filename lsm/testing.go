package lsm

import "github.com/cockroachdb/pebble/v2"

// CorruptChunkForTest flips the first byte of a stored chunk, for tests of
// corruption detection. Never call it on a store you care about.
func (s *Store) CorruptChunkForTest(id uint32, idx int) error {
	key := KeyChunk(id, uint32(idx))
	v, closer, err := s.db.Get(key)
	if err != nil {
		return err
	}
	bad := append([]byte(nil), v...)
	closer.Close()
	bad[0] ^= 0xff
	return s.db.Set(key, bad, pebble.Sync)
}
