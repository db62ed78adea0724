package lsm

import (
	"strconv"

	"github.com/RoaringBitmap/roaring/v2"
)

// indexKinds are the properties every tensor is indexed by, one roaring
// bitmap of tensor ids per value.
var indexKinds = []string{"model", "layer", "param", "dtype", "codec"}

// accessKinds are the access-frequency bitmaps, rebuilt from the read
// records by RefreshAccessIndex (next to the read-count BSI, key "x reads\0bsi").
var accessKinds = []string{"tier"}

// indexValues returns the (kind, value) pairs a tensor is indexed under,
// in indexKinds order.
func (t *TensorRecord) indexValues() [][2]string {
	return [][2]string{
		{"model", strconv.FormatUint(uint64(t.Model), 10)},
		{"layer", t.Layer},
		{"param", t.Param},
		{"dtype", t.DType},
		{"codec", t.Codec},
	}
}

// bitmapDelta collects tensor ids per index key, to add or to remove.
type bitmapDelta map[string]*roaring.Bitmap

// addTensor puts t's id under each of its index keys.
func (d bitmapDelta) addTensor(t *TensorRecord) {
	for _, kv := range t.indexValues() {
		k := string(KeyIndex(kv[0], kv[1]))
		if d[k] == nil {
			d[k] = roaring.New()
		}
		d[k].Add(t.ID)
	}
}
