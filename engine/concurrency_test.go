package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vsdb/vsdb/format"
	"github.com/vsdb/vsdb/format/safetensors"
	"github.com/vsdb/vsdb/tensor"
)

// TestConcurrentReadersAndWriter runs 16 readers and 1 writer through the
// Go API at once for a bounded time (VSDB_CONC_DURATION, default 3s).
//
// Every model the writer makes is one "version" u of the same layout:
// tensor "version" holds u and every element of every other tensor holds
// concValue(dtype, u). The writer ingests new versions (some as deltas
// against another model), copies models with FUSE m, m WEIGHTS w, 1-w INTO
// (exact: w is a multiple of 1/4) and COMPRESS (raw, lossless, against a
// base or not), and deletes them (refused, as it predicts, while another
// model is stored against them). A statement reads one snapshot, so a
// reader must see every model it lists whole, all its tensors of one
// version, and each tensor of one version throughout its chunks.
//
// The only error a reader may get is "no model", and only for a model the
// writer deleted or made during the read, or that was absent throughout
// (a seqlock per model name tells); likewise a listing must show every
// model that was left alone during it exactly when it existed. The anchor
// model exists throughout.
func TestConcurrentReadersAndWriter(t *testing.T) {
	duration := 3 * time.Second
	if s := os.Getenv("VSDB_CONC_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("VSDB_CONC_DURATION=%q: %v", s, err)
		}
		duration = d
	}
	const readers = 16
	db, err := Open(t.TempDir(), Options{ChunkBytes: 256, CacheBytes: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := &concRun{t: t, db: db, tmp: t.TempDir(), ctx: context.Background(), models: map[string]concModel{}, slots: map[string]*concSlot{}}
	for _, n := range append([]string{concAnchor}, concSlots...) {
		c.slots[n] = &concSlot{}
	}
	if err := c.ingest(rand.New(rand.NewPCG(1, 1)), concAnchor, ""); err != nil {
		t.Fatal(err)
	}
	c.slots[concAnchor].present.Store(true)

	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.writer(rand.New(rand.NewPCG(2, 2)), deadline)
	}()
	for i := 0; i < readers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.reader(rand.New(rand.NewPCG(3, uint64(i))), deadline)
		}()
	}
	wg.Wait()

	// The store ends as the writer left it, and consistent.
	ms, err := db.Models()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range ms {
		got[m.Name] = m.Base
	}
	want := map[string]string{}
	for n, m := range c.models {
		want[n] = m.base
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		c.fail("at the end the store holds %v (model: base), the writer made %v", got, want)
	}
	for n, m := range c.models {
		res, err := db.Query(c.ctx, fmt.Sprintf("FUSE %s, %s WEIGHTS 1, 0", n, n))
		if err != nil {
			c.fail("reading %s at the end: %v", n, err)
			continue
		}
		if u, err := c.checkModel(res.Tensors); err != nil || u != m.version {
			c.fail("%s at the end: version %d (%v), want %d", n, u, err, m.version)
		}
	}
	problems, err := db.Check("")
	if err != nil {
		c.fail("check: %v", err)
	}
	for _, p := range problems {
		c.fail("check: %s", p)
	}
	t.Logf("concurrency: %d readers + 1 writer for %v: %d reads (%d found no model: absent, or made or deleted meanwhile), %d writes (%d deletes refused for a dependant), %d errors",
		readers, duration, c.reads.Load(), c.misses.Load(), c.writes.Load(), c.refused.Load(), c.errors.Load())
	if c.reads.Load() == 0 || c.writes.Load() == 0 {
		t.Errorf("nothing was read or written")
	}
}

const concAnchor = "anchor"

var concSlots = []string{"c0", "c1", "c2", "c3", "c4", "c5"}

// concLayout is every model's tensors, in order: several chunks of 256
// bytes for the matrices, a scalar and an empty tensor.
var concLayout = []concTensor{
	{"version", tensor.I64, tensor.Shape{1}},
	{"layers.0.w", tensor.F32, tensor.Shape{16, 20}},
	{"layers.0.b", tensor.F32, tensor.Shape{20}},
	{"layers.1.w", tensor.F32, tensor.Shape{16, 20}},
	{"layers.1.b", tensor.F32, tensor.Shape{20}},
	{"norm.weight", tensor.F16, tensor.Shape{300}},
	{"norm.bias", tensor.BF16, tensor.Shape{8, 40}},
	{"scale", tensor.F32, tensor.Shape{}},
	{"empty", tensor.F32, tensor.Shape{0, 4}},
}

