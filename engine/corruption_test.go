package engine

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vsdb/vsdb/lsm"
	"github.com/vsdb/vsdb/tensor"
)

// corruptionModel is the checkpoint the corruption test stores under every
// codec: float tensors of three dtypes and an integer one, each spanning
// several 4 KiB chunks (a bias fits in one).
func corruptionModel() []testTensor {
	return []testTensor{
		{"layers.0.w", tensor.F32, tensor.Shape{64, 48}, gaussian(64*48, 11)},
		{"layers.0.b", tensor.BF16, tensor.Shape{48}, gaussian(48, 12)},
		{"layers.1.w", tensor.BF16, tensor.Shape{96, 64}, gaussian(96*64, 13)},
		{"emb.weight", tensor.F16, tensor.Shape{100, 32}, gaussian(100*32, 14)},
		{"ids", tensor.I64, tensor.Shape{600}, seq(600, 50)},
	}
}

// corruptionStatements ingest the models: every codec, low rank, and
// models stored as deltas (XOR against a lossless base, float differences
// against raw, low rank against a lossy base, and a chain: a delta whose
// base is itself a delta).
func corruptionStatements(base, ft string) []string {
	return []string{
		fmt.Sprintf("INGEST '%s' AS mraw CODEC raw", base),
		fmt.Sprintf("INGEST '%s' AS mll CODEC lossless", base),
		fmt.Sprintf("INGEST '%s' AS mf16 CODEC f16", base),
		fmt.Sprintf("INGEST '%s' AS mbf16 CODEC bf16", base),
		fmt.Sprintf("INGEST '%s' AS mq8 CODEC q8", base),
		fmt.Sprintf("INGEST '%s' AS mq4 CODEC q4", base),
		fmt.Sprintf("INGEST '%s' AS mlr CODEC lowrank(rank = 4)", base),
		fmt.Sprintf("INGEST '%s' AS ftx BASE mll CODEC lossless", ft),
		fmt.Sprintf("INGEST '%s' AS ftq BASE mraw CODEC q8", ft),
		fmt.Sprintf("INGEST '%s' AS ftl BASE mq8 CODEC lowrank(rank = 4)", ft),
		fmt.Sprintf("INGEST '%s' AS ftc BASE ftx CODEC lossless", ft),
	}
}

// ctensor is one stored tensor as the corruption test knows it: what every
// read path returned before any corruption.
type ctensor struct {
	info   TensorInfo
	base   *ctensor // the tensor it is stored as a delta against
	chunks [][]byte // its chunk keys
	sizes  []int    // and their stored lengths
	data   []byte   // db.Tensor
	fused  []byte   // FUSE m:t, m:t WEIGHTS 0.5, 0.5
}

func (t *ctensor) ref() string { return t.info.Model + ":" + t.info.Name }

func (t *ctensor) fuse() string {
	return fmt.Sprintf("FUSE %s, %s WEIGHTS 0.5, 0.5", t.ref(), t.ref())
}

// flip is one injected corruption: mask XORed into byte off of a chunk.
type flip struct {
	t    *ctensor
	key  []byte
	off  int
	mask byte
}

// corruptionSeed is $VSDB_CORRUPTION_SEED, or the time.
func corruptionSeed(t *testing.T) uint64 {
	if s := os.Getenv("VSDB_CORRUPTION_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("VSDB_CORRUPTION_SEED: %v", err)
		}
		return seed
	}
	return uint64(time.Now().UnixNano())
}

