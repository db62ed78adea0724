package lsm

import (
	"encoding/binary"
	"strconv"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/cockroachdb/pebble/v2"
)

// Access tiers by decayed score (reads, weighted by recency).
const (
	HotScore  = 8.0 // at least this: hot
	WarmScore = 1.0 // at least this: warm; below: cold (never-read tensors are cold)
)

// keyRefreshed holds the time of the last RefreshAccessIndex (Unix seconds).
func keyRefreshed() []byte { return []byte{prefixSeq, 'r', 'e', 'f'} }

// RefreshAccessIndex recomputes the access-frequency indexes from the read
// records: "tier" hot/warm bitmaps (cold is every other tensor) and the
// bit-sliced index of read counts (see bitSlices). It scans only the read records (one per tensor ever read) and
// writes the bitmaps in one batch.
func (s *Store) RefreshAccessIndex() error {
	if err := s.flushReads(); err != nil {
		return err
	}
	s.write.Lock()
	defer s.write.Unlock()
	now := time.Now().Unix()
	r := s.Reader()
	defer r.Close()
	// Counters of tensors deleted while their reads were being counted
	// must not enter the indexes.
	live, err := r.liveTensors()
	if err != nil {
		return err
	}
	hot, warm := roaring.New(), roaring.New()
	counts := newBitSlices()
	err = r.scan([]byte{prefixReads}, func(k, v []byte) error {
		rd, ok := decodeReads(v)
		if !ok || len(k) != 5 {
			return nil
		}
		id := binary.BigEndian.Uint32(k[1:])
		if !live.Contains(id) {
			return nil
		}
		switch sc := rd.ScoreAt(now); {
		case sc >= HotScore:
			hot.Add(id)
		case sc >= WarmScore:
			warm.Add(id)
		}
		counts.set(id, rd.Count)
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
	if !counts.exists.IsEmpty() {
		v, err := counts.encode()
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

// ReadsAbove returns, among candidates (nil: all), the tensors read more
// than n times as of the last RefreshAccessIndex, from the bit-sliced index:
// no per-tensor lookups.
func (r *Reader) ReadsAbove(n uint64, candidates *roaring.Bitmap) (*roaring.Bitmap, error) {
	counts, err := r.readCounts()
	if err != nil {
		return nil, err
	}
	return counts.greater(n, candidates), nil
}

// readCounts loads the bit-sliced index of read counts.
func (r *Reader) readCounts() (*bitSlices, error) {
	key := string(KeyIndex("reads", "bsi"))
	if r.valid {
		if b := r.cache.getSlices(r.gen, key); b != nil {
			return b, nil
		}
	}
	v, ok, err := r.get([]byte(key))
	if err != nil {
		return nil, err
	}
	counts := newBitSlices()
	if ok {
		if counts, err = decodeBitSlices(v); err != nil {
			return nil, err
		}
	}
	if r.valid {
		r.cache.putSlices(r.gen, key, counts)
	}
	return counts, nil
}