// concValue is the value of every element of a tensor of dtype dt in
// version u: exact in that dtype, and in FUSE's float32 arithmetic.
func concValue(dt tensor.DType, u int64) float64 {
	switch dt {
	case tensor.F16:
		return float64(u % 1024)
	case tensor.BF16:
		return float64(u % 256)
	}
	return float64(u)
}

type concTensor struct {
	name  string
	dtype tensor.DType
	shape tensor.Shape
}

type concModel struct {
	version int64
	base    string
}

type concRun struct {
	t   *testing.T
	db  *DB
	tmp string
	ctx context.Context

	// models is the writer's own view (only the writer, and the checks
	// after it ends, use it).
	models map[string]concModel
	// latest is the highest version the writer has begun to write: no
	// read may show a later one.
	latest atomic.Int64

	// slots tell readers, for each model name, whether a write to it was
	// under way during a read (see concSlot).
	slots map[string]*concSlot

	reads, misses, writes, refused, errors atomic.Int64
	mu                                     sync.Mutex
	msgs                                   int
}

// concSlot is a seqlock over one model name: the writer makes seq odd
// before it writes (creates, deletes or tries to delete) the model and
// even again after, with present set to whether the model exists. A read
// that saw the same even seq before and after ran while nothing changed
// that model, so present says whether the model was there throughout.
type concSlot struct {
	seq     atomic.Int64
	present atomic.Bool
}

type concSeen struct {
	seq     int64
	present bool
}

// observe notes every slot's state (before a read).
func (c *concRun) observe() map[string]concSeen {
	out := make(map[string]concSeen, len(c.slots))
	for n, sl := range c.slots {
		seq := sl.seq.Load()
		out[n] = concSeen{seq, sl.present.Load()}
	}
	return out
}

// stable reports whether model n was left alone since before was observed,
// and whether it existed all that time.
func (c *concRun) stable(before map[string]concSeen, n string) (stable, present bool) {
	b := before[n]
	return b.seq%2 == 0 && c.slots[n].seq.Load() == b.seq, b.present
}

func (c *concRun) fail(format string, args ...any) {
	c.errors.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.msgs++; c.msgs <= 20 {
		c.t.Errorf(format, args...)
	}
}

// ---- the writer ----

func (c *concRun) writer(rng *rand.Rand, deadline time.Time) {
	for n := 0; time.Now().Before(deadline); n++ {
		slot := concSlots[rng.IntN(len(concSlots))]
		sl := c.slots[slot]
		sl.seq.Add(1)
		err := c.write(rng, slot)
		_, ok := c.models[slot]
		sl.present.Store(ok)
		sl.seq.Add(1)
		if err != nil {
			c.fail("writer: %v", err)
			return
		}
		c.writes.Add(1)
		if n%16 == 15 {
			// Reads so far make some tensors hot: the cache takes them.
			if err := c.db.RefreshAccess(); err != nil {
				c.fail("writer: RefreshAccess: %v", err)
				return
			}
		}
	}
}