// TestCorruptChunksAreAlwaysDetected flips random bytes of stored chunk
// values (first and last bytes, codec headers, payload; random masks) in
// batches. After each batch every tensor of every model is read through
// the Go API, through export and through FUSE: a tensor with a corrupt
// chunk, or whose base (at any depth) has one, must fail with an error
// naming its model and itself; every other tensor must read back exactly
// what it did before; CHECK must report exactly the affected tensors. The
// flips are then undone: CHECK must find the store clean again, and at the
// end every read must return what it did before.
func TestCorruptChunksAreAlwaysDetected(t *testing.T) {
	seed := corruptionSeed(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d; rerun with VSDB_CORRUPTION_SEED=%d", seed, seed)
		}
	})
	rng := rand.New(rand.NewPCG(seed, 7))
	ctx := context.Background()
	db, err := Open(t.TempDir(), Options{ChunkBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	base := writeCheckpoint(t, t.TempDir(), corruptionModel())
	ft := writeCheckpoint(t, t.TempDir(), fineTune(corruptionModel()))
	for _, stmt := range corruptionStatements(base, ft) {
		if _, err := db.Query(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	tensors, models, exports := corruptionBaseline(t, db)
	var chunks []chunkRef
	codecs := map[string]bool{}
	deltas := 0
	for _, ct := range tensors {
		codecs[ct.info.Codec] = true
		if ct.base != nil {
			deltas++
		}
		for i := range ct.chunks {
			chunks = append(chunks, chunkRef{ct, i})
		}
	}
	for _, c := range []string{"raw", "lossless", "f16", "bf16", "q8", "q4", "lowrank"} {
		if !codecs[c] {
			t.Fatalf("no tensor is stored with codec %s (codecs: %v)", c, codecs)
		}
	}
	t.Logf("seed %d: %d models, %d tensors (%d deltas), %d chunks", seed, len(models), len(tensors), deltas, len(chunks))

	const batches, perBatch = 8, 25
	var injected, byReads, byCheck, dependants, baseOnly int
	for b := 0; b < batches && !t.Failed(); b++ {
		flips := randomFlips(rng, chunks, perBatch)
		for _, f := range flips {
			if err := db.store.CorruptValueForTest(f.key, f.off, f.mask); err != nil {
				t.Fatal(err)
			}
		}
		injected += len(flips)
		affected, own := map[*ctensor]bool{}, map[*ctensor]bool{}
		for _, f := range flips {
			affected[f.t], own[f.t] = true, true
		}
		for changed := true; changed; {
			changed = false
			for _, ct := range tensors {
				if ct.base != nil && affected[ct.base] && !affected[ct] {
					affected[ct], changed = true, true
					dependants++
				}
			}
		}
		failedReads := verifyReads(t, db, tensors, models, exports, affected, own, fmt.Sprintf("batch %d", b), &baseOnly)
		reported := verifyCheck(t, db, tensors, affected, fmt.Sprintf("batch %d", b))
		for _, f := range flips {
			if failedReads[f.t] {
				byReads++
			}
			if reported[f.t] {
				byCheck++
			}
		}
		// Undo: XOR the same masks again.
		for _, f := range flips {
			if err := db.store.CorruptValueForTest(f.key, f.off, f.mask); err != nil {
				t.Fatal(err)
			}
		}
		verifyCheck(t, db, tensors, nil, fmt.Sprintf("after undoing batch %d", b))
	}
	verifyReads(t, db, tensors, models, exports, nil, nil, "after undoing every batch", &baseOnly)
	// A flip counts as detected by reads when its tensor failed both
	// db.Tensor and FUSE as it should (exports are checked per model).
	t.Logf("corruption: %d injected, %d detected by reads, %d by CHECK (%d dependant tensors failed through a corrupt base; %d FUSE errors named only the corrupt base)", injected, byReads, byCheck, dependants, baseOnly)
	if injected < 200 || byReads != injected || byCheck != injected {
		t.Errorf("corruption: %d injected, %d detected by reads, %d by CHECK", injected, byReads, byCheck)
	}
}

// corruptionBaseline reads every tensor of every model through each read
// path before any corruption, twice, to know what a correct read returns
// (and that it returns it every time).
func corruptionBaseline(t *testing.T, db *DB) ([]*ctensor, []string, map[string][]byte) {
	t.Helper()
	ctx := context.Background()
	ms, err := db.Models()
	if err != nil {
		t.Fatal(err)
	}
	var tensors []*ctensor
	byID := map[uint32]*ctensor{}
	exports := map[string][]byte{}
	var models []string
	for _, m := range ms {
		models = append(models, m.Name)
		infos, err := db.Tensors(m.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			ct := &ctensor{info: info}
			if ct.chunks, err = db.store.ChunkKeysForTest(info.ID); err != nil || len(ct.chunks) == 0 {
				t.Fatalf("%s: chunk keys %d, %v", ct.ref(), len(ct.chunks), err)
			}
			for _, k := range ct.chunks {
				v, found, err := db.store.ValueForTest(k)
				if err != nil || !found || len(v) == 0 {
					t.Fatalf("%s: chunk %x: %d bytes, %v %v", ct.ref(), k, len(v), found, err)
				}
				ct.sizes = append(ct.sizes, len(v))
			}
			for pass := 0; pass < 2; pass++ {
				x, err := db.Tensor(m.Name, info.Name)
				if err != nil {
					t.Fatalf("%s: %v", ct.ref(), err)
				}
				res, err := db.Query(ctx, ct.fuse())
				if err != nil || len(res.Tensors) != 1 {
					t.Fatalf("%s: %v", ct.fuse(), err)
				}
				if pass == 1 && (!bytes.Equal(x.Data, ct.data) || !bytes.Equal(res.Tensors[0].Data, ct.fused)) {
					t.Fatalf("%s: two reads of an intact store differ", ct.ref())
				}
				ct.data, ct.fused = x.Data, res.Tensors[0].Data
			}
			tensors = append(tensors, ct)
			byID[info.ID] = ct
		}
		for pass := 0; pass < 2; pass++ {
			var buf bytes.Buffer
			if err := db.ExportTo(ctx, m.Name, &buf); err != nil {
				t.Fatalf("export %s: %v", m.Name, err)
			}
			if pass == 1 && !bytes.Equal(buf.Bytes(), exports[m.Name]) {
				t.Fatalf("export %s: two exports of an intact store differ", m.Name)
			}
			exports[m.Name] = buf.Bytes()
		}
	}
	r := db.store.Reader()
	defer r.Close()
	for _, ct := range tensors {
		rec, err := r.Tensor(ct.info.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Base != nil {
			if ct.base = byID[*rec.Base]; ct.base == nil {
				t.Fatalf("%s: base tensor id %d is in no model", ct.ref(), *rec.Base)
			}
		}
	}
	return tensors, models, exports
}

// chunkRef is one stored chunk.
type chunkRef struct {
	t   *ctensor
	idx int
}

// randomFlips picks n corruptions of random chunks at random offsets with
// random masks: the first and the last byte, the first 16 bytes (where
// codecs keep their headers) and anywhere. No two flips of a batch hit the
// same byte, so none undoes another.
func randomFlips(rng *rand.Rand, chunks []chunkRef, n int) []flip {
	used := map[string]bool{}
	var out []flip
	for len(out) < n {
		c := chunks[rng.IntN(len(chunks))]
		key, size := c.t.chunks[c.idx], c.t.sizes[c.idx]
		var off int
		switch rng.IntN(4) {
		case 0:
			off = 0
		case 1:
			off = size - 1
		case 2:
			off = rng.IntN(min(16, size))
		default:
			off = rng.IntN(size)
		}
		var mask byte
		switch rng.IntN(4) {
		case 0:
			mask = 1 << rng.IntN(8)
		case 1:
			mask = 0xff
		default:
			mask = byte(1 + rng.IntN(255))
		}
		id := fmt.Sprintf("%x/%d", key, off)
		if used[id] {
			continue
		}
		used[id] = true
		out = append(out, flip{c.t, key, off, mask})
	}
	return out
}

// verifyReads reads every tensor through db.Tensor and FUSE, and every
// model through ExportTo. Tensors in affected must fail, naming their model
// and themselves; all others must return what they did before. It returns
// the tensors that failed every read path as they should.
//
// A tensor affected only through its base must say so ("in its base") when
// read through db.Tensor. FUSE over a low-rank delta runs in factored space,
// where the base is an input of its own: its error may name the corrupt
// base tensor instead of the delta; baseOnly counts those.
func verifyReads(t *testing.T, db *DB, tensors []*ctensor, models []string, exports map[string][]byte, affected map[*ctensor]bool, own map[*ctensor]bool, when string, baseOnly *int) map[*ctensor]bool {
	t.Helper()
	ctx := context.Background()
	ok := map[*ctensor]bool{}
	check := func(ct *ctensor, path string, got []byte, want []byte, err error) bool {
		named := err != nil && namesTensor(err, ct.info.Model, ct.info.Name)
		inBase := true // a failure through the base says so
		if err != nil && affected[ct] && !own[ct] {
			inBase = path != "db.Tensor" || strings.Contains(err.Error(), "in its base")
			for b := ct.base; path == "FUSE" && !named && b != nil; b = b.base {
				if own[b] && namesTensor(err, b.info.Model, b.info.Name) {
					named = true
					*baseOnly++
				}
			}
		}
		switch {
		case affected[ct] && err == nil:
			t.Errorf("%s: %s of %s (corrupt) returned data without error (same as before: %v)", when, path, ct.ref(), bytes.Equal(got, want))
		case affected[ct] && !named:
			t.Errorf("%s: %s of %s (corrupt): error does not name the model and the tensor: %v", when, path, ct.ref(), err)
		case affected[ct] && !inBase:
			t.Errorf("%s: %s of %s (intact, its base corrupt): error does not say the corruption is in its base: %v", when, path, ct.ref(), err)
		case affected[ct]:
			return true
		case err != nil:
			t.Errorf("%s: %s of %s (intact): %v", when, path, ct.ref(), err)
		case !bytes.Equal(got, want):
			t.Errorf("%s: %s of %s (intact) returned other bytes than before", when, path, ct.ref())
		}
		return false
	}
	for _, ct := range tensors {
		var got []byte
		x, err := db.Tensor(ct.info.Model, ct.info.Name)
		if err == nil {
			got = x.Data
		}
		good := check(ct, "db.Tensor", got, ct.data, err)
		got = nil
		res, err := db.Query(ctx, ct.fuse())
		if err == nil && len(res.Tensors) == 1 {
			got = res.Tensors[0].Data
		}
		if check(ct, "FUSE", got, ct.fused, err) && good {
			ok[ct] = true
		}
	}
	for _, m := range models {
		var bad []*ctensor
		for _, ct := range tensors {
			if ct.info.Model == m && affected[ct] {
				bad = append(bad, ct)
			}
		}
		var buf bytes.Buffer
		err := db.ExportTo(ctx, m, &buf)
		switch {
		case len(bad) == 0 && err != nil:
			t.Errorf("%s: export of %s (intact): %v", when, m, err)
		case len(bad) == 0 && !bytes.Equal(buf.Bytes(), exports[m]):
			t.Errorf("%s: export of %s (intact) wrote other bytes than before", when, m)
		case len(bad) > 0 && err == nil:
			t.Errorf("%s: export of %s succeeded with corrupt tensors %v", when, m, refs(bad))
		case len(bad) > 0:
			named := false
			for _, ct := range bad {
				named = named || namesTensor(err, m, ct.info.Name)
			}
			if !named {
				t.Errorf("%s: export of %s: error names none of its corrupt tensors %v: %v", when, m, refs(bad), err)
			}
		}
	}
	return ok
}

// namesTensor reports whether err names model and tensor, as `model "m":
// tensor "t"` or as the reference m:t.
func namesTensor(err error, model, name string) bool {
	msg := err.Error()
	return strings.Contains(msg, fmt.Sprintf("model %q", model)) && strings.Contains(msg, fmt.Sprintf("tensor %q", name)) ||
		strings.Contains(msg, " "+model+":"+name)
}

func refs(ts []*ctensor) []string {
	var out []string
	for _, ct := range ts {
		out = append(out, ct.ref())
	}
	return out
}

var problemRE = regexp.MustCompile(`^model "([^"]*)" tensor "([^"]*)": `)

// verifyCheck runs CHECK over the whole store: it must report exactly the
// affected tensors. It returns the tensors it reported.
func verifyCheck(t *testing.T, db *DB, tensors []*ctensor, affected map[*ctensor]bool, when string) map[*ctensor]bool {
	t.Helper()
	problems, err := db.Check("")
	if err != nil {
		t.Errorf("%s: CHECK: %v", when, err)
		return nil
	}
	byRef := map[string]*ctensor{}
	for _, ct := range tensors {
		byRef[ct.ref()] = ct
	}
	reported := map[*ctensor]bool{}
	for _, p := range problems {
		m := problemRE.FindStringSubmatch(p)
		ct := (*ctensor)(nil)
		if m != nil {
			ct = byRef[m[1]+":"+m[2]]
		}
		if ct == nil || !affected[ct] {
			t.Errorf("%s: CHECK reports a problem with no corrupt tensor: %s", when, p)
			continue
		}
		reported[ct] = true
	}
	var missed []string
	for ct := range affected {
		if !reported[ct] {
			missed = append(missed, ct.ref())
		}
	}
	sort.Strings(missed)
	if len(missed) > 0 {
		t.Errorf("%s: CHECK missed corrupt tensors %v", when, missed)
	}
	return reported
}

// TestCorruptHotTensorIsNeverWrong: a hot tensor's decoded chunks are kept
// in the engine's cache, so once cached, reads of it do not touch the
// corrupt chunk: they may return the bytes cached before the corruption
// (never others), while CHECK, which always reads the store, reports it;
// once the cache is gone (reopen), reads fail.
func TestCorruptHotTensorIsNeverWrong(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{ChunkBytes: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	in := writeCheckpoint(t, t.TempDir(), twoLayerModel())
	if _, err := db.Ingest(context.Background(), in, IngestOptions{Name: "m"}); err != nil {
		t.Fatal(err)
	}
	const name = "encoder.layer.0.attn.weight"
	for i := 0; i < 10; i++ {
		if _, err := db.Tensor("m", name); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RefreshAccess(); err != nil {
		t.Fatal(err)
	}
	want, err := db.Tensor("m", name) // fills the cache
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := db.Tensors("m")
	var info TensorInfo
	for _, ti := range ts {
		if ti.Name == name {
			info = ti
		}
	}
	if info.Tier != "hot" || info.CachedBytes == 0 {
		t.Fatalf("%s is %s with %d bytes cached: the test needs it hot and cached", name, info.Tier, info.CachedBytes)
	}
	if err := db.store.CorruptChunkForTest(info.ID, 1); err != nil {
		t.Fatal(err)
	}
	got, err := db.Tensor("m", name)
	if err == nil && !bytes.Equal(got.Data, want.Data) {
		t.Fatal("a cached hot tensor read back other bytes after its chunk was corrupted")
	}
	if ps, err := db.Check(""); err != nil || len(ps) != 1 || !strings.Contains(ps[0], name) {
		t.Fatalf("CHECK of a corrupt hot tensor: %v %v", ps, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = Open(dir, Options{ChunkBytes: 64}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Tensor("m", name); err == nil || !namesTensor(err, "m", name) {
		t.Fatalf("read of a corrupt tensor after reopening: %v", err)
	}
}

// TestCorruptTensorRecords flips single bytes of tensor records (the JSON
// under key "t" id) and wants every flip detected: a read of the tensor
// fails naming its model, CHECK reports it, nothing panics, and no read
// returns other bytes or other metadata without an error.
//
// Records are sealed with a CRC-32C (lsm/records.go) and checked for
// consistency when decoded, so every flip must be caught. The log tallies
// what each flip did.
func TestCorruptTensorRecords(t *testing.T) {
	seed := corruptionSeed(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d; rerun with VSDB_CORRUPTION_SEED=%d", seed, seed)
		}
	})
	rng := rand.New(rand.NewPCG(seed, 8))
	ctx := context.Background()
	db, err := Open(t.TempDir(), Options{ChunkBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	base := writeCheckpoint(t, t.TempDir(), corruptionModel())
	ft := writeCheckpoint(t, t.TempDir(), fineTune(corruptionModel()))
	for _, stmt := range corruptionStatements(base, ft) {
		if _, err := db.Query(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	tensors, _, _ := corruptionBaseline(t, db)
	tally := map[string]int{}
	examples := map[string][]string{}
	const flips = 300
	for n := 0; n < flips; n++ {
		ct := tensors[rng.IntN(len(tensors))]
		key := lsm.KeyTensor(ct.info.ID)
		v, _, err := db.store.ValueForTest(key)
		if err != nil {
			t.Fatal(err)
		}
		off, mask := rng.IntN(len(v)), byte(1+rng.IntN(255))
		if err := db.store.CorruptValueForTest(key, off, mask); err != nil {
			t.Fatal(err)
		}
		outcome := recordFlipOutcome(db, ct)
		tally[outcome]++
		if len(examples[outcome]) < 3 {
			lo, hi := max(0, off-10), min(len(v), off+10)
			bad := append([]byte(nil), v[lo:hi]...)
			bad[off-lo] ^= mask
			examples[outcome] = append(examples[outcome], fmt.Sprintf("%s: %q -> %q", ct.ref(), v[lo:hi], bad))
		}
		if err := db.store.CorruptValueForTest(key, off, mask); err != nil {
			t.Fatal(err)
		}
	}
	var outcomes []string
	for o := range tally {
		outcomes = append(outcomes, o)
	}
	sort.Strings(outcomes)
	for _, o := range outcomes {
		t.Logf("%4d %s, e.g. %s", tally[o], o, strings.Join(examples[o], "; "))
		if o != "detected" {
			t.Errorf("%d of %d record flips: %s", tally[o], flips, o)
		}
	}
}

// recordFlipOutcome reads ct after its record was corrupted and says what
// happened: "detected" (the read fails naming the model, and CHECK reports
// it) or what went wrong.
func recordFlipOutcome(db *DB, ct *ctensor) (outcome string) {
	defer func() {
		if p := recover(); p != nil {
			outcome = fmt.Sprintf("PANIC (%v)", p)
		}
	}()
	x, err := db.Tensor(ct.info.Model, ct.info.Name)
	switch {
	case err == nil && !bytes.Equal(x.Data, ct.data):
		return "other bytes returned without error"
	case err == nil && (x.DType != ct.info.DType || !x.Shape.Equal(ct.info.Shape)):
		return "other dtype or shape returned without error"
	case err == nil:
		infos, lerr := db.Tensors(ct.info.Model)
		for _, info := range infos {
			if info.ID == ct.info.ID && lerr == nil && !reflect.DeepEqual(info, ct.info) {
				return "other metadata listed without error"
			}
		}
		return "read as before without error"
	case !strings.Contains(err.Error(), fmt.Sprintf("model %q", ct.info.Model)) && !namesTensor(err, ct.info.Model, ct.info.Name):
		return "read error not naming the model"
	}
	problems, err := db.Check("")
	if err == nil && len(problems) == 0 {
		return "read fails but CHECK finds nothing"
	}
	if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("model %q", ct.info.Model)) {
		return "CHECK fails without naming the model"
	}
	return "detected"
}
