package lsm

import (
	"encoding/binary"
	"io"
	"math"

	"github.com/cockroachdb/pebble/v2"
)

// ReadHalfLife is the half-life of a read in a tensor's access score: a read
// a week ago weighs half as much as a read now.
const ReadHalfLife = 7 * 24 * 3600 // seconds

// readsMerger combines access records without a read-modify-write: each
// operand and each result is a Reads value. Its name is stored in every
// sstable; it must never change.
var readsMerger = &pebble.Merger{
	Name: "vsdb.reads.v1",
	Merge: func(_, value []byte) (pebble.ValueMerger, error) {
		m := &readsValue{}
		return m, m.MergeNewer(value)
	},
}

// Reads is a tensor's access record: the total count, and an exponentially
// decayed score (half-life ReadHalfLife) as of time At (Unix seconds).
//
// Encoding: count uint64 LE | score float64 LE | at int64 LE (24 bytes).
type Reads struct {
	Count uint64
	Score float64
	At    int64
}

// ScoreAt returns the decayed score at time now.
func (r Reads) ScoreAt(now int64) float64 {
	if r.Score == 0 {
		return 0
	}
	return r.Score * math.Exp2(-float64(now-r.At)/ReadHalfLife)
}

// add folds another record in, decaying both to the later time.
func (r Reads) add(o Reads) Reads {
	at := max(r.At, o.At)
	return Reads{Count: r.Count + o.Count, Score: r.ScoreAt(at) + o.ScoreAt(at), At: at}
}

func (r Reads) encode() []byte {
	b := binary.LittleEndian.AppendUint64(nil, r.Count)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.Score))
	return binary.LittleEndian.AppendUint64(b, uint64(r.At))
}

func decodeReads(b []byte) (Reads, bool) {
	if len(b) != 24 {
		return Reads{}, false
	}
	le := binary.LittleEndian
	return Reads{Count: le.Uint64(b), Score: math.Float64frombits(le.Uint64(b[8:])), At: int64(le.Uint64(b[16:]))}, true
}

type readsValue struct{ r Reads }

func (m *readsValue) MergeNewer(v []byte) error { return m.merge(v) }
func (m *readsValue) MergeOlder(v []byte) error { return m.merge(v) }

func (m *readsValue) merge(v []byte) error {
	if o, ok := decodeReads(v); ok {
		m.r = m.r.add(o)
	}
	return nil
}

func (m *readsValue) Finish(bool) ([]byte, io.Closer, error) { return m.r.encode(), nil, nil }
