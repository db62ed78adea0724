package lsm

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/vsdb/vsdb/codec"
	"github.com/vsdb/vsdb/objstore"
)

// fetcher fetches chunk objects into the local cache, each at most once at
// a time: a read that needs a chunk a prefetch is already fetching waits
// for that fetch instead of starting its own.
type fetcher struct {
	mu       sync.Mutex
	inflight map[[32]byte]*fetchCall
}

type fetchCall struct {
	done chan struct{}
	enc  []byte
	err  error
}

// chunkRef is one chunk to fetch: its name and its CRC from the record.
type chunkRef struct {
	hash   string
	crc    uint32
	tensor string
	index  int
	raw    int64 // decoded size: a bound on the object's
}

// fetch returns the chunk's verified bytes from the bucket and caches them.
func (t *tier) fetch(ctx context.Context, c chunkRef) ([]byte, error) {
	h, err := hashBytes(c.hash)
	if err != nil {
		return nil, fmt.Errorf("vsdb: tensor %q: chunk %d: %v", c.tensor, c.index, err)
	}
	t.fetches.mu.Lock()
	if t.fetches.inflight == nil {
		t.fetches.inflight = map[[32]byte]*fetchCall{}
	}
	if call := t.fetches.inflight[h]; call != nil {
		t.fetches.mu.Unlock()
		select {
		case <-call.done:
			return call.enc, call.err
		case <-ctx.Done():
			return nil, fmt.Errorf("vsdb: tensor %q: reading chunk %d: %w", c.tensor, c.index, ctx.Err())
		}
	}
	call := &fetchCall{done: make(chan struct{})}
	t.fetches.inflight[h] = call
	t.fetches.mu.Unlock()
	call.enc, call.err = t.fetchNow(ctx, h, c)
	t.fetches.mu.Lock()
	delete(t.fetches.inflight, h)
	t.fetches.mu.Unlock()
	close(call.done)
	return call.enc, call.err
}

func (t *tier) fetchNow(ctx context.Context, h [32]byte, c chunkRef) ([]byte, error) {
	key := chunkObject(c.hash)
	enc, err := t.bucket.Get(ctx, key)
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, fmt.Errorf("vsdb: tensor %q: chunk %d is missing from %s (object %s)", c.tensor, c.index, t.name, key)
	}
	if err != nil {
		return nil, t.remoteErr(fmt.Sprintf("tensor %q: reading chunk %d", c.tensor, c.index), err)
	}
	if sha256.Sum256(enc) != h {
		return nil, fmt.Errorf("vsdb: tensor %q: chunk %d is corrupt in %s: object %s does not match its checksum", c.tensor, c.index, t.name, key)
	}
	if codec.Checksum(enc) != c.crc {
		// The object is what its name says; the record disagrees with it.
		return nil, fmt.Errorf("vsdb: tensor %q: chunk %d: the model's record (from its manifest) gives a CRC that object %s in %s, intact, does not have", c.tensor, c.index, key, t.name)
	}
	t.cache.put(h, enc)
	return enc, nil
}

// has reports whether a chunk is in the local cache.
func (c *chunkCache) has(h [32]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries[h] != nil
}

// prefetch fetches the chunks not cached yet in the background, t.upload
// at a time, stopping at ctx's end or once it has fetched half the cache's
// budget (more would evict what it fetched before it is read).
func (t *tier) prefetch(ctx context.Context, refs []chunkRef) {
	var todo []chunkRef
	seen := map[string]bool{}
	for _, r := range refs {
		h, err := hashBytes(r.hash)
		if err != nil || seen[r.hash] || t.cache.has(h) {
			continue
		}
		seen[r.hash] = true
		todo = append(todo, r)
	}
	if len(todo) == 0 || !t.background.add(t.upload+1) {
		return
	}
	// The fetches end with ctx or with the store, whichever ends first:
	// they write to the store's cache.
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(t.background.ctx, cancel)
	var workers sync.WaitGroup
	jobs := make(chan chunkRef)
	for range t.upload {
		workers.Add(1)
		go func() {
			defer t.background.done()
			defer workers.Done()
			for r := range jobs {
				t.fetch(ctx, r) // errors surface when the chunk is read
			}
		}()
	}
	go func() {
		workers.Wait()
		stop()
		cancel()
	}()
	go func() {
		defer t.background.done()
		defer close(jobs)
		var sent int64
		for _, r := range todo {
			if sent += r.raw; sent > t.budget/2 {
				return
			}
			select {
			case jobs <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
}

// refs lists the chunks of tensor t from chunk i on (at most n).
func refs(t *TensorRecord, i, n int) []chunkRef {
	var out []chunkRef
	for ; i < len(t.Hashes) && len(out) < n; i++ {
		out = append(out, chunkRef{hash: t.Hashes[i], crc: t.ChunkCRCs[i], tensor: t.Name, index: i, raw: t.ChunkRaw(i)})
	}
	return out
}

// readAhead is how many chunks of a tensor a read that misses the cache
// fetches ahead, in parallel with the one it needs.
const readAhead = 8

// Prefetch starts fetching, in the background, the chunks of a model's
// tensors that live in the object store and are not cached, in order,
// several at a time (see tier.prefetch): a reader that then reads the
// model tensor by tensor finds them cached or in flight. It returns at
// once; ctx ends it early. A no-op for local models.
func (r *Reader) Prefetch(ctx context.Context, ts []TensorRecord) {
	t := r.store.tier
	if t == nil {
		return
	}
	var all []chunkRef
	for i := range ts {
		all = append(all, refs(&ts[i], 0, len(ts[i].Hashes))...)
	}
	t.prefetch(ctx, all)
}

// background tracks the goroutines that fetch chunks ahead of reads, so
// that closing the store stops them before Pebble closes under them.
type background struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

func newBackground() *background {
	b := &background{}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b
}

// add registers n goroutines about to start; false once closed.
func (b *background) add(n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.wg.Add(n)
	return true
}

func (b *background) done() { b.wg.Done() }

// close cancels the goroutines and waits for them.
func (b *background) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
}
