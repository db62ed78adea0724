package lsm

import (
	"context"
	"fmt"
	"time"

	"github.com/vsdb/vsdb/codec"
)

// remoteChunk verifies chunk i of a tensor whose chunks live in the object
// store and calls fn with its encoded bytes: from the local cache when
// there, else fetched (with retries), checked against its name and the
// record's checksum, and cached; a miss also starts fetching the next
// chunks of the tensor.
func (s *Store) remoteChunk(ctx context.Context, t *TensorRecord, i int, fn func(enc []byte) error) error {
	tr, err := s.needTier(fmt.Sprintf("tensor %q (stored in an object store)", t.Name))
	if err != nil {
		return err
	}
	h, err := hashBytes(t.Hashes[i])
	if err != nil {
		return fmt.Errorf("vsdb: tensor %q: chunk %d: %v", t.Name, i, err)
	}
	var bad bool
	found, err := tr.cache.get(h, func(enc []byte) error {
		if codec.Checksum(enc) != t.ChunkCRCs[i] {
			bad = true
			return nil
		}
		return fn(enc)
	})
	if found && !bad {
		return err
	}
	if bad {
		tr.cache.drop(h) // a damaged cache entry: fetch it again
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if i+1 < len(t.Hashes) {
		tr.prefetch(tr.background.ctx, refs(t, i+1, readAhead-1))
	}
	enc, err := tr.fetch(ctx, refs(t, i, 1)[0])
	if err != nil {
		return err
	}
	return fn(enc)
}
