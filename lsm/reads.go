package lsm

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	bsi "github.com/RoaringBitmap/roaring/v2/BitSliceIndexing"
	"github.com/cockroachdb/pebble/v2"
)

// Access tiers by decayed score (reads, weighted by recency).
const (
	HotScore  = 8.0 // at least this: hot
	WarmScore = 1.0 // at least this: warm; below: cold (never-read tensors are cold)
)

// CountRead records n reads of a tensor now, as a merge operand: no
// read-modify-write, and not synced (losing the last counts in a crash is
// acceptable; losing data is not).
func (s *Store) CountRead(id uint32, n uint64) error {
	v := Reads{Count: n, Score: float64(n), At: time.Now().Unix()}
	return s.db.Merge(KeyReads(id), v.encode(), pebble.NoSync)
}

// keyRefreshed holds the time of the last RefreshAccessIndex (Unix seconds).
func keyRefreshed() []byte { return []byte{prefixSeq, 'r', 'e', 'f'} }

// RefreshAccessIndex recomputes the access-frequency indexes from the read
// records: "tier" hot/warm bitmaps (cold is every other tensor) and a
// bit-sliced index of read counts. It scans only the read records (one per tensor ever read) and
// writes the bitmaps in one batch.
func (s *Store) RefreshAccessIndex() error {
	s.write.Lock()
	defer s.write.Unlock()
	now := time.Now().Unix()
	r := s.Reader()
	defer r.Close()
	hot, warm := roaring.New(), roaring.New()
	counts := bsi.NewDefaultBSI()
	err := r.scan([]byte{prefixReads}, func(k, v []byte) error {
		rd, ok := decodeReads(v)
		if !ok || len(k) != 5 {
			return nil
		}
		id := binary.BigEndian.Uint32(k[1:])
		switch sc := rd.ScoreAt(now); {
		case sc >= HotScore:
			hot.Add(id)
		case sc >= WarmScore:
			warm.Add(id)
		}
		counts.SetValue(uint64(id), int64(min(rd.Count, 1<<62)))
		return nil
	})
	if err != nil {
		return err
	}
	b := s.db.NewBatch()
	b.DeleteRange(KeyIndex("tier", ""), prefixEnd(KeyIndex("tier", "")), nil)
	b.DeleteRange(KeyIndex("reads", ""), prefixEnd(KeyIndex("reads", "")), nil)
	for name, bm := range map[string]*roaring.Bitmap{"hot": hot, "warm": warm} {
		if err := setBitmap(b, KeyIndex("tier", name), bm); err != nil {
			return err
		}
	}
	if counts.GetCardinality() > 0 {
		v, err := encodeBSI(counts)
		if err != nil {
			return err
		}
		b.Set(KeyIndex("reads", "bsi"), v, nil)
	}
	b.Set(keyRefreshed(), []byte(strconv.FormatInt(now, 10)), nil)
	return s.applyIndexed(b, pebble.NoSync)
}

func setBitmap(b *pebble.Batch, key []byte, bm *roaring.Bitmap) error {
	if bm.IsEmpty() {
		return nil
	}
	bm.RunOptimize()
	v, err := bm.ToBytes()
	if err != nil {
		return err
	}
	return b.Set(key, v, nil)
}

// AccessIndexAge is how long ago RefreshAccessIndex last ran (a very long
// time if never).
func (r *Reader) AccessIndexAge() (time.Duration, error) {
	v, ok, err := r.get(keyRefreshed())
	if err != nil || !ok {
		return 1 << 62, err
	}
	at, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 1 << 62, nil
	}
	return time.Since(time.Unix(at, 0)), nil
}

// ReadsAbove returns, among candidates, the tensors read more than n times
// as of the last RefreshAccessIndex: one bit-sliced index comparison, no
// per-tensor lookups.
func (r *Reader) ReadsAbove(n uint64, candidates *roaring.Bitmap) (*roaring.Bitmap, error) {
	counts, err := r.readCounts()
	if err != nil || counts.GetCardinality() == 0 {
		return roaring.New(), err
	}
	lo, hi := counts.MinMax(0, bsi.MIN, candidates), counts.MinMax(0, bsi.MAX, candidates)
	switch {
	case n > uint64(hi) || n >= 1<<62:
		return roaring.New(), nil
	case int64(n) < lo:
		return roaring.And(counts.GetExistenceBitmap(), candidates), nil
	}
	return counts.CompareValue(0, bsi.GT, int64(n), 0, candidates), nil
}

// readCounts loads the bit-sliced index of read counts.
func (r *Reader) readCounts() (*bsi.BSI, error) {
	key := string(KeyIndex("reads", "bsi"))
	if r.valid {
		if b := r.cache.getBSI(r.gen, key); b != nil {
			return b, nil
		}
	}
	v, ok, err := r.get([]byte(key))
	if err != nil {
		return nil, err
	}
	counts := bsi.NewDefaultBSI()
	if ok {
		if counts, err = decodeBSI(v); err != nil {
			return nil, err
		}
	}
	if r.valid {
		r.cache.putBSI(r.gen, key, counts)
	}
	return counts, nil
}

// encodeBSI stores a BSI as its slices, each behind a uvarint length.
func encodeBSI(b *bsi.BSI) ([]byte, error) {
	b.RunOptimize()
	parts, err := b.MarshalBinary()
	if err != nil {
		return nil, err
	}
	var out []byte
	for _, p := range parts {
		out = binary.AppendUvarint(out, uint64(len(p)))
		out = append(out, p...)
	}
	return out, nil
}

func decodeBSI(v []byte) (*bsi.BSI, error) {
	var parts [][]byte
	for len(v) > 0 {
		n, w := binary.Uvarint(v)
		if w <= 0 || n > uint64(len(v)-w) {
			return nil, fmt.Errorf("vsdb: corrupt read-count index")
		}
		parts = append(parts, v[w:w+int(n)])
		v = v[w+int(n):]
	}
	b := bsi.NewDefaultBSI()
	if err := b.UnmarshalBinary(parts); err != nil {
		return nil, fmt.Errorf("vsdb: corrupt read-count index: %v", err)
	}
	return b, nil
}
