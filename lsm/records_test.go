package lsm

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// Sealed records round-trip and any flipped byte is refused; older bare
// JSON records are still read, and validate refuses the ones whose fields
// disagree (what a flip in an unsealed record could do).
func TestRecordSealAndValidate(t *testing.T) {
	good := TensorRecord{ID: 7, Model: 1, Name: "w", DType: "F32", Shape: []int64{2, 3}, Codec: "lossless",
		RawBytes: 24, ChunkBytes: 16, ChunkCRCs: []uint32{1, 2}}
	sealed, err := sealRecord("w", good)
	if err != nil {
		t.Fatal(err)
	}
	var back TensorRecord
	if err := decodeJSON("tensor", sealed, &back); err != nil || back.validate(7) != nil || back.Name != "w" {
		t.Fatalf("round trip: %v %+v", err, back)
	}
	for i := range sealed {
		bad := append([]byte(nil), sealed...)
		bad[i] ^= 0x20
		var x TensorRecord
		if err := decodeJSON("tensor", bad, &x); err == nil {
			if err := x.validate(7); err == nil && x.Name == good.Name && x.RawBytes == good.RawBytes {
				t.Fatalf("flip at byte %d accepted", i)
			}
		}
	}
	legacy, _ := json.Marshal(good)
	if err := decodeJSON("tensor", legacy, &back); err != nil || back.validate(7) != nil {
		t.Fatalf("legacy record: %v", err)
	}
	for _, tc := range []struct {
		edit func(*TensorRecord)
		want string
	}{
		{func(r *TensorRecord) { r.ChunkBytes = 0 }, "chunk size 0"},
		{func(r *TensorRecord) { r.RawBytes = 0 }, "shape [2 3] of F32 is 24 bytes, the record says 0"},
		{func(r *TensorRecord) { r.ChunkCRCs = r.ChunkCRCs[:1] }, "1 chunks of 16 bytes do not hold 24 bytes"},
		{func(r *TensorRecord) { r.ID = 8 }, "holds id 8"},
		{func(r *TensorRecord) { r.DType = "F33" }, "F33"},
		{func(r *TensorRecord) { r.Codec = "zip" }, `unknown codec "zip"`},
		{func(r *TensorRecord) { r.Delta = DeltaXOR }, "base and delta kind"},
		{func(r *TensorRecord) { id := uint32(1); r.Base = &id }, "base and delta kind"},
		{func(r *TensorRecord) { r.Codec = LowRank }, "low-rank tensor with 2 chunks"},
	} {
		r := good
		r.ChunkCRCs = append([]uint32(nil), good.ChunkCRCs...)
		tc.edit(&r)
		err := r.validate(7)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), `vsdb: corrupt record of tensor 7 ("w"): `) {
			t.Errorf("%s: got %v", tc.want, err)
		}
	}
	for _, b := range [][]byte{nil, {0x02, 0, 0, 0, 0, '{', '}'}, {0x01, 0}} {
		if err := decodeJSON("tensor", b, &back); err == nil {
			t.Errorf("%q accepted", b)
		}
	}
}

// A model whose records are lost (as when Pebble drops a damaged tail of
// its write-ahead log) leaves chunks that CHECK reports; damaged model and
// tensor records are reported one by one without stopping the check.
func TestCheckFindsLostAndDamagedRecords(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	load(t, s, "a", []byte("0123456789abcdefghij0123"))
	load(t, s, "b", []byte("0123456789abcdef"))
	load(t, s, "c", []byte("01234567"))
	checkClean(t, s)
	problems := func() []string {
		r := s.Reader()
		defer r.Close()
		ps, err := r.Check("")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range ps {
			out = append(out, p.String())
		}
		return out
	}
	// b's record and its tensor's record vanish; its chunks stay.
	r := s.Reader()
	mb, _, _ := r.Model("b")
	r.Close()
	b := s.db.NewBatch()
	b.Delete(KeyModel("b"), nil)
	b.Delete(KeyTensor(mb.FirstTensor), nil)
	b.Delete(KeyName(mb.ID, "layers.0.w"), nil)
	if err := s.db.Apply(b, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(problems(), "\n")
	want := "chunks of 1 tensor ids (1 to 1) belong to no model: their records were lost"
	if !strings.Contains(got, want) {
		t.Errorf("lost records: %s\nwant %s", got, want)
	}
	// A damaged model record and a damaged tensor record are reported,
	// and the check goes on to the rest.
	if err := s.CorruptValueForTest(KeyModel("c"), 10, 0x01); err != nil {
		t.Fatal(err)
	}
	if err := s.CorruptValueForTest(KeyTensor(0), -3, 0x01); err != nil {
		t.Fatal(err)
	}
	got = strings.Join(problems(), "\n")
	for _, want := range []string{
		`model "c" tensor "": corrupt model "c" record: fails its checksum`,
		`model "a" tensor "(id 0)": corrupt tensor 0 record: fails its checksum`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("damaged records: %s\nwant %s", got, want)
		}
	}
}

// A relative error JSON has no number for (+Inf: a lossy delta that does
// not reproduce an all-zero tensor) is sealed and read back, and records
// with an ordinary error keep the JSON number form older records have.
func TestRecordRelErrorNonFinite(t *testing.T) {
	for _, e := range []float64{0, 0.25, 1e-300, math.Inf(1), math.NaN()} {
		rec := TensorRecord{ID: 1, Name: "w", DType: "F32", Shape: []int64{1}, Codec: "q8", RawBytes: 4, ChunkBytes: 4, ChunkCRCs: []uint32{9}, RelError: e}
		sealed, err := sealRecord("w", rec)
		if err != nil {
			t.Fatalf("%g: %v", e, err)
		}
		var back TensorRecord
		if err := decodeJSON("tensor", sealed, &back); err != nil {
			t.Fatalf("%g: %v", e, err)
		}
		if back.RelError != e && !(math.IsNaN(e) && math.IsNaN(back.RelError)) {
			t.Errorf("rel error %g read back as %g", e, back.RelError)
		}
		if back.Name != "w" || back.ChunkCRCs[0] != 9 {
			t.Errorf("other fields lost: %+v", back)
		}
	}
	old := []byte(`{"id":1,"name":"w","dtype":"F32","shape":[1],"codec":"q8","raw_bytes":4,"chunk_bytes":4,"chunk_crcs":[9],"rel_error":0.5}`)
	var back TensorRecord
	if err := decodeJSON("tensor", old, &back); err != nil || back.RelError != 0.5 {
		t.Fatalf("older record: %v %+v", err, back)
	}
	sealed, _ := sealRecord("w", back)
	if !bytes.Contains(sealed, []byte(`"rel_error":0.5`)) {
		t.Errorf("finite error not written as a number: %s", sealed[5:])
	}
	bad := []byte(`{"id":1,"rel_error":"lots"}`)
	if err := decodeJSON("tensor", bad, &back); err == nil {
		t.Error("a relative error that is not a number was read")
	}
}
