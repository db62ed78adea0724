package lsm

import (
	"encoding/binary"
	"io"

	"github.com/cockroachdb/pebble/v2"
)

// counterMerger adds uint64 little-endian counters without a read-modify-write.
// Its name is stored in every sstable; it must never change.
var counterMerger = &pebble.Merger{
	Name: "vsdb.counter.v1",
	Merge: func(_, value []byte) (pebble.ValueMerger, error) {
		c := &counter{}
		return c, c.MergeNewer(value)
	},
}

type counter struct{ n uint64 }

func (c *counter) add(v []byte) {
	if len(v) == 8 {
		c.n += binary.LittleEndian.Uint64(v)
	}
}

func (c *counter) MergeNewer(v []byte) error { c.add(v); return nil }
func (c *counter) MergeOlder(v []byte) error { c.add(v); return nil }
func (c *counter) Finish(bool) ([]byte, io.Closer, error) {
	return binary.LittleEndian.AppendUint64(nil, c.n), nil, nil
}

// Count encodes n as a counter operand.
func Count(n uint64) []byte { return binary.LittleEndian.AppendUint64(nil, n) }
