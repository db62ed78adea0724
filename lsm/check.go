package lsm

import (
	"fmt"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/vsdb/vsdb/codec"
	"github.com/vsdb/vsdb/tensor"
)

// Problem is one inconsistency found by Check.
type Problem struct {
	Model, Tensor, What string
}

func (p Problem) String() string {
	return fmt.Sprintf("model %q tensor %q: %s", p.Model, p.Tensor, p.What)
}

// Check verifies that the indexes agree with the tensor records and that
// every chunk is present, passes its checksum and decodes to bytes whose
// checksum matches the record. model "" checks every model.
func (r *Reader) Check(model string) ([]Problem, error) {
	models, err := r.Models()
	if err != nil {
		return nil, err
	}
	var out []Problem
	seen := roaring.New()
	for _, m := range models {
		if model != "" && m.Name != model {
			continue
		}
		ps, err := r.checkModel(m, seen)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	if model == "" {
		ps, err := r.checkIndexesCovered(seen)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	return out, nil
}

func (r *Reader) checkModel(m ModelRecord, seen *roaring.Bitmap) ([]Problem, error) {
	var out []Problem
	tensors, err := r.Tensors(m)
	if err != nil {
		return nil, err
	}
	if len(tensors) != m.Tensors {
		out = append(out, Problem{m.Name, "", fmt.Sprintf("model record says %d tensors, found %d", m.Tensors, len(tensors))})
	}
	byName := make(map[string]uint32, len(tensors))
	for _, t := range tensors {
		byName[t.Name] = t.ID
	}
	names, bad, err := r.nameKeys(m, byName)
	if err != nil {
		return nil, err
	}
	if names != len(tensors) || bad != "" {
		out = append(out, Problem{m.Name, bad, fmt.Sprintf("name keys (%d) disagree with tensor records (%d)", names, len(tensors))})
	}
	for i := range tensors {
		t := &tensors[i]
		seen.Add(t.ID)
		if t.Model != m.ID {
			out = append(out, Problem{m.Name, t.Name, fmt.Sprintf("record belongs to model id %d, not %d", t.Model, m.ID)})
		}
		for _, kv := range t.indexValues() {
			bm, err := r.Bitmap(kv[0], kv[1])
			if err != nil {
				return nil, err
			}
			if !bm.Contains(t.ID) {
				out = append(out, Problem{m.Name, t.Name, fmt.Sprintf("missing from the %s index %q", kv[0], kv[1])})
			}
		}
		if p := r.checkChunks(t); p != "" {
			out = append(out, Problem{m.Name, t.Name, p})
		}
	}
	return out, nil
}

// checkChunks decodes every chunk of t and compares the raw checksum.
func (r *Reader) checkChunks(t *TensorRecord) string {
	if !KnownCodec(t.Codec) {
		return fmt.Sprintf("unknown codec %q", t.Codec)
	}
	if _, err := tensor.ParseDType(t.DType); err != nil {
		return err.Error()
	}
	if t.Codec == LowRank && (t.Chunks() != 1 || t.ChunkBytes != t.RawBytes) {
		return fmt.Sprintf("a low-rank tensor must be one chunk of %d bytes, the record says %d chunks of %d", t.RawBytes, t.Chunks(), t.ChunkBytes)
	}
	var crc uint32
	for i := 0; i < t.Chunks(); i++ {
		raw := make([]byte, t.ChunkRaw(i))
		if err := r.DecodeTensorChunk(t, i, raw); err != nil {
			return err.Error()
		}
		crc = codec.UpdateChecksum(crc, raw)
	}
	if crc != t.RawCRC && t.Codec != LowRank {
		return "decoded bytes fail the tensor checksum"
	}
	return ""
}

// checkIndexesCovered reports bitmap entries that point at no live tensor.
func (r *Reader) checkIndexesCovered(live *roaring.Bitmap) ([]Problem, error) {
	var out []Problem
	for _, kind := range append(append([]string{}, indexKinds...), accessKinds...) {
		values, err := r.IndexValues(kind)
		if err != nil {
			return nil, err
		}
		for v, bm := range values {
			if extra := roaring.AndNot(bm, live); !extra.IsEmpty() {
				out = append(out, Problem{"", "", fmt.Sprintf("%s index %q lists %d tensor ids with no record", kind, v, extra.GetCardinality())})
			}
		}
	}
	counts, err := r.readCounts()
	if err != nil {
		return nil, err
	}
	if extra := roaring.AndNot(counts.exists, live); !extra.IsEmpty() {
		out = append(out, Problem{"", "", fmt.Sprintf("read-count index lists %d tensor ids with no record", extra.GetCardinality())})
	}
	pending := 0
	if err := r.scan([]byte{prefixPending}, func(_, _ []byte) error { pending++; return nil }); err != nil {
		return nil, err
	}
	if pending > 0 {
		out = append(out, Problem{"", "", fmt.Sprintf("%d unfinished ingests not cleaned up", pending)})
	}
	return out, nil
}
