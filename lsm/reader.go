package lsm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/cockroachdb/pebble/v2"
	"github.com/vsdb/vsdb/codec"
)

// Reader reads one consistent snapshot of the store. Close it when done.
type Reader struct {
	store   *Store
	records *recordCache
	snap    *pebble.Snapshot
	cache   *bitmapCache
	gen     uint64
	valid   bool // the bitmap cache matches this snapshot
	// ctx bounds fetches of chunks from the object store (nil: none but
	// the retry policy's deadline).
	ctx context.Context
}

// WithContext makes ctx bound this reader's fetches from the object store
// (a cancelled statement stops waiting for a store that is down), and
// returns the reader.
func (r *Reader) WithContext(ctx context.Context) *Reader {
	r.ctx = ctx
	return r
}

// Reader opens a snapshot.
func (s *Store) Reader() *Reader {
	g1 := s.bitmaps.gen.Load()
	snap := s.db.NewSnapshot()
	g2 := s.bitmaps.gen.Load()
	return &Reader{store: s, records: &s.records, snap: snap, cache: s.bitmaps, gen: g1, valid: g1 == g2 && g1%2 == 0}
}

// Close releases the snapshot.
func (r *Reader) Close() error { return r.snap.Close() }

// get copies the value of key out of Pebble; found is false when absent.
func (r *Reader) get(key []byte) (val []byte, found bool, err error) {
	v, closer, err := r.snap.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, readErr(err)
	}
	val = append([]byte(nil), v...)
	return val, true, closer.Close()
}

// scan calls fn for every key with the given prefix, in key order.
func (r *Reader) scan(prefix []byte, fn func(k, v []byte) error) error {
	it, err := r.snap.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return readErr(err)
	}
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err == nil {
			err = fn(it.Key(), v)
		}
		if err != nil {
			it.Close()
			return err
		}
	}
	return closeIter(it)
}

// Models lists committed models by name.
func (r *Reader) Models() ([]ModelRecord, error) {
	var out []ModelRecord
	err := r.scan([]byte{prefixModel}, func(k, v []byte) error {
		m, err := decodeModel(string(k[1:]), v)
		if err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	return out, err
}

// Model returns the record of a committed model.
func (r *Reader) Model(name string) (ModelRecord, bool, error) {
	var m ModelRecord
	v, ok, err := r.get(KeyModel(name))
	if err != nil || !ok {
		return m, ok, err
	}
	m, err = decodeModel(name, v)
	return m, err == nil, err
}

// decodeModel decodes the record stored under model name and checks it
// against its key.
func decodeModel(name string, v []byte) (ModelRecord, error) {
	var m ModelRecord
	if err := decodeJSON(fmt.Sprintf("model %q", name), v, &m); err != nil {
		return m, err
	}
	if m.Name != name || m.FirstTensor > m.EndTensor || m.Tensors < 0 || m.Tensors > int(m.EndTensor-m.FirstTensor) {
		return ModelRecord{}, fmt.Errorf("vsdb: corrupt record of model %q: it says name %q, tensors %d in ids [%d, %d)", name, m.Name, m.Tensors, m.FirstTensor, m.EndTensor)
	}
	return m, nil
}

// Tensor returns a tensor's record by id.
func (r *Reader) Tensor(id uint32) (TensorRecord, error) {
	var t TensorRecord
	v, ok, err := r.get(KeyTensor(id))
	if err != nil {
		return t, err
	}
	if !ok {
		return t, fmt.Errorf("vsdb: tensor id %d has no record (run CHECK)", id)
	}
	return r.records.decode(id, v)
}

// TensorByName returns the record of tensor name of a model.
func (r *Reader) TensorByName(model uint32, name string) (TensorRecord, bool, error) {
	v, ok, err := r.get(KeyName(model, name))
	if err != nil || !ok {
		return TensorRecord{}, ok, err
	}
	if len(v) != 4 {
		return TensorRecord{}, false, fmt.Errorf("vsdb: corrupt name key for %q", name)
	}
	t, err := r.Tensor(binary.BigEndian.Uint32(v))
	return t, err == nil, err
}

// Tensors returns a model's tensor records in their original file order.
// A model owns the contiguous tensor ids [FirstTensor, EndTensor), so this
// is one range scan over the records (decoded through the record cache)
// rather than a name-key scan plus a lookup per tensor.
func (r *Reader) Tensors(m ModelRecord) ([]TensorRecord, error) {
	var out []TensorRecord
	if m.FirstTensor >= m.EndTensor {
		return out, nil
	}
	it, err := r.snap.NewIter(&pebble.IterOptions{LowerBound: KeyTensor(m.FirstTensor), UpperBound: KeyTensor(m.EndTensor)})
	if err != nil {
		return nil, readErr(err)
	}
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err == nil && len(it.Key()) != 5 {
			err = fmt.Errorf("vsdb: corrupt tensor key in model %q", m.Name)
		}
		var t TensorRecord
		if err == nil {
			t, err = r.records.decode(binary.BigEndian.Uint32(it.Key()[1:]), v)
		}
		if err == nil && t.Model != m.ID {
			err = fmt.Errorf("vsdb: tensor id %d in the range of model %q belongs to model id %d (run CHECK)", t.ID, m.Name, t.Model)
		}
		if err != nil {
			it.Close()
			return nil, err
		}
		out = append(out, t)
	}
	if err := closeIter(it); err != nil {
		return nil, readErr(err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Order < out[j].Order })
	return out, nil
}

// nameKeys counts a model's name keys and reports the first that does not
// point at the tensor of that name.
func (r *Reader) nameKeys(m ModelRecord, byName map[string]uint32) (int, string, error) {
	n, bad := 0, ""
	prefix := KeyName(m.ID, "")
	err := r.scan(prefix, func(k, v []byte) error {
		n++
		name := string(k[len(prefix):])
		if id, ok := byName[name]; bad == "" && (!ok || len(v) != 4 || binary.BigEndian.Uint32(v) != id) {
			bad = name
		}
		return nil
	})
	return n, bad, err
}

// Bitmap returns the index bitmap of tensors whose kind has value (empty if
// none). It may be shared with other readers: never modify it (use
// roaring.And and friends, which return new bitmaps).
func (r *Reader) Bitmap(kind, value string) (*roaring.Bitmap, error) {
	key := KeyIndex(kind, value)
	if r.valid {
		if bm := r.cache.get(r.gen, string(key)); bm != nil {
			return bm, nil
		}
	}
	v, ok, err := r.get(key)
	bm := roaring.New()
	if err != nil {
		return nil, err
	}
	if ok {
		if _, err := bm.FromBuffer(v); err != nil {
			return nil, fmt.Errorf("vsdb: corrupt %s index %q: %v", kind, value, err)
		}
	}
	if r.valid {
		r.cache.put(r.gen, string(key), bm)
	}
	return bm, nil
}

// IndexValues lists the values that have a bitmap for kind, with the bitmaps.
func (r *Reader) IndexValues(kind string) (map[string]*roaring.Bitmap, error) {
	prefix := KeyIndex(kind, "")
	out := map[string]*roaring.Bitmap{}
	err := r.scan(prefix, func(k, v []byte) error {
		bm := roaring.New()
		if _, err := bm.FromBuffer(append([]byte(nil), v...)); err != nil {
			return fmt.Errorf("vsdb: corrupt %s index: %v", kind, err)
		}
		out[string(k[len(prefix):])] = bm
		return nil
	})
	return out, err
}

// Chunk reads chunk i of a tensor, verifies its checksum and returns the
// encoded bytes (appended to dst[:0]).
func (r *Reader) Chunk(t *TensorRecord, i int, dst []byte) ([]byte, error) {
	err := r.ChunkFunc(t, i, func(enc []byte) error {
		dst = append(dst[:0], enc...)
		return nil
	})
	return dst, err
}

// ChunkFunc verifies chunk i of a tensor and calls fn with its encoded
// bytes, which are valid only during the call (no copy is made).
func (r *Reader) ChunkFunc(t *TensorRecord, i int, fn func(enc []byte) error) error {
	if i < 0 || i >= len(t.ChunkCRCs) {
		return fmt.Errorf("vsdb: tensor %q: no chunk %d", t.Name, i)
	}
	if len(t.Hashes) > 0 {
		return r.store.remoteChunk(r.ctx, t, i, fn)
	}
	v, closer, err := r.snap.Get(KeyChunk(t.ID, uint32(i)))
	if errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("vsdb: tensor %q: chunk %d is missing", t.Name, i)
	}
	if err != nil {
		return fmt.Errorf("vsdb: tensor %q: chunk %d: %w", t.Name, i, &readError{err: err, nested: true})
	}
	defer closer.Close()
	if codec.Checksum(v) != t.ChunkCRCs[i] {
		return fmt.Errorf("vsdb: tensor %q: chunk %d fails its checksum (stored data is corrupt)", t.Name, i)
	}
	return fn(v)
}