func (c *concRun) existing() []string {
	out := make([]string, 0, len(c.models))
	for n := range c.models {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// write does one random write and checks that it succeeded, or was
// refused exactly when it must be.
func (c *concRun) write(rng *rand.Rand, slot string) error {
	if _, ok := c.models[slot]; ok {
		var deps []string
		for _, n := range c.existing() {
			if c.models[n].base == slot {
				deps = append(deps, n)
			}
		}
		var err error
		if rng.IntN(2) == 0 {
			err = c.db.DeleteModel(slot)
		} else {
			_, err = c.db.Query(c.ctx, "DELETE MODEL "+slot)
		}
		if len(deps) > 0 {
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("model %q is the base of", slot)) {
				return fmt.Errorf("deleting %s, the base of %v: %v", slot, deps, err)
			}
			c.refused.Add(1)
			return nil
		}
		if err != nil {
			return fmt.Errorf("deleting %s: %v", slot, err)
		}
		delete(c.models, slot)
		return nil
	}
	all := c.existing() // the anchor at least
	src := all[rng.IntN(len(all))]
	base := ""
	if rng.IntN(2) == 0 {
		base = all[rng.IntN(len(all))]
	}
	switch rng.IntN(3) {
	case 0:
		return c.ingest(rng, slot, base)
	case 1:
		w := float64(1+rng.IntN(3)) / 4
		stmt := fmt.Sprintf("FUSE %s, %s WEIGHTS %g, %g INTO %s", src, src, w, 1-w, slot)
		if _, err := c.db.Query(c.ctx, stmt); err != nil {
			return fmt.Errorf("%s: %v", stmt, err)
		}
		c.models[slot] = concModel{version: c.models[src].version}
	default:
		codec := []string{"raw", "lossless"}[rng.IntN(2)]
		var err error
		if rng.IntN(2) == 0 {
			_, err = c.db.Compress(c.ctx, src, slot, IngestOptions{Codec: codec, Base: base})
		} else {
			stmt := "COMPRESS " + src
			if base != "" {
				stmt += " BASE " + base
			}
			_, err = c.db.Query(c.ctx, stmt+" CODEC "+codec+" INTO "+slot)
		}
		if err != nil {
			return fmt.Errorf("COMPRESS %s BASE %q CODEC %s INTO %s: %v", src, base, codec, slot, err)
		}
		c.models[slot] = concModel{version: c.models[src].version, base: base}
	}
	return nil
}

// ingest writes a checkpoint of a new version and ingests it as name
// (against base, if any).
func (c *concRun) ingest(rng *rand.Rand, name, base string) error {
	u := c.latest.Add(1)
	entries := make([]format.Entry, len(concLayout))
	datas := make([][]byte, len(concLayout))
	for i, l := range concLayout {
		n, _ := l.shape.Elements()
		v := make([]float32, n)
		for k := range v {
			v[k] = float32(concValue(l.dtype, u))
		}
		datas[i] = encodeValues(l.dtype, v)
		entries[i] = format.Entry{Name: l.name, DType: l.dtype, Shape: l.shape, Size: int64(len(datas[i]))}
	}
	path := filepath.Join(c.tmp, fmt.Sprintf("v%d.safetensors", u))
	err := safetensors.WriteFile(path, entries, nil, func(i int) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(datas[i])), nil
	})
	if err != nil {
		return err
	}
	if rng.IntN(2) == 0 {
		_, err = c.db.Ingest(c.ctx, path, IngestOptions{Name: name, Base: base})
	} else {
		stmt := fmt.Sprintf("INGEST '%s' AS %s", path, name)
		if base != "" {
			stmt += " BASE " + base
		}
		_, err = c.db.Query(c.ctx, stmt)
	}
	if err != nil {
		return fmt.Errorf("ingest of version %d as %s (base %q): %v", u, name, base, err)
	}
	c.models[name] = concModel{version: u, base: base}
	return nil
}

// ---- the readers ----

func (c *concRun) reader(rng *rand.Rand, deadline time.Time) {
	names := append([]string{concAnchor}, concSlots...)
	for time.Now().Before(deadline) {
		m := names[rng.IntN(len(names))]
		start := time.Now()
		before := c.observe()
		what, listed, err := c.read(rng, m)
		c.reads.Add(1)
		c.judge(before, m, what, listed, err)
		// A client thinks between requests: twice as long as the last one
		// took. Sixteen loops that never rest starve the writer on two
		// cores (its ingest hands every 256-byte chunk to an encoder
		// goroutine and waits a scheduling round for each), and under
		// -race they even read less, for the garbage they make.
		time.Sleep(2 * time.Since(start))
	}
}

