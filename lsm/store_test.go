package lsm

import (
	"context"

	"github.com/RoaringBitmap/roaring/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/vsdb/vsdb/codec"
)

// load writes a model of one raw F32 tensor of the given bytes, chunked in 8s.
func load(t *testing.T, s *Store, name string, raw []byte) {
	t.Helper()
	l, err := s.BeginLoad(name, 1)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := l.NewTensor()
	rec := TensorRecord{ID: id, Name: "layers.0.w", Layer: "layers.0", Param: "w", DType: "F32", Shape: []int64{int64(len(raw) / 4)},
		Codec: "raw", RawBytes: int64(len(raw)), Stored: int64(len(raw)), ChunkBytes: 8, RawCRC: codec.Checksum(raw)}
	for i := 0; i*8 < len(raw); i++ {
		chunk := raw[i*8 : min(len(raw), i*8+8)]
		if err := l.PutChunk(id, i, chunk); err != nil {
			t.Fatal(err)
		}
		rec.ChunkCRCs = append(rec.ChunkCRCs, codec.Checksum(chunk))
	}
	l.AddTensor(rec)
	if err := l.Commit(context.Background(), ModelRecord{}); err != nil {
		t.Fatal(err)
	}
}

func checkClean(t *testing.T, s *Store) {
	t.Helper()
	r := s.Reader()
	defer r.Close()
	ps, err := r.Check("")
	if err != nil || len(ps) > 0 {
		t.Fatalf("check: %v %v", err, ps)
	}
}

