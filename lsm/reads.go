package lsm

import (
	"encoding/binary"
	"fmt"
	"math/bits"
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

// CountRead records n reads of a tensor now, as a merge operand: no
// read-modify-write, and not synced (losing the last counts in a crash is
// acceptable; losing data is not).
func (s *Store) CountRead(id uint32, n uint64) error {
	v := Reads{Count: n, Score: float64(n), At: time.Now().Unix()}
	return s.db.Merge(KeyReads(id), v.encode(), pebble.NoSync)
}

// keyRefreshed holds the time of the last RefreshAccessIndex (Unix seconds).
func keyRefreshed() []byte { return []byte{prefixSeq, 'r', 'e', 'f'} }

// readsBucket is the index bucket of a read count: bucket k holds tensors
// read at least 2^k times (k = 0 .. 63).
func readsBucket(n uint64) int { return bits.Len64(n) - 1 }

// RefreshAccessIndex recomputes the access-frequency bitmaps from the read
// records: "tier" hot/warm (cold is every other tensor), and "reads" ≥ 2^k
// buckets. It scans only the read records (one per tensor ever read) and
// writes the bitmaps in one batch.
func (s *Store) RefreshAccessIndex() error {
	s.write.Lock()
	defer s.write.Unlock()
	now := time.Now().Unix()
	r := s.Reader()
	defer r.Close()
	hot, warm := roaring.New(), roaring.New()
	buckets := map[int]*roaring.Bitmap{}
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
		for b := 0; b <= readsBucket(rd.Count); b++ {
			if buckets[b] == nil {
				buckets[b] = roaring.New()
			}
			buckets[b].Add(id)
		}
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
	for k, bm := range buckets {
		if err := setBitmap(b, KeyIndex("reads", fmt.Sprintf("%02d", k)), bm); err != nil {
			return err
		}
	}
	b.Set(keyRefreshed(), []byte(strconv.FormatInt(now, 10)), nil)
	return s.db.Apply(b, pebble.NoSync)
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

// ReadsAtLeast returns the tensors read at least n times as of the last
// refresh, and the ids whose count must still be checked exactly (they sit
// in the bucket that contains n).
func (r *Reader) ReadsAtLeast(n uint64) (sure, maybe *roaring.Bitmap, err error) {
	if n == 0 {
		return nil, nil, fmt.Errorf("vsdb: ReadsAtLeast(0) is every tensor")
	}
	k := readsBucket(n)
	lower, err := r.Bitmap("reads", fmt.Sprintf("%02d", k))
	if err != nil {
		return nil, nil, err
	}
	if n == 1<<k {
		return lower, roaring.New(), nil
	}
	upper, err := r.Bitmap("reads", fmt.Sprintf("%02d", k+1))
	if err != nil {
		return nil, nil, err
	}
	return upper, roaring.AndNot(lower, upper), nil
}