// judge decides whether a read's outcome was legitimate. A listing must
// show each model the writer left alone during the read exactly when it
// existed. A read of model m may fail only with "no model" and only when m
// was absent or changing; it may succeed only when m was present or
// changing.
func (c *concRun) judge(before map[string]concSeen, m, what string, listed map[string]bool, err error) {
	if listed != nil {
		for _, n := range slices.Sorted(maps.Keys(c.slots)) {
			if st, present := c.stable(before, n); st && listed[n] != present {
				c.fail("reader: %s: lists %s %v, but it was present=%v throughout", what, n, listed[n], present)
			}
		}
	}
	st, present := c.stable(before, m)
	switch {
	case err == nil:
		if listed == nil && st && !present {
			c.fail("reader: %s: read model %s, which did not exist throughout", what, m)
		}
	case strings.Contains(err.Error(), fmt.Sprintf("no model %q", m)) && !strings.Contains(err.Error(), "\n"):
		if st && present {
			c.fail("reader: %s: %v, but %s existed throughout", what, err, m)
		} else {
			c.misses.Add(1)
		}
	default:
		c.fail("reader: %s: %v", what, err)
	}
}

// read does one random read of model m, or a listing of every model
// (which it returns), and checks what it returns.
func (c *concRun) read(rng *rand.Rand, m string) (string, map[string]bool, error) {
	switch rng.IntN(8) {
	case 0:
		listed, err := c.showModels()
		return "SHOW MODELS", listed, err
	case 1:
		l := concLayout[rng.IntN(len(concLayout))]
		what := fmt.Sprintf("db.Tensor(%s, %s)", m, l.name)
		t, err := c.db.Tensor(m, l.name)
		if err != nil {
			return what, nil, err
		}
		return what, nil, c.checkTensor(t)
	case 2:
		stmt := fmt.Sprintf("FUSE %s, %s WEIGHTS 0.5, 0.5", m, m)
		res, err := c.db.Query(c.ctx, stmt)
		if err != nil {
			return stmt, nil, err
		}
		_, err = c.checkModel(res.Tensors)
		return stmt, nil, err
	case 3:
		stmt := fmt.Sprintf("FUSE %s:layers.0, %s:layers.1 WEIGHTS 0.25, 0.75", m, m)
		res, err := c.db.Query(c.ctx, stmt)
		if err != nil {
			return stmt, nil, err
		}
		return stmt, nil, c.checkLayers(res.Tensors)
	case 4:
		what := fmt.Sprintf("ExportTo(%s, io.Discard)", m)
		return what, nil, c.db.ExportTo(c.ctx, m, io.Discard)
	case 5:
		what := fmt.Sprintf("ExportTo(%s) parsed", m)
		var buf bytes.Buffer
		if err := c.db.ExportTo(c.ctx, m, &buf); err != nil {
			return what, nil, err
		}
		ts, err := parseSafetensors(buf.Bytes())
		if err != nil {
			return what, nil, err
		}
		_, err = c.checkModel(ts)
		return what, nil, err
	case 6:
		stmt := "SHOW TENSORS FROM " + m
		res, err := c.db.Query(c.ctx, stmt)
		if err != nil {
			return stmt, nil, err
		}
		if len(res.Rows) != len(concLayout) {
			return stmt, nil, fmt.Errorf("%d rows, want %d", len(res.Rows), len(concLayout))
		}
		for i, row := range res.Rows {
			if row[0] != m || row[1] != concLayout[i].name || row[4] != concLayout[i].dtype.String() {
				return stmt, nil, fmt.Errorf("row %d is %v, want %s %s", i, row, concLayout[i].name, concLayout[i].dtype)
			}
		}
		return stmt, nil, nil
	default:
		// Answered from the dtype bitmap (cached between writes): every
		// model has exactly one F16 tensor.
		stmt := "SHOW TENSORS WHERE dtype = 'f16'"
		res, err := c.db.Query(c.ctx, stmt)
		if err != nil {
			return stmt, nil, err
		}
		listed := map[string]bool{}
		for _, row := range res.Rows {
			name, _ := row[0].(string)
			if row[1] != "norm.weight" || c.slots[name] == nil {
				return stmt, nil, fmt.Errorf("unexpected row %v", row)
			}
			if listed[name] {
				return stmt, nil, fmt.Errorf("model %s listed twice", name)
			}
			listed[name] = true
		}
		return stmt, listed, nil
	}
}

