package lsm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/cockroachdb/pebble/v2"
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
	models, out, err := r.modelsChecked()
	if err != nil {
		return nil, err
	}
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
		ps, err = r.checkOrphanChunks(models)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	return out, nil
}

// modelsChecked lists the model records, reporting each that does not
// decode as a problem instead of stopping.
func (r *Reader) modelsChecked() ([]ModelRecord, []Problem, error) {
	var models []ModelRecord
	var out []Problem
	err := r.scan([]byte{prefixModel}, func(k, v []byte) error {
		m, err := decodeModel(string(k[1:]), v)
		if err != nil {
			out = append(out, Problem{string(k[1:]), "", strings.TrimPrefix(err.Error(), "vsdb: ")})
			return nil
		}
		models = append(models, m)
		return nil
	})
	return models, out, err
}

// tensorsChecked returns m's tensor records; when some do not decode, it
// returns the others and one problem per damaged record.
func (r *Reader) tensorsChecked(m ModelRecord) ([]TensorRecord, []Problem, error) {
	tensors, err := r.Tensors(m)
	var re *readError
	if err == nil || errors.As(err, &re) {
		return tensors, nil, err
	}
	tensors = tensors[:0]
	var out []Problem
	for id := m.FirstTensor; id < m.EndTensor; id++ {
		v, ok, err := r.get(KeyTensor(id))
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			continue
		}
		t, err := r.records.decode(id, v)
		if err != nil {
			out = append(out, Problem{m.Name, fmt.Sprintf("(id %d)", id), strings.TrimPrefix(err.Error(), "vsdb: ")})
			continue
		}
		tensors = append(tensors, t)
	}
	return tensors, out, nil
}

// checkOrphanChunks reports stored chunks whose tensor id lies in no
// model's id range and no unfinished ingest's: data whose records were
// lost (for instance with a damaged tail of the write-ahead log, which
// Pebble takes for a torn write). It seeks once per model and per orphan.
func (r *Reader) checkOrphanChunks(models []ModelRecord) ([]Problem, error) {
	type span struct{ first, end uint32 }
	var live []span
	for _, m := range models {
		live = append(live, span{m.FirstTensor, m.EndTensor})
	}
	err := r.scan([]byte{prefixPending}, func(_, v []byte) error {
		var p pendingRecord
		if decodeJSON("pending ingest", v, &p) == nil {
			live = append(live, span{p.FirstTensor, p.EndTensor})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	it, err := r.snap.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixChunk}, UpperBound: []byte{prefixChunk + 1}})
	if err != nil {
		return nil, readErr(err)
	}
	orphans := roaring.New()
	for valid := it.First(); valid; {
		k := it.Key()
		if len(k) != 9 {
			orphans.Add(1<<32 - 1)
			valid = it.Next()
			continue
		}
		id := binary.BigEndian.Uint32(k[1:])
		i := slices.IndexFunc(live, func(s span) bool { return id >= s.first && id < s.end })
		switch {
		case i >= 0 && live[i].end == 1<<32-1:
			valid = false
		case i >= 0:
			valid = it.SeekGE(KeyChunk(live[i].end, 0))
		default:
			orphans.Add(id)
			valid = id < 1<<32-1 && it.SeekGE(KeyChunk(id+1, 0))
		}
	}
	if err := closeIter(it); err != nil {
		return nil, err
	}
	if orphans.IsEmpty() {
		return nil, nil
	}
	return []Problem{{"", "", fmt.Sprintf("chunks of %d tensor ids (%d to %d) belong to no model: their records were lost", orphans.GetCardinality(), orphans.Minimum(), orphans.Maximum())}}, nil
}

func (r *Reader) checkModel(m ModelRecord, seen *roaring.Bitmap) ([]Problem, error) {
	tensors, out, err := r.tensorsChecked(m)
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
			// The problem names the tensor already.
			return strings.TrimPrefix(err.Error(), fmt.Sprintf("vsdb: tensor %q: ", t.Name))
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
