package lsm

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/RoaringBitmap/roaring/v2"
)

// bitSlices is a bit-sliced index of one unsigned value per tensor (its read
// count): exists holds every tensor with a value, slice k the tensors whose
// value has bit k set. "value > n" is then a handful of whole-bitmap
// operations (O'Neil and Quass's range algorithm), with no per-tensor work.
//
// Encoding: uvarint number of slices, then exists and each slice as a
// uvarint length and a portable roaring bitmap.
type bitSlices struct {
	exists *roaring.Bitmap
	slices []*roaring.Bitmap
}

func newBitSlices() *bitSlices { return &bitSlices{exists: roaring.New()} }

// set records id's value; call once per id.
func (b *bitSlices) set(id uint32, v uint64) {
	b.exists.Add(id)
	for len(b.slices) < bits.Len64(v) {
		b.slices = append(b.slices, roaring.New())
	}
	for k := 0; v != 0; k, v = k+1, v>>1 {
		if v&1 != 0 {
			b.slices[k].Add(id)
		}
	}
}

// greater returns the ids among candidates (nil: all) whose value is > n.
func (b *bitSlices) greater(n uint64, candidates *roaring.Bitmap) *roaring.Bitmap {
	eq := b.exists
	if candidates != nil {
		eq = roaring.And(eq, candidates)
	}
	if bits.Len64(n) > len(b.slices) {
		return roaring.New() // n is above every stored value
	}
	gt := roaring.New()
	for k := len(b.slices) - 1; k >= 0 && !eq.IsEmpty(); k-- {
		// eq is small and a slice large: intersect first (galloping), then
		// subtract the small intersection rather than the large slice.
		in := roaring.And(eq, b.slices[k])
		if n>>k&1 == 1 {
			eq = in
			continue
		}
		gt.Or(in)
		eq = roaring.AndNot(eq, in)
	}
	return gt
}

// without returns a copy with ids [first, end) removed.
func (b *bitSlices) without(first, end uint32) *bitSlices {
	out := &bitSlices{exists: b.exists.Clone()}
	out.exists.RemoveRange(uint64(first), uint64(end))
	for _, s := range b.slices {
		c := s.Clone()
		c.RemoveRange(uint64(first), uint64(end))
		out.slices = append(out.slices, c)
	}
	return out
}

func (b *bitSlices) encode() ([]byte, error) {
	out := binary.AppendUvarint(nil, uint64(len(b.slices)))
	for _, bm := range append([]*roaring.Bitmap{b.exists}, b.slices...) {
		bm.RunOptimize()
		v, err := bm.ToBytes()
		if err != nil {
			return nil, err
		}
		out = binary.AppendUvarint(out, uint64(len(v)))
		out = append(out, v...)
	}
	return out, nil
}

func decodeBitSlices(v []byte) (*bitSlices, error) {
	errCorrupt := fmt.Errorf("vsdb: corrupt read-count index")
	n, w := binary.Uvarint(v)
	if w <= 0 || n > 64 {
		return nil, errCorrupt
	}
	v = v[w:]
	all := make([]*roaring.Bitmap, n+1)
	for i := range all {
		l, w := binary.Uvarint(v)
		if w <= 0 || l > uint64(len(v)-w) {
			return nil, errCorrupt
		}
		all[i] = roaring.New()
		if _, err := all[i].FromBuffer(append([]byte(nil), v[w:w+int(l)]...)); err != nil {
			return nil, fmt.Errorf("%w: %v", errCorrupt, err)
		}
		v = v[w+int(l):]
	}
	if len(v) != 0 {
		return nil, errCorrupt
	}
	return &bitSlices{exists: all[0], slices: all[1:]}, nil
}