// showModels checks that every model listed is whole, and returns the
// names listed.
func (c *concRun) showModels() (map[string]bool, error) {
	res, err := c.db.Query(c.ctx, "SHOW MODELS")
	if err != nil {
		return nil, err
	}
	listed := map[string]bool{}
	for _, row := range res.Rows {
		name, _ := row[0].(string)
		if c.slots[name] == nil || listed[name] {
			return nil, fmt.Errorf("unknown or repeated model %q listed", name)
		}
		listed[name] = true
		if n := row[1].(int); n != len(concLayout) {
			return nil, fmt.Errorf("model %s listed with %d tensors, want %d", name, n, len(concLayout))
		}
	}
	return listed, nil
}

// checkVersion checks that a version is one the writer has made.
func (c *concRun) checkVersion(u int64) error {
	if latest := c.latest.Load(); u < 1 || u > latest {
		return fmt.Errorf("version %d, but the writer has made 1 to %d", u, latest)
	}
	return nil
}

// checkModel checks tensors read from one snapshot of a model: exactly the
// layout, every tensor of the one version tensor "version" names. It
// returns that version.
func (c *concRun) checkModel(ts []*tensor.Tensor) (int64, error) {
	if len(ts) != len(concLayout) {
		return 0, fmt.Errorf("%d tensors, want %d", len(ts), len(concLayout))
	}
	byName := map[string]*tensor.Tensor{}
	for _, t := range ts {
		byName[t.Name] = t
	}
	v := byName["version"]
	if v == nil || len(v.Data) != 8 {
		return 0, fmt.Errorf("no version tensor")
	}
	u := int64(widen(v.DType, v.Data)[0])
	if err := c.checkVersion(u); err != nil {
		return u, err
	}
	for _, l := range concLayout {
		t := byName[l.name]
		if t == nil || t.DType != l.dtype || !t.Shape.Equal(l.shape) {
			return u, fmt.Errorf("tensor %s missing or of another dtype or shape", l.name)
		}
		want := concValue(l.dtype, u)
		for i, x := range widen(t.DType, t.Data) {
			if x != want {
				return u, fmt.Errorf("version %d, but %s element %d is %v (want %v): a mix of versions", u, l.name, i, x, want)
			}
		}
	}
	return u, nil
}

// checkTensor checks one tensor read alone: of the layout, every element
// equal, a value some version gives.
func (c *concRun) checkTensor(t *tensor.Tensor) error {
	i := slices.IndexFunc(concLayout, func(l concTensor) bool { return l.name == t.Name })
	if i < 0 || t.DType != concLayout[i].dtype || !t.Shape.Equal(concLayout[i].shape) {
		return fmt.Errorf("tensor %s %s%v is not of the layout", t.Name, t.DType, []int64(t.Shape))
	}
	vals := widen(t.DType, t.Data)
	if len(vals) == 0 {
		return nil
	}
	for k, x := range vals {
		if x != vals[0] {
			return fmt.Errorf("%s: element %d is %v, element 0 %v: chunks of different versions", t.Name, k, x, vals[0])
		}
	}
	x := vals[0]
	switch t.DType {
	case tensor.F16:
		if x != float64(int64(x)) || x < 0 || x >= 1024 {
			return fmt.Errorf("%s holds %v, no version's value", t.Name, x)
		}
	case tensor.BF16:
		if x != float64(int64(x)) || x < 0 || x >= 256 {
			return fmt.Errorf("%s holds %v, no version's value", t.Name, x)
		}
	default:
		if x != float64(int64(x)) {
			return fmt.Errorf("%s holds %v, no version's value", t.Name, x)
		}
		return c.checkVersion(int64(x))
	}
	return nil
}

// checkLayers checks FUSE m:layers.0, m:layers.1: both layers of one
// version, so every output element is that version.
func (c *concRun) checkLayers(ts []*tensor.Tensor) error {
	if len(ts) != 2 || ts[0].Name != "layers.0.w" || ts[1].Name != "layers.0.b" {
		return fmt.Errorf("got %d tensors, want layers.0.w and layers.0.b", len(ts))
	}
	u := widen(ts[0].DType, ts[0].Data)[0]
	for _, t := range ts {
		for i, x := range widen(t.DType, t.Data) {
			if x != u {
				return fmt.Errorf("%s element %d is %v, element 0 of layers.0.w %v: layers of different versions", t.Name, i, x, u)
			}
		}
	}
	if u != float64(int64(u)) {
		return fmt.Errorf("layers hold %v, no version's value", u)
	}
	return c.checkVersion(int64(u))
}