func TestCorruptChunkIsDetected(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	load(t, s, "m", []byte("0123456789abcdefghij0123"))
	checkClean(t, s)
	// Flip one byte of chunk 1 behind the store's back.
	if err := s.db.Set(KeyChunk(0, 1), []byte("89abcdeX"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	r := s.Reader()
	defer r.Close()
	ps, err := r.Check("")
	if err != nil || len(ps) != 1 || !strings.Contains(ps[0].String(), "chunk 1 fails its checksum") {
		t.Fatalf("check after corruption: %v %v", err, ps)
	}
	rec, _, _ := r.TensorByName(0, "layers.0.w")
	if _, err := r.Chunk(&rec, 1, nil); err == nil || !strings.Contains(err.Error(), `tensor "layers.0.w": chunk 1 fails its checksum`) {
		t.Fatalf("corrupt chunk read: %v", err)
	}
}

func TestUncommittedLoadIsRemovedAtOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	load(t, s, "keep", []byte("01234567"))
	l, err := s.BeginLoad("lost", 2)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := l.NewTensor()
	l.PutChunk(id, 0, []byte("abcdefgh"))
	l.sst.Close()
	// Ingest the chunks as a crash between Ingest and the final commit would leave them.
	if err := s.db.Ingest(context.Background(), []string{l.sstPath}); err != nil {
		t.Fatal(err)
	}
	s.db.Close() // crash: no commit, no abort
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := s.Reader()
	defer r.Close()
	if _, found, _ := r.Model("lost"); found {
		t.Fatal("uncommitted model visible")
	}
	if _, closer, err := r.snap.Get(KeyChunk(id, 0)); err == nil {
		closer.Close()
		t.Fatal("chunk of the uncommitted load survived reopen")
	}
	checkClean(t, s)
	if _, found, _ := r.Model("keep"); !found {
		t.Fatal("committed model lost")
	}
}

func TestCounterMerge(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 5; i++ {
		if err := s.CountRead(7, 2); err != nil {
			t.Fatal(err)
		}
	}
	r := s.Reader()
	defer r.Close()
	if rd, err := r.Reads(7); err != nil || rd.Count != 10 || rd.Score < 9.99 || rd.Score > 10 {
		t.Fatalf("reads = %+v, %v; want count 10, score 10", rd, err)
	}
}

func TestOpenRefusals(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/file"
	os.WriteFile(file, []byte("x"), 0o644)
	other := dir + "/other"
	os.MkdirAll(other, 0o755)
	os.WriteFile(other+"/notes.txt", []byte("x"), 0o644)
	cases := []struct {
		dir       string
		mustExist bool
		want      string
	}{
		{"", false, "vsdb: no store folder given"},
		{dir + "/missing", true, "vsdb: no store at " + dir + "/missing (vsdb ingest creates one)"},
		{file, false, "vsdb: " + file + " is a file, not a vsdb store"},
		{other, false, "vsdb: " + other + " is not a vsdb store (it holds other files); choose a new or empty folder"},
	}
	for _, c := range cases {
		_, err := Open(c.dir, Options{MustExist: c.mustExist})
		if err == nil || err.Error() != c.want {
			t.Errorf("Open(%q) = %v, want %s", c.dir, err, c.want)
		}
	}
	s, err := Open(dir+"/new", Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir+"/new", Options{})
	if err == nil || !strings.Contains(err.Error(), "is in use by another vsdb process") {
		t.Errorf("second open: %v", err)
	}
	s.Close()
}

func TestAccessIndex(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	load(t, s, "a", []byte("01234567")) // tensor id 0
	load(t, s, "b", []byte("01234567")) // tensor id 1
	s.CountRead(0, 20)
	s.CountRead(1, 3)
	if err := s.RefreshAccessIndex(); err != nil {
		t.Fatal(err)
	}
	r := s.Reader()
	hot, _ := r.Bitmap("tier", "hot")
	warm, _ := r.Bitmap("tier", "warm")
	if hot.String() != "{0}" || warm.String() != "{1}" {
		t.Errorf("hot %v warm %v", hot, warm)
	}
	all := roaring.BitmapOf(0, 1, 2)
	for n, want := range map[uint64]string{0: "{0,1}", 2: "{0,1}", 3: "{0}", 19: "{0}", 20: "{}", 1000: "{}"} {
		got, err := r.ReadsAbove(n, all)
		if err != nil || got.String() != want {
			t.Errorf("ReadsAbove(%d) = %v, %v; want %s", n, got, err, want)
		}
	}
	if got, _ := r.ReadsAbove(0, roaring.BitmapOf(1)); got.String() != "{1}" {
		t.Errorf("ReadsAbove restricted to {1} = %v", got)
	}
	if age, _ := r.AccessIndexAge(); age > time.Minute {
		t.Errorf("index age %v after a refresh", age)
	}
	r.Close()
	if err := s.DeleteModel("a"); err != nil {
		t.Fatal(err)
	}
	checkClean(t, s)
	r = s.Reader()
	defer r.Close()
	if hot, _ := r.Bitmap("tier", "hot"); !hot.IsEmpty() {
		t.Errorf("deleted tensor still hot: %v", hot)
	}
}

func TestReadsDecay(t *testing.T) {
	old := Reads{Count: 4, Score: 4, At: 0}
	if got := old.ScoreAt(ReadHalfLife); got != 2 {
		t.Errorf("score after one half-life = %v, want 2", got)
	}
	sum := old.add(Reads{Count: 1, Score: 1, At: ReadHalfLife})
	if sum.Count != 5 || sum.Score != 3 || sum.At != ReadHalfLife {
		t.Errorf("sum = %+v", sum)
	}
}

func TestBitSlicesGreater(t *testing.T) {
	values := map[uint32]uint64{1: 0, 2: 1, 3: 2, 4: 3, 5: 7, 6: 8, 7: 1000, 8: 1 << 40}
	b := newBitSlices()
	for id, v := range values {
		b.set(id, v)
	}
	enc, err := b.encode()
	if err != nil {
		t.Fatal(err)
	}
	d, err := decodeBitSlices(enc)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []uint64{0, 1, 2, 3, 6, 7, 8, 999, 1000, 1 << 40, 1<<40 + 1, 1 << 63} {
		want := roaring.New()
		for id, v := range values {
			if v > n {
				want.Add(id)
			}
		}
		for _, idx := range []*bitSlices{b, d} {
			if got := idx.greater(n, nil); !got.Equals(want) {
				t.Errorf("greater(%d) = %v, want %v", n, got, want)
			}
		}
		if got := d.greater(n, roaring.BitmapOf(4, 5, 6)); !got.Equals(roaring.And(want, roaring.BitmapOf(4, 5, 6))) {
			t.Errorf("greater(%d) among {4,5,6} = %v", n, got)
		}
	}
	if _, err := decodeBitSlices(enc[:len(enc)-1]); err == nil {
		t.Error("truncated index decoded")
	}
}

func TestRebuildIndexes(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	load(t, s, "a", []byte("01234567"))
	load(t, s, "b", []byte("01234567"))
	// Lose one bitmap and plant a stale id in another.
	s.db.Delete(KeyIndex("layer", "layers.0"), pebble.Sync)
	stale, _ := roaring.BitmapOf(0, 1, 99).ToBytes()
	s.db.Set(KeyIndex("codec", "raw"), stale, pebble.Sync)
	r := s.Reader()
	ps, _ := r.Check("")
	r.Close()
	if len(ps) != 3 { // two tensors missing from the layer index, one stale id
		t.Fatalf("check before rebuild: %v", ps)
	}
	if err := s.RebuildIndexes(); err != nil {
		t.Fatal(err)
	}
	checkClean(t, s)
}

func TestCheckFindsLostNameKey(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	load(t, s, "a", []byte("01234567"))
	s.db.Delete(KeyName(0, "layers.0.w"), pebble.Sync)
	r := s.Reader()
	defer r.Close()
	ps, _ := r.Check("")
	if len(ps) != 1 || !strings.Contains(ps[0].String(), "name keys (0) disagree with tensor records (1)") {
		t.Fatalf("check after losing a name key: %v", ps)
	}
}

// TestReadCountsBatched: counts are exact right away (pending counts are
// added in memory), survive a reopen (flushed at Close), are written as
// at most one merge operand per tensor per flush, and counts of a deleted
// model's tensors never reach the access index.
func TestReadCountsBatched(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	load(t, s, "a", make([]byte, 16))
	load(t, s, "b", make([]byte, 16))
	ra, rb := tensorID(t, s, "a"), tensorID(t, s, "b")
	for i := 0; i < 1000; i++ {
		s.CountRead(ra, 1)
	}
	s.CountRead(rb, 3)
	r := s.Reader()
	got, err := r.ReadsOf([]uint32{ra, rb})
	one, _ := r.Reads(ra)
	r.Close()
	if err != nil || got[ra].Count != 1000 || got[rb].Count != 3 || one.Count != 1000 {
		t.Fatalf("ReadsOf = %+v, Reads = %+v, %v", got, one, err)
	}
	// Nothing reached Pebble yet (the thousand reads took well under the
	// flush interval); one flush writes the whole count at once.
	if _, closer, err := s.db.Get(KeyReads(ra)); err == nil {
		closer.Close()
		t.Error("counts written before the flush interval")
	}
	if err := s.flushReads(); err != nil {
		t.Fatal(err)
	}
	if v, closer, err := s.db.Get(KeyReads(ra)); err != nil {
		t.Errorf("after the flush: %v", err)
	} else {
		if rd, _ := decodeReads(v); rd.Count != 1000 {
			t.Errorf("flushed %+v, want 1000 reads", rd)
		}
		closer.Close()
	}
	// b's pending counts are dropped with b; the refreshed index is clean.
	s.CountRead(rb, 5)
	if err := s.DeleteModel("b"); err != nil {
		t.Fatal(err)
	}
	if err := s.RefreshAccessIndex(); err != nil {
		t.Fatal(err)
	}
	checkClean(t, s)
	s.CountRead(ra, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r = s.Reader()
	defer r.Close()
	if rd, _ := r.Reads(ra); rd.Count != 1001 {
		t.Errorf("after reopen: %d reads, want 1001", rd.Count)
	}
}

func tensorID(t *testing.T, s *Store, model string) uint32 {
	t.Helper()
	r := s.Reader()
	defer r.Close()
	m, ok, err := r.Model(model)
	if err != nil || !ok {
		t.Fatalf("model %s: %v", model, err)
	}
	return m.FirstTensor
}
