package engine

import (
	"fmt"

	"github.com/vsdb/vsdb/format"
)

// baseSet gives, for each tensor of a model being ingested against a base
// model, a reader of the base's matching tensor.
type baseSet struct {
	snap   *snapshot
	byName map[string]TensorInfo
}

// baseTensors opens the base model's tensors; model "" gives an empty set.
func (db *DB) baseTensors(model string) (*baseSet, error) {
	if model == "" {
		return &baseSet{}, nil
	}
	s := db.snapshot()
	ts, err := s.Tensors(model)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("vsdb: base model: %s", trimVsdb(err))
	}
	set := &baseSet{snap: s, byName: map[string]TensorInfo{}}
	for _, t := range ts {
		set.byName[t.Name] = t
	}
	return set, nil
}

// reader returns a reader of e's base tensor and its id, or nil when the
// base has no tensor of that name, shape and dtype (e is then stored
// whole).
func (b *baseSet) reader(e format.Entry) (*tensorReader, uint32, error) {
	t, ok := b.byName[e.Name]
	if !ok || t.DType != e.DType || !t.Shape.Equal(e.Shape) {
		return nil, 0, nil
	}
	r, err := b.snap.Open(t)
	if err != nil {
		return nil, 0, err
	}
	// The base may be stored in chunks of another size (or whole, in low
	// rank): reads of the delta then decode the base chunks that overlap
	// each of its chunks (lsm.Reader.baseChunk). For a low-rank base under a
	// chunked delta that rebuilds the whole base tensor per delta chunk:
	// correct, but slow for big tensors.
	return r.(*tensorReader), t.ID, nil
}

// Close releases the base snapshot.
func (b *baseSet) Close() error {
	if b.snap == nil {
		return nil
	}
	return b.snap.Close()
}

func trimVsdb(err error) string {
	s := err.Error()
	if len(s) > 6 && s[:6] == "vsdb: " {
		return s[6:]
	}
	return s
}