// parseSafetensors reads every tensor of a safetensors file in memory.
func parseSafetensors(b []byte) ([]*tensor.Tensor, error) {
	f, err := safetensors.Parse(bytes.NewReader(b), int64(len(b)), "export")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []*tensor.Tensor
	for i, e := range f.Entries() {
		r, err := f.Open(i)
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, &tensor.Tensor{Name: e.Name, DType: e.DType, Shape: e.Shape, Data: data})
	}
	return out, nil
}

// TestConcurrentDeleteOfABase races a load against a base (INGEST ...
// BASE b, COMPRESS ... BASE b) with DELETE MODEL b: exactly one may win.
// The load reads its base from a snapshot before it takes the write lock,
// so without a check at commit both succeeded, leaving a model whose
// deltas point at deleted tensors: unreadable, and reported by CHECK.
func TestConcurrentDeleteOfABase(t *testing.T) {
	db, err := Open(t.TempDir(), Options{ChunkBytes: 256})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	in := writeCheckpoint(t, t.TempDir(), []testTensor{{"layers.0.w", tensor.F32, tensor.Shape{8, 16}, seq(128, 1)}, {"ids", tensor.I64, tensor.Shape{3}, []float32{1, 2, 3}}})
	if _, err := db.Ingest(ctx, in, IngestOptions{Name: "src"}); err != nil {
		t.Fatal(err)
	}
	wins := map[string]int{}
	for i := 0; i < 40; i++ {
		b, ft := fmt.Sprintf("b%d", i), fmt.Sprintf("ft%d", i)
		if _, err := db.Ingest(ctx, in, IngestOptions{Name: b}); err != nil {
			t.Fatal(err)
		}
		var loadErr, delErr error
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				_, loadErr = db.Ingest(ctx, in, IngestOptions{Name: ft, Base: b})
			} else {
				_, loadErr = db.Compress(ctx, "src", ft, IngestOptions{Base: b})
			}
		}()
		go func() {
			defer wg.Done()
			delErr = db.DeleteModel(b)
		}()
		wg.Wait()
		switch {
		case loadErr == nil && delErr == nil:
			_, rerr := db.Tensor(ft, "layers.0.w")
			t.Fatalf("round %d: %s stored against %s and %s deleted, both succeeded (read: %v)", i, ft, b, b, rerr)
		case loadErr == nil:
			if !strings.Contains(delErr.Error(), fmt.Sprintf("model %q is the base of", b)) {
				t.Fatalf("round %d: deleting %s: %v", i, b, delErr)
			}
			got, err := db.Tensor(ft, "layers.0.w")
			if err != nil || !bytes.Equal(got.Data, encodeValues(tensor.F32, seq(128, 1))) {
				t.Fatalf("round %d: reading %s: %v", i, ft, err)
			}
			if err := db.DeleteModel(ft); err != nil {
				t.Fatal(err)
			}
			if err := db.DeleteModel(b); err != nil {
				t.Fatal(err)
			}
			wins["load"]++
		case delErr == nil:
			if !strings.Contains(loadErr.Error(), "deleted meanwhile") && !strings.Contains(loadErr.Error(), fmt.Sprintf("no model %q", b)) {
				t.Fatalf("round %d: storing %s against %s, deleted: %v", i, ft, b, loadErr)
			}
			if _, ok, err := db.model(ft); err != nil || ok {
				t.Fatalf("round %d: %s failed but is stored (%v)", i, ft, err)
			}
			wins["delete"]++
		default:
			t.Fatalf("round %d: both failed: %v; %v", i, loadErr, delErr)
		}
	}
	problems, err := db.Check("")
	if err != nil || len(problems) > 0 {
		t.Fatalf("check: %v %v", problems, err)
	}
	t.Logf("the load won %d rounds, the delete %d", wins["load"], wins["delete"])
}