// Reads returns a tensor's access record (zero if never read).
func (r *Reader) Reads(id uint32) (Reads, error) {
	v, ok, err := r.get(KeyReads(id))
	if err != nil {
		return Reads{}, err
	}
	var rd Reads
	if ok {
		rd, _ = decodeReads(v)
	}
	return r.withPending(id, rd), nil
}

// withPending adds the counts not yet written to Pebble.
func (r *Reader) withPending(id uint32, rd Reads) Reads {
	if p, ok := r.store.pendingReads(id); ok {
		if rd.At == 0 {
			return p
		}
		return rd.add(p)
	}
	return rd
}

// ReadsOf returns the access records of the given tensors (absent: never
// read). Tensors of one model have contiguous ids, so this is one range scan
// over their counters instead of a lookup per tensor; ids spread far apart
// fall back to lookups.
func (r *Reader) ReadsOf(ids []uint32) (map[uint32]Reads, error) {
	out := make(map[uint32]Reads, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	lo, hi := ids[0], ids[0]
	for _, id := range ids {
		lo, hi = min(lo, id), max(hi, id)
	}
	if uint64(hi-lo) > 4*uint64(len(ids))+64 {
		for _, id := range ids {
			rd, err := r.Reads(id)
			if err != nil {
				return nil, err
			}
			out[id] = rd
		}
		return out, nil
	}
	it, err := r.snap.NewIter(&pebble.IterOptions{LowerBound: KeyReads(lo), UpperBound: KeyReads(hi + 1)})
	if err != nil {
		return nil, readErr(err)
	}
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return nil, readErr(err)
		}
		if rd, ok := decodeReads(v); ok && len(it.Key()) == 5 {
			out[binary.BigEndian.Uint32(it.Key()[1:])] = rd
		}
	}
	for _, id := range ids {
		if rd := r.withPending(id, out[id]); rd.At != 0 {
			out[id] = rd
		}
	}
	return out, closeIter(it)
}
