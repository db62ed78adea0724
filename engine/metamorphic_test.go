package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vsdb/vsdb/format"
	"github.com/vsdb/vsdb/format/safetensors"
	"github.com/vsdb/vsdb/tensor"
)

// The metamorphic test runs random sequences of operations (ingest, ingest
// against a base, FUSE, COMPRESS, DELETE, EXPORT and re-ingest, reopen, and
// reads) against a store and against an in-memory oracle of what every read
// must return, under several option sets. Every operation is logged; a
// failure prints the last operations, the seed and the command that
// replays it. VSDB_META_SEED (a number, or "random") and VSDB_META_OPS
// (operations per option set) override the defaults.

// metaOptionSets are the option sets every sequence runs under: chunk
// sizes that split tensors into many chunks or none, both byte codecs, and
// the hot-tensor cache off, tiny or at its default.
var metaOptionSets = []struct {
	name string
	opts Options
}{
	{"chunk256-raw-nocache", Options{ChunkBytes: 256, Codec: "raw", CacheBytes: -1}},
	{"chunk256-lossless-smallcache", Options{ChunkBytes: 256, Codec: "lossless", CacheBytes: 2048}},
	{"chunk4096-lossless-nocache", Options{ChunkBytes: 4096, Codec: "lossless", CacheBytes: -1}},
	{"chunk4096-raw-smallcache", Options{ChunkBytes: 4096, Codec: "raw", CacheBytes: 8192}},
	{"default-lossless-defaultcache", Options{}},
	{"default-raw-smallcache", Options{Codec: "raw", CacheBytes: 4096}},
}

const metaDefaultOps = 100

func TestMetamorphic(t *testing.T) {
	seed := uint64(20240607)
	if s := os.Getenv("VSDB_META_SEED"); s == "random" {
		seed = uint64(time.Now().UnixNano())
	} else if s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("VSDB_META_SEED=%q: %v", s, err)
		}
		seed = v
	}
	ops := metaDefaultOps
	if s := os.Getenv("VSDB_META_OPS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 {
			t.Fatalf("VSDB_META_OPS=%q: want a count", s)
		}
		ops = v
	}
	for i, set := range metaOptionSets {
		t.Run(set.name, func(t *testing.T) {
			r := newMetaRun(t, seed, i, ops)
			r.run()
		})
	}
}

// metaTensor is the oracle's view of one stored tensor: what a read must
// return.
type metaTensor struct {
	name  string
	dtype tensor.DType
	shape tensor.Shape
	data  []byte
	// approx marks values that came from a low-rank read (a matrix product
	// whose last bits the store does not promise): they compare within a
	// small tolerance instead of bit for bit. The product's rounding is
	// relative to mag, the size of the values its factors came from (a
	// difference of equal low-rank tensors, merged in factored space, is a
	// tiny residue of factors of the original size).
	approx bool
	mag    float64
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(x))
	}
	return m
}

func (x *metaTensor) clone() *metaTensor {
	c := *x
	c.data = slices.Clone(x.data)
	c.shape = slices.Clone(x.shape)
	return &c
}

func (x *metaTensor) values() []float64 { return widen(x.dtype, x.data) }

func (x *metaTensor) String() string {
	return fmt.Sprintf("%s %s%v", x.name, x.dtype, []int64(x.shape))
}

// widen returns a tensor's elements as float64.
func widen(dt tensor.DType, data []byte) []float64 {
	n := len(data) / dt.Size()
	f := make([]float32, n)
	if err := tensor.ToFloat32(dt, data, f); err != nil {
		panic(err)
	}
	out := make([]float64, n)
	for i, v := range f {
		out[i] = float64(v)
	}
	return out
}

// metaModel is the oracle's view of a model: its tensors in stored order
// and the model it is stored as deltas against.
type metaModel struct {
	tensors []*metaTensor
	base    string
}

func (m *metaModel) tensor(name string) *metaTensor {
	for _, x := range m.tensors {
		if x.name == name {
			return x
		}
	}
	return nil
}

func (m *metaModel) clone() *metaModel {
	c := &metaModel{base: m.base}
	for _, x := range m.tensors {
		c.tensors = append(c.tensors, x.clone())
	}
	return c
}

// sameLayout reports whether two models have the same tensor names and
// shapes (whatever the order).
func sameLayout(a, b *metaModel) bool {
	if len(a.tensors) != len(b.tensors) {
		return false
	}
	for _, x := range a.tensors {
		y := b.tensor(x.name)
		if y == nil || !y.shape.Equal(x.shape) {
			return false
		}
	}
	return true
}

type metaRun struct {
	t       *testing.T
	rng     *rand.Rand
	seed    uint64 // the seed given (each option set draws its own stream from it)
	set     int
	ops     int
	opts    Options
	optsSet int // option set the store is open with now
	dir     string
	tmp     string
	db      *DB
	ctx     context.Context
	models  map[string]*metaModel
	log     []string
	step    int
	names   int
	files   int
	freed   []string // names of deleted models, to reuse
	done    map[string]int
}

func newMetaRun(t *testing.T, seed uint64, set, ops int) *metaRun {
	r := &metaRun{
		t: t, rng: rand.New(rand.NewPCG(seed, 0x6d657461+uint64(set))), seed: seed, set: set, ops: ops,
		opts: metaOptionSets[set].opts, optsSet: set, dir: t.TempDir(), tmp: t.TempDir(), ctx: context.Background(),
		models: map[string]*metaModel{}, done: map[string]int{},
	}
	db, err := Open(r.dir, r.opts)
	if err != nil {
		t.Fatal(err)
	}
	r.db = db
	t.Cleanup(func() {
		if r.db != nil {
			r.db.Close()
		}
	})
	return r
}

// logf records an operation (printed only when the run fails).
func (r *metaRun) logf(format string, args ...any) {
	r.log = append(r.log, fmt.Sprintf("op %d: ", r.step)+fmt.Sprintf(format, args...))
}

// fatalf stops the run with the last operations, the seed and the command
// that replays it.
func (r *metaRun) fatalf(format string, args ...any) {
	r.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "metamorphic failure at op %d: %s\n", r.step, fmt.Sprintf(format, args...))
	from := max(0, len(r.log)-50)
	fmt.Fprintf(&b, "last %d of %d logged operations:\n", len(r.log)-from, len(r.log))
	for _, l := range r.log[from:] {
		b.WriteString("  " + l + "\n")
	}
	name := metaOptionSets[r.set].name
	fmt.Fprintf(&b, "seed %d (option set %d %s: %+v; open now with set %d)\n", r.seed, r.set, name, metaOptionSets[r.set].opts, r.optsSet)
	fmt.Fprintf(&b, "replay: VSDB_META_SEED=%d VSDB_META_OPS=%d go test -race -count=1 -run 'TestMetamorphic/%s$' ./engine", r.seed, r.ops, name)
	r.t.Fatal(b.String())
}

func (r *metaRun) check(err error, what string) {
	r.t.Helper()
	if err != nil {
		r.fatalf("%s: unexpected error: %v", what, err)
	}
}

type metaOp struct {
	name   string
	weight int
	needs  int // models needed
	run    func(*metaRun)
}

// metaCreates names the operations that add a model; past metaMaxModels,
// a delete runs instead.
var metaCreates = map[string]bool{"ingest": true, "ingest-base": true, "ingest-lossy": true, "fuse-into": true, "compress": true, "export-reingest": true}

const metaMaxModels = 16

var metaOps = []metaOp{
	{"ingest", 12, 0, func(r *metaRun) { r.opIngest(false, false) }},
	{"ingest-base", 9, 1, func(r *metaRun) { r.opIngest(true, false) }},
	{"ingest-lossy", 4, 0, func(r *metaRun) { r.opIngest(r.rng.IntN(2) == 0 && len(r.models) > 0, true) }},
	{"fuse-into", 9, 1, func(r *metaRun) { r.opFuse(true) }},
	{"fuse", 5, 1, func(r *metaRun) { r.opFuse(false) }},
	{"compress", 9, 1, (*metaRun).opCompress},
	{"delete", 7, 1, (*metaRun).opDelete},
	{"export-reingest", 6, 1, (*metaRun).opExport},
	{"reopen", 3, 0, (*metaRun).opReopen},
	{"read", 10, 1, (*metaRun).opRead},
	{"get", 4, 1, (*metaRun).opGet},
	{"show-models", 4, 0, (*metaRun).opShowModels},
	{"show-tensors", 4, 1, (*metaRun).opShowTensors},
	{"hot", 4, 1, (*metaRun).opHot},
	{"check", 2, 0, (*metaRun).opCheck},
	{"refused", 3, 1, (*metaRun).opRefused},
}

func (r *metaRun) run() {
	defer func() {
		if p := recover(); p != nil {
			r.fatalf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	total := 0
	for _, op := range metaOps {
		total += op.weight
	}
	for r.step = 0; r.step < r.ops; r.step++ {
		for {
			k := r.rng.IntN(total)
			var op metaOp
			for _, op = range metaOps {
				if k < op.weight {
					break
				}
				k -= op.weight
			}
			if len(r.models) < op.needs {
				continue
			}
			if metaCreates[op.name] && len(r.models) >= metaMaxModels {
				op = metaOps[slices.IndexFunc(metaOps, func(o metaOp) bool { return o.name == "delete" })]
			}
			op.run(r)
			r.done[op.name]++
			break
		}
	}
	r.step = r.ops
	r.logf("final verification of %d models", len(r.models))
	r.verifyAll()
	problems, err := r.db.Check("")
	r.check(err, "final check")
	if len(problems) > 0 {
		r.fatalf("CHECK reports %d problems at the end:\n%s", len(problems), strings.Join(problems, "\n"))
	}
	names := make([]string, 0, len(r.done))
	for n := range r.done {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s=%d", n, r.done[n]))
	}
	r.t.Logf("seed %d: %d ops (%s), %d models at the end", r.seed, r.ops, strings.Join(parts, " "), len(r.models))
}

// ---- random data ----

func (r *metaRun) modelNames() []string {
	out := make([]string, 0, len(r.models))
	for n := range r.models {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (r *metaRun) pickModel() string {
	ns := r.modelNames()
	return ns[r.rng.IntN(len(ns))]
}

func (r *metaRun) newName() string {
	if len(r.freed) > 0 && r.rng.IntN(3) == 0 {
		i := r.rng.IntN(len(r.freed))
		n := r.freed[i]
		r.freed = slices.Delete(r.freed, i, i+1)
		return n
	}
	r.names++
	return fmt.Sprintf("m%d", r.names)
}

func (r *metaRun) randomTensorName(used map[string]bool) string {
	for {
		var n string
		switch r.rng.IntN(6) {
		case 0:
			n = fmt.Sprintf("layers.%d.attn.weight", r.rng.IntN(3))
		case 1:
			n = fmt.Sprintf("layers.%d.attn.bias", r.rng.IntN(3))
		case 2:
			n = fmt.Sprintf("layers.%d.mlp.weight", r.rng.IntN(3))
		case 3:
			n = "norm.weight"
		case 4:
			n = "scale"
		default:
			n = "position_ids"
		}
		if !used[n] {
			used[n] = true
			return n
		}
	}
}

func (r *metaRun) randomShape() tensor.Shape {
	switch r.rng.IntN(9) {
	case 0:
		return tensor.Shape{}
	case 1:
		return [...]tensor.Shape{{0}, {3, 0}}[r.rng.IntN(2)]
	case 2, 3:
		return tensor.Shape{int64(1 + r.rng.IntN(48))}
	case 4:
		return tensor.Shape{2, int64(1 + r.rng.IntN(4)), int64(1 + r.rng.IntN(8))}
	default:
		return tensor.Shape{int64(2 + r.rng.IntN(22)), int64(2 + r.rng.IntN(22))}
	}
}

var metaDTypes = []tensor.DType{tensor.F32, tensor.F32, tensor.F16, tensor.BF16, tensor.I64}

func (r *metaRun) randomValues(dt tensor.DType, n int) []float32 {
	v := make([]float32, n)
	if !dt.IsFloat() {
		for i := range v {
			v[i] = float32(r.rng.IntN(200) - 100)
		}
		return v
	}
	switch r.rng.IntN(10) {
	case 0: // zeros
	case 1:
		c := float32(r.rng.NormFloat64())
		for i := range v {
			v[i] = c
		}
	default:
		scale := [...]float64{0.02, 1, 4}[r.rng.IntN(3)]
		for i := range v {
			v[i] = float32(r.rng.NormFloat64() * scale)
		}
	}
	return v
}

func encodeValues(dt tensor.DType, v []float32) []byte {
	out := make([]byte, len(v)*dt.Size())
	if err := tensor.FromFloat32(dt, v, out); err != nil {
		panic(err)
	}
	return out
}

func (r *metaRun) randomTensor(name string) *metaTensor {
	dt := metaDTypes[r.rng.IntN(len(metaDTypes))]
	shape := r.randomShape()
	n, _ := shape.Elements()
	return &metaTensor{name: name, dtype: dt, shape: shape, data: encodeValues(dt, r.randomValues(dt, int(n)))}
}

func (r *metaRun) randomTensors() []*metaTensor {
	used := map[string]bool{}
	n := 1 + r.rng.IntN(5)
	out := make([]*metaTensor, n)
	for i := range out {
		out[i] = r.randomTensor(r.randomTensorName(used))
	}
	return out
}

// derive makes a fine-tune of base: mostly the same names, shapes and
// dtypes (so stored as deltas), values nudged, kept or replaced; now and
// then a tensor of another shape or dtype (stored whole), one left out or
// one added.
func (r *metaRun) derive(base *metaModel) []*metaTensor {
	var out []*metaTensor
	used := map[string]bool{}
	for _, b := range base.tensors {
		used[b.name] = true
		if len(base.tensors) > 1 && r.rng.IntN(12) == 0 {
			continue // left out
		}
		x := &metaTensor{name: b.name, dtype: b.dtype, shape: slices.Clone(b.shape)}
		n, _ := x.shape.Elements()
		switch k := r.rng.IntN(20); {
		case k == 0: // another shape
			x.shape = r.randomShape()
			n, _ = x.shape.Elements()
			x.data = encodeValues(x.dtype, r.randomValues(x.dtype, int(n)))
		case k == 1: // another dtype
			x.dtype = metaDTypes[r.rng.IntN(len(metaDTypes))]
			x.data = encodeValues(x.dtype, r.randomValues(x.dtype, int(n)))
		case k == 2: // new values
			x.data = encodeValues(x.dtype, r.randomValues(x.dtype, int(n)))
		case k < 6 || !x.dtype.IsFloat(): // unchanged
			x.data = slices.Clone(b.data)
		default: // nudged
			v := make([]float32, n)
			tensor.ToFloat32(b.dtype, b.data, v)
			for i := range v {
				v[i] += float32(r.rng.NormFloat64() * 0.01)
			}
			x.data = encodeValues(x.dtype, v)
		}
		out = append(out, x)
	}
	if r.rng.IntN(8) == 0 && len(used) < 12 {
		out = append(out, r.randomTensor(r.randomTensorName(used)))
	}
	return out
}

// writeFile writes tensors as a safetensors file and returns its path.
func (r *metaRun) writeFile(ts []*metaTensor) string {
	r.files++
	path := filepath.Join(r.tmp, fmt.Sprintf("in%d.safetensors", r.files))
	entries := make([]format.Entry, len(ts))
	for i, x := range ts {
		entries[i] = format.Entry{Name: x.name, DType: x.dtype, Shape: x.shape, Size: int64(len(x.data))}
	}
	err := safetensors.WriteFile(path, entries, map[string]string{"format": "pt"}, func(i int) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(ts[i].data)), nil
	})
	r.check(err, "writing "+path)
	return path
}

// inFileOrder orders tensors as the checkpoint at path lists them (the
// order a model ingested from it keeps).
func (r *metaRun) inFileOrder(path string, ts []*metaTensor) []*metaTensor {
	src, err := format.Open(path)
	r.check(err, "reading back "+path)
	defer src.Close()
	byName := map[string]*metaTensor{}
	for _, x := range ts {
		byName[x.name] = x
	}
	var out []*metaTensor
	for _, e := range src.Entries() {
		x := byName[e.Name]
		if x == nil || x.dtype != e.DType || !x.shape.Equal(e.Shape) {
			r.fatalf("%s: tensor %s %s%v is not in the oracle's %v", path, e.Name, e.DType, []int64(e.Shape), ts)
		}
		out = append(out, x)
	}
	if len(out) != len(ts) {
		r.fatalf("%s lists %d tensors, the oracle %d", path, len(out), len(ts))
	}
	return out
}

func weightsText(ws []float64) string {
	s := make([]string, len(ws))
	for i, w := range ws {
		s[i] = strconv.FormatFloat(w, 'g', -1, 64)
	}
	return strings.Join(s, ", ")
}

// ---- operations ----

var (
	metaLossyCodecs = []string{"f16", "bf16", "q8", "q4"}
	metaCodecs      = []string{"raw", "lossless", "f16", "bf16", "q8", "q4", "lowrank", "lowrank"}
)

// opIngest ingests a new random checkpoint, or a fine-tune of a stored
// model against it (withBase), with the DB's codec or a lossy one.
func (r *metaRun) opIngest(withBase, lossy bool) {
	name := r.newName()
	var ts []*metaTensor
	base := ""
	if withBase {
		base = r.pickModel()
		ts = r.derive(r.models[base])
	} else {
		ts = r.randomTensors()
	}
	codecName := ""
	if lossy {
		codecName = metaLossyCodecs[r.rng.IntN(len(metaLossyCodecs))]
	}
	path := r.writeFile(ts)
	stmt := fmt.Sprintf("INGEST '%s' AS %s", path, name)
	if base != "" {
		stmt += " BASE " + base
	}
	if codecName != "" {
		stmt += " CODEC " + codecName
	}
	var err error
	if r.rng.IntN(2) == 0 {
		r.logf("%s    -- %v", stmt, ts)
		_, err = r.db.Query(r.ctx, stmt)
	} else {
		r.logf("db.Ingest(%s, {Name: %s, Base: %q, Codec: %q})    -- %v", path, name, base, codecName, ts)
		var m ModelInfo
		m, err = r.db.Ingest(r.ctx, path, IngestOptions{Name: name, Base: base, Codec: codecName})
		if err == nil && (m.Name != name || m.Tensors != len(ts)) {
			r.fatalf("ingest returned model %q with %d tensors, want %q with %d", m.Name, m.Tensors, name, len(ts))
		}
	}
	r.check(err, "ingest")
	want := &metaModel{tensors: r.inFileOrder(path, ts), base: base}
	r.models[name] = r.verifyNew(name, want)
}

// opCompress stores a model again with a codec, perhaps against a base.
func (r *metaRun) opCompress() {
	src := r.pickModel()
	into := r.newName()
	c := metaCodecs[r.rng.IntN(len(metaCodecs))]
	base := ""
	if c != "lowrank" && r.rng.IntN(3) == 0 {
		base = r.pickModel() // possibly src itself
	}
	clause := c
	rank := 0
	if c == "lowrank" {
		rank = 1 + r.rng.IntN(3)
		clause = fmt.Sprintf("lowrank(rank = %d)", rank)
	}
	stmt := "COMPRESS " + src
	if base != "" {
		stmt += " BASE " + base
	}
	stmt += " CODEC " + clause + " INTO " + into
	var err error
	if r.rng.IntN(2) == 0 {
		r.logf("%s", stmt)
		_, err = r.db.Query(r.ctx, stmt)
	} else {
		r.logf("db.Compress(%s, %s, {Codec: %s, Rank: %d, Base: %q})", src, into, c, rank, base)
		_, err = r.db.Compress(r.ctx, src, into, IngestOptions{Codec: c, Rank: rank, Base: base})
	}
	r.check(err, "compress")
	want := r.models[src].clone()
	want.base = base
	r.models[into] = r.verifyNew(into, want)
}

// opFuse runs FUSE over two or three models with random weights, and
// checks the result (returned, or stored INTO a new model) against the
// weighted sum the oracle computes in float64, or the error it predicts.
func (r *metaRun) opFuse(into bool) {
	// Now and then fuse models holding low-rank tensors, which FUSE may
	// merge in factored space.
	var lowRank []string
	for _, n := range r.modelNames() {
		if slices.ContainsFunc(r.models[n].tensors, func(x *metaTensor) bool { return x.approx }) {
			lowRank = append(lowRank, n)
		}
	}
	preferLowRank := len(lowRank) > 0 && r.rng.IntN(3) == 0
	first := r.pickModel()
	if preferLowRank {
		first = lowRank[r.rng.IntN(len(lowRank))]
	}
	ins := []string{first}
	k := 2
	if r.rng.IntN(5) == 0 {
		k = 3
	}
	var alike []string
	for _, n := range r.modelNames() {
		if sameLayout(r.models[first], r.models[n]) && (!preferLowRank || slices.Contains(lowRank, n)) {
			alike = append(alike, n)
		}
	}
	for len(ins) < k {
		if r.rng.IntN(4) > 0 {
			ins = append(ins, alike[r.rng.IntN(len(alike))])
		} else {
			ins = append(ins, r.pickModel())
		}
	}
	ws := make([]float64, k)
	for i := range ws {
		ws[i] = float64(r.rng.IntN(17)-8) / 8
	}
	want, why, skip := r.predictFuse(ins, ws)
	if skip {
		return
	}
	target := ""
	if into {
		target = r.newName()
	}
	stmt := fmt.Sprintf("FUSE %s WEIGHTS %s", strings.Join(ins, ", "), weightsText(ws))
	if why != "" {
		r.logf("%s%s    -- expect an error: %s", stmt, map[bool]string{true: " INTO " + target}[into], why)
		if into {
			stmt += " INTO " + target
		}
		res, err := r.db.Query(r.ctx, stmt)
		if err == nil {
			r.fatalf("%s succeeded (%d tensors), want an error (%s)", stmt, len(res.Tensors), why)
		}
		r.done["(fuse refused)"]++
		if into {
			r.expectAbsent(target)
			r.freed = append(r.freed, target)
		}
		return
	}
	var returned []*tensor.Tensor
	if !into || r.rng.IntN(2) == 0 {
		r.logf("%s", stmt)
		res, err := r.db.Query(r.ctx, stmt)
		r.check(err, stmt)
		if len(res.Tensors) != len(want) || len(res.Rows) != len(want) {
			r.fatalf("%s returned %d tensors and %d rows, want %d", stmt, len(res.Tensors), len(res.Rows), len(want))
		}
		for i, w := range want {
			r.checkFused(stmt, res.Tensors[i], w)
		}
		returned = res.Tensors
	}
	if !into {
		return
	}
	stmt += " INTO " + target
	r.logf("%s", stmt)
	if _, err := r.db.Query(r.ctx, stmt); err != nil {
		r.fatalf("%s: %v", stmt, err)
	}
	infos, err := r.db.Tensors(target)
	r.check(err, "listing "+target)
	if len(infos) != len(want) {
		r.fatalf("%s stored %d tensors, want %d", target, len(infos), len(want))
	}
	m := &metaModel{}
	for i, w := range want {
		got, err := r.db.Tensor(target, w.name)
		r.check(err, fmt.Sprintf("reading %s:%s", target, w.name))
		if infos[i].Name != w.name {
			r.fatalf("%s: tensor %d is %s, want %s (the first input's order)", target, i, infos[i].Name, w.name)
		}
		r.checkFused(stmt, got, w)
		if infos[i].Codec == "lowrank" {
			r.done["(fused in factored space)"]++
		}
		// The same statement without INTO computes the same bytes (low-rank
		// inputs may take the factored path for one and not the other).
		if returned != nil && !w.approx && !bytes.Equal(returned[i].Data, got.Data) {
			r.fatalf("%s: %s stored differs from what the same FUSE returned", stmt, w.name)
		}
		m.tensors = append(m.tensors, &metaTensor{name: w.name, dtype: w.dtype, shape: w.shape, data: got.Data, approx: w.approx && w.dtype.IsFloat(), mag: w.mag})
	}
	r.checkInfo(target, m)
	r.models[target] = m
}

// metaFuseOut is the oracle's expectation of one FUSE output tensor.
type metaFuseOut struct {
	name   string
	dtype  tensor.DType
	shape  tensor.Shape
	exp    []float64 // Σ wᵢxᵢ in float64
	absSum []float64 // Σ |wᵢxᵢ|, for the float32 rounding bound
	exact  []byte    // non-float tensors: the bytes carried over
	scale  float64   // largest |exp|
	approx bool      // some input holds low-rank values
	mag    float64   // Σ|wᵢ|·(magnitude of input i's values or factors)
	// inRound is the largest relative rounding of a low-rank input's
	// dtype: reads narrow U·Vᵀ to it, but FUSE in factored space merges
	// the factors, unrounded.
	inRound float64
}

// halfULP is the relative rounding error of narrowing to a float dtype.
func halfULP(dt tensor.DType) float64 {
	switch dt {
	case tensor.F16:
		return 0x1p-11
	case tensor.BF16:
		return 0x1p-8
	}
	return 0x1p-24
}

// predictFuse computes what FUSE of ins with weights ws returns, or why
// it must fail. skip is set when the result would come near a dtype's
// range, where whether it fails is a matter of rounding.
func (r *metaRun) predictFuse(ins []string, ws []float64) (want []metaFuseOut, why string, skip bool) {
	ms := make([]*metaModel, len(ins))
	for i, n := range ins {
		ms[i] = r.models[n]
	}
	for i, m := range ms[1:] {
		for _, x := range m.tensors {
			if ms[0].tensor(x.name) == nil {
				return nil, fmt.Sprintf("%s has no %s (in %s)", ins[0], x.name, ins[i+1]), false
			}
		}
	}
	for _, x := range ms[0].tensors {
		g := metaFuseOut{name: x.name, dtype: x.dtype, shape: x.shape}
		xs := []*metaTensor{x}
		for i, m := range ms[1:] {
			y := m.tensor(x.name)
			if y == nil {
				return nil, fmt.Sprintf("%s has no %s", ins[i+1], x.name), false
			}
			if !y.shape.Equal(x.shape) {
				return nil, fmt.Sprintf("shape mismatch: %s:%s %v, %s:%s %v", ins[0], x.name, x.shape, ins[i+1], y.name, y.shape), false
			}
			if y.dtype.IsFloat() != x.dtype.IsFloat() || (!x.dtype.IsFloat() && y.dtype != x.dtype) {
				return nil, fmt.Sprintf("cannot fuse %s %s with %s", x.name, x.dtype, y.dtype), false
			}
			if y.dtype != g.dtype {
				g.dtype = tensor.F32
			}
			xs = append(xs, y)
		}
		if !x.dtype.IsFloat() {
			for _, y := range xs[1:] {
				if !bytes.Equal(x.data, y.data) {
					return nil, fmt.Sprintf("%s: non-float values differ", x.name), false
				}
			}
			g.exact = x.data
			want = append(want, g)
			continue
		}
		n, _ := x.shape.Elements()
		g.exp, g.absSum = make([]float64, n), make([]float64, n)
		for k, y := range xs {
			vals := y.values()
			if y.approx {
				g.approx = true
				g.inRound = max(g.inRound, halfULP(y.dtype))
			}
			g.mag += math.Abs(ws[k]) * max(y.mag, maxAbs(vals))
			for j, v := range vals {
				if math.Abs(v) > 1000 {
					return nil, "", true
				}
				g.exp[j] += ws[k] * v
				g.absSum[j] += math.Abs(ws[k] * v)
			}
		}
		for _, v := range g.exp {
			g.scale = max(g.scale, math.Abs(v))
		}
		want = append(want, g)
	}
	return want, "", false
}

// checkFused compares one FUSE output with the oracle: float32 arithmetic
// (with or without FMA) is within 2⁻²¹ of Σ|wᵢxᵢ|, then narrowing to F16
// or BF16 within one unit in the last place of the result. Low-rank inputs
// may be merged in factored space, from factors that reads round to the
// input's dtype: add that rounding, and the product's, relative to the
// factors' size.
func (r *metaRun) checkFused(stmt string, got *tensor.Tensor, w metaFuseOut) {
	r.t.Helper()
	if got.Name != w.name || got.DType != w.dtype || !got.Shape.Equal(w.shape) {
		r.fatalf("%s: got %s %s%v, want %s %s%v", stmt, got.Name, got.DType, []int64(got.Shape), w.name, w.dtype, []int64(w.shape))
	}
	if w.exact != nil {
		if !bytes.Equal(got.Data, w.exact) {
			r.fatalf("%s: %s: non-float tensor not carried over unchanged", stmt, w.name)
		}
		return
	}
	vals := widen(got.DType, got.Data)
	if len(vals) != len(w.exp) {
		r.fatalf("%s: %s has %d elements, want %d", stmt, w.name, len(vals), len(w.exp))
	}
	for i, v := range vals {
		tol := 0x1p-21 * w.absSum[i]
		switch w.dtype {
		case tensor.F16:
			tol += 0x1p-10*math.Abs(w.exp[i]) + 0x1p-24
		case tensor.BF16:
			tol += 0x1p-7*math.Abs(w.exp[i]) + 0x1p-126
		}
		if w.approx {
			tol += 1e-5*max(w.scale, w.mag) + w.inRound*w.absSum[i]
		}
		if d := math.Abs(v - w.exp[i]); !(d <= tol) {
			r.fatalf("%s: %s %s%v (low-rank inputs %v) element %d is %v, want %v (±%g)", stmt, w.name, w.dtype, []int64(w.shape), w.approx, i, v, w.exp[i], tol)
		}
	}
}

// opDelete deletes a model: refused while another model is stored as
// deltas against it.
func (r *metaRun) opDelete() {
	name := r.pickModel()
	if r.rng.IntN(4) > 0 {
		// Mostly a model nothing depends on, so that the store stays small.
		var leaves []string
		for _, n := range r.modelNames() {
			if !slices.ContainsFunc(r.modelNames(), func(d string) bool { return r.models[d].base == n }) {
				leaves = append(leaves, n)
			}
		}
		if len(leaves) > 0 {
			name = leaves[r.rng.IntN(len(leaves))]
		}
	}
	if r.rng.IntN(10) == 0 {
		name = "absent" + strconv.Itoa(r.step)
	}
	var deps []string
	for _, n := range r.modelNames() {
		if r.models[n].base == name {
			deps = append(deps, strconv.Quote(n))
		}
	}
	var err error
	if r.rng.IntN(2) == 0 {
		r.logf("DELETE MODEL %s    -- dependants %v", name, deps)
		_, err = r.db.Query(r.ctx, "DELETE MODEL "+name)
	} else {
		r.logf("db.DeleteModel(%s)    -- dependants %v", name, deps)
		err = r.db.DeleteModel(name)
	}
	switch {
	case r.models[name] == nil:
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("no model %q", name)) {
			r.fatalf("deleting the absent model %s: %v, want no model", name, err)
		}
	case len(deps) > 0:
		want := fmt.Sprintf("model %q is the base of %s,", name, strings.Join(deps, ", "))
		if err == nil || !strings.Contains(err.Error(), want) {
			r.fatalf("deleting %s, the base of %v: got %v, want an error containing %q", name, deps, err, want)
		}
		r.done["(delete refused)"]++
		r.verifyModel(name)
	default:
		r.check(err, "delete "+name)
		delete(r.models, name)
		r.freed = append(r.freed, name)
		r.expectAbsent(name)
	}
}

// opExport exports a model (a file, its bytes, or a folder of shards) and
// ingests the export under a new name: it must equal the model.
func (r *metaRun) opExport() {
	src := r.pickModel()
	r.files++
	path := filepath.Join(r.tmp, fmt.Sprintf("out%d.safetensors", r.files))
	folder := r.rng.IntN(4) == 0
	var err error
	switch {
	case folder:
		path = filepath.Join(r.tmp, fmt.Sprintf("out%d", r.files)) + "/"
		stmt := fmt.Sprintf("EXPORT %s TO '%s' (shard_size = 1KB)", src, path)
		r.logf("%s", stmt)
		_, err = r.db.Query(r.ctx, stmt)
	case r.rng.IntN(2) == 0:
		stmt := fmt.Sprintf("EXPORT %s TO '%s'", src, path)
		r.logf("%s", stmt)
		_, err = r.db.Query(r.ctx, stmt)
	default:
		r.logf("db.Export(%s, %s)", src, path)
		err = r.db.Export(r.ctx, src, path)
	}
	r.check(err, "export "+src)
	if !folder {
		// ExportTo streams the same file.
		var buf bytes.Buffer
		r.check(r.db.ExportTo(r.ctx, src, &buf), "ExportTo "+src)
		if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, buf.Bytes()) {
			r.fatalf("ExportTo(%s) wrote %d bytes, Export %d bytes (%v): not the same file", src, buf.Len(), len(b), err)
		}
	}
	name := r.newName()
	if r.rng.IntN(2) == 0 {
		stmt := fmt.Sprintf("INGEST '%s' AS %s", path, name)
		r.logf("%s", stmt)
		_, err = r.db.Query(r.ctx, stmt)
	} else {
		r.logf("db.Ingest(%s, {Name: %s})", path, name)
		_, err = r.db.Ingest(r.ctx, path, IngestOptions{Name: name})
	}
	r.check(err, "re-ingest of the export of "+src)
	want := r.models[src].clone()
	want.base = ""
	want.tensors = r.inFileOrder(path, want.tensors)
	r.models[name] = r.verifyNew(name, want)
}

// opReopen closes the store and opens it again, now and then with another
// option set's chunk size, codec and cache.
func (r *metaRun) opReopen() {
	r.check(r.db.Close(), "close")
	r.db = nil
	if r.rng.IntN(3) == 0 {
		r.optsSet = r.rng.IntN(len(metaOptionSets))
	}
	r.opts = metaOptionSets[r.optsSet].opts
	r.logf("reopen with option set %d %s %+v", r.optsSet, metaOptionSets[r.optsSet].name, r.opts)
	db, err := Open(r.dir, r.opts)
	r.check(err, "reopen")
	r.db = db
	r.verifyAll()
}

func (r *metaRun) pickTensor(model string) *metaTensor {
	ts := r.models[model].tensors
	return ts[r.rng.IntN(len(ts))]
}

// pickNonEmpty picks a model that has tensors ("" if none has).
func (r *metaRun) pickNonEmpty() string {
	var ns []string
	for _, n := range r.modelNames() {
		if len(r.models[n].tensors) > 0 {
			ns = append(ns, n)
		}
	}
	if len(ns) == 0 {
		return ""
	}
	return ns[r.rng.IntN(len(ns))]
}

// opRead reads one tensor through the Go API (or a tensor or model that
// does not exist).
func (r *metaRun) opRead() {
	m := r.pickNonEmpty()
	if m == "" {
		return
	}
	x := r.pickTensor(m)
	switch r.rng.IntN(12) {
	case 0:
		r.logf("db.Tensor(%s, nosuch.tensor)", m)
		_, err := r.db.Tensor(m, "nosuch.tensor")
		if err == nil || !strings.Contains(err.Error(), `no tensor "nosuch.tensor"`) {
			r.fatalf("reading a tensor that does not exist: %v", err)
		}
		return
	case 1:
		r.logf("db.Tensor(nosuch, %s)", x.name)
		_, err := r.db.Tensor("nosuch", x.name)
		if err == nil || !strings.Contains(err.Error(), `no model "nosuch"`) {
			r.fatalf("reading from a model that does not exist: %v", err)
		}
		return
	}
	r.logf("db.Tensor(%s, %s)", m, x.name)
	got, err := r.db.Tensor(m, x.name)
	r.check(err, "read "+m+":"+x.name)
	r.compare(m, got, x)
}

func (r *metaRun) opGet() {
	m := r.pickNonEmpty()
	if m == "" {
		return
	}
	x := r.pickTensor(m)
	stmt := fmt.Sprintf("GET %s:%s", m, x.name)
	r.logf("%s", stmt)
	res, err := r.db.Query(r.ctx, stmt)
	r.check(err, stmt)
	if len(res.Tensors) != 1 {
		r.fatalf("%s returned %d tensors", stmt, len(res.Tensors))
	}
	r.compare(m, res.Tensors[0], x)
}

// opShowModels compares SHOW MODELS and Models() with the oracle's models.
func (r *metaRun) opShowModels() {
	r.logf("SHOW MODELS")
	res, err := r.db.Query(r.ctx, "SHOW MODELS")
	r.check(err, "SHOW MODELS")
	got := map[string]int{}
	for _, row := range res.Rows {
		got[row[0].(string)] = row[1].(int)
	}
	r.compareModelSet("SHOW MODELS", got)
	ms, err := r.db.Models()
	r.check(err, "Models")
	got = map[string]int{}
	for _, m := range ms {
		got[m.Name] = m.Tensors
		if want := r.models[m.Name]; want != nil && m.Base != want.base {
			r.fatalf("Models(): %s has base %q, want %q", m.Name, m.Base, want.base)
		}
	}
	r.compareModelSet("Models()", got)
}

func (r *metaRun) compareModelSet(what string, got map[string]int) {
	r.t.Helper()
	want := map[string]int{}
	for n, m := range r.models {
		want[n] = len(m.tensors)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		r.fatalf("%s lists %v (model: tensors), want %v", what, got, want)
	}
}

// opShowTensors compares SHOW TENSORS FROM m with the oracle's tensors.
func (r *metaRun) opShowTensors() {
	m := r.pickModel()
	stmt := "SHOW TENSORS FROM " + m
	r.logf("%s", stmt)
	res, err := r.db.Query(r.ctx, stmt)
	r.check(err, stmt)
	want := r.models[m].tensors
	if len(res.Rows) != len(want) {
		r.fatalf("%s: %d rows, want %d", stmt, len(res.Rows), len(want))
	}
	col := map[string]int{}
	for i, c := range res.Columns {
		col[c] = i
	}
	for i, row := range res.Rows {
		x := want[i]
		shape := fmt.Sprint(row[col["shape"]])
		if row[col["model"]] != m || row[col["name"]] != x.name || row[col["dtype"]] != x.dtype.String() || shape != fmt.Sprint([]int64(x.shape)) {
			r.fatalf("%s: row %d is %v, want %s", stmt, i, row, x)
		}
		if e, _ := row[col["rel_error"]].(float64); e < 0 || math.IsNaN(e) {
			r.fatalf("%s: row %d has rel_error %v", stmt, i, e)
		}
	}
}

// opHot reads a tensor often enough to make it hot, refreshes the tiers
// (the hot-tensor cache then admits it) and reads it again from the cache.
func (r *metaRun) opHot() {
	m := r.pickNonEmpty()
	if m == "" {
		return
	}
	x := r.pickTensor(m)
	if r.rng.IntN(2) == 0 { // the largest: more chunks to cache
		for _, y := range r.models[m].tensors {
			if len(y.data) > len(x.data) {
				x = y
			}
		}
	}
	r.logf("db.Tensor(%s, %s) x12 with RefreshAccess", m, x.name)
	for i := 0; i < 12; i++ {
		if i == 10 {
			r.check(r.db.RefreshAccess(), "RefreshAccess")
		}
		got, err := r.db.Tensor(m, x.name)
		r.check(err, "read "+m+":"+x.name)
		r.compare(m, got, x)
	}
}

func (r *metaRun) opCheck() {
	model := ""
	if len(r.models) > 0 && r.rng.IntN(2) == 0 {
		model = r.pickModel()
	}
	r.logf("db.Check(%q)", model)
	problems, err := r.db.Check(model)
	r.check(err, "check")
	if len(problems) > 0 {
		r.fatalf("CHECK %s reports %d problems:\n%s", model, len(problems), strings.Join(problems, "\n"))
	}
}

// opRefused tries writes the store must refuse (an existing target name)
// and checks that nothing changed.
func (r *metaRun) opRefused() {
	m := r.pickModel()
	other := r.pickModel()
	var stmt string
	switch r.rng.IntN(3) {
	case 0:
		stmt = fmt.Sprintf("INGEST '%s' AS %s", r.writeFile(r.randomTensors()), m)
	case 1:
		stmt = fmt.Sprintf("FUSE %s, %s WEIGHTS 0.5, 0.5 INTO %s", other, other, m)
	default:
		stmt = fmt.Sprintf("COMPRESS %s CODEC raw INTO %s", other, m)
	}
	r.logf("%s    -- expect: already exists", stmt)
	_, err := r.db.Query(r.ctx, stmt)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		r.fatalf("%s: %v, want an error saying %s already exists", stmt, err, m)
	}
	r.verifyModel(m)
}

// ---- verification ----

// compare checks a tensor read from model against the oracle.
func (r *metaRun) compare(model string, got *tensor.Tensor, want *metaTensor) {
	r.t.Helper()
	if got.Name != want.name || got.DType != want.dtype || !got.Shape.Equal(want.shape) {
		r.fatalf("%s: read %s %s%v, want %s", model, got.Name, got.DType, []int64(got.Shape), want)
	}
	if bytes.Equal(got.Data, want.data) {
		return
	}
	if !want.approx || len(got.Data) != len(want.data) {
		r.fatalf("%s: %s: %d bytes read differ from the %d expected%s", model, want, len(got.Data), len(want.data), firstDiff(want.dtype, got.Data, want.data))
	}
	g, w := widen(got.DType, got.Data), want.values()
	scale := max(maxAbs(w), want.mag)
	for i := range g {
		if d := math.Abs(g[i] - w[i]); !(d <= 1e-5*scale+0x1p-7*math.Abs(w[i])) {
			r.fatalf("%s: %s (low-rank values) element %d is %v, want %v", model, want, i, g[i], w[i])
		}
	}
}

func firstDiff(dt tensor.DType, got, want []byte) string {
	if len(got) != len(want) {
		return ""
	}
	g, w := widen(dt, got), widen(dt, want)
	for i := range g {
		if g[i] != w[i] || (g[i] == 0 && math.Signbit(g[i]) != math.Signbit(w[i])) {
			return fmt.Sprintf(": first at element %d: %v, want %v", i, g[i], w[i])
		}
	}
	return ""
}

// verifyModel checks every tensor of a stored model and its listing.
func (r *metaRun) verifyModel(name string) {
	r.t.Helper()
	want := r.models[name]
	r.checkInfo(name, want)
	for _, x := range want.tensors {
		got, err := r.db.Tensor(name, x.name)
		r.check(err, "read "+name+":"+x.name)
		r.compare(name, got, x)
	}
}

func (r *metaRun) verifyAll() {
	r.t.Helper()
	for _, n := range r.modelNames() {
		r.verifyModel(n)
	}
	r.opShowModels()
}

// checkInfo compares a model's listing (names in order, dtypes, shapes,
// base) with the oracle.
func (r *metaRun) checkInfo(name string, want *metaModel) []TensorInfo {
	r.t.Helper()
	infos, err := r.db.Tensors(name)
	r.check(err, "list "+name)
	if len(infos) != len(want.tensors) {
		r.fatalf("%s has %d tensors, want %d", name, len(infos), len(want.tensors))
	}
	for i, x := range want.tensors {
		in := infos[i]
		if in.Name != x.name || in.DType != x.dtype || !in.Shape.Equal(x.shape) || in.Model != name {
			r.fatalf("%s: tensor %d is %s:%s %s%v, want %s", name, i, in.Model, in.Name, in.DType, []int64(in.Shape), x)
		}
	}
	m, ok, err := r.db.model(name)
	r.check(err, "model "+name)
	if !ok || m.Base != want.base || m.Tensors != len(want.tensors) {
		r.fatalf("model %s: found %v, base %q, %d tensors; want base %q, %d tensors", name, ok, m.Base, m.Tensors, want.base, len(want.tensors))
	}
	return infos
}

// expectAbsent checks that a model is not stored.
func (r *metaRun) expectAbsent(name string) {
	r.t.Helper()
	if _, ok, err := r.db.model(name); err != nil || ok {
		r.fatalf("model %s: found %v (%v), want it absent", name, ok, err)
	}
	if _, err := r.db.Tensors(name); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("no model %q", name)) {
		r.fatalf("Tensors(%s) of an absent model: %v", name, err)
	}
}

// verifyNew checks a model just written from want (the values given to the
// store; want.base the model it was to be stored against): tensors stored
// with a byte codec read back bit-exact; lossy ones within the relative
// error the store reports for them (and that report is what the values
// show). It returns the oracle of the model: what reads return.
func (r *metaRun) verifyNew(name string, want *metaModel) *metaModel {
	r.t.Helper()
	infos := r.checkInfo(name, want)
	var baseIDs map[string]TensorInfo
	if want.base != "" {
		bs, err := r.db.Tensors(want.base)
		r.check(err, "list base "+want.base)
		baseIDs = map[string]TensorInfo{}
		for _, b := range bs {
			baseIDs[b.Name] = b
		}
	}
	out := &metaModel{base: want.base}
	for i, x := range want.tensors {
		in := infos[i]
		b, hasBase := baseIDs[x.name]
		isDelta := hasBase && b.DType == x.dtype && b.Shape.Equal(x.shape)
		if (in.Delta != "") != isDelta || (isDelta && in.DeltaBase != b.ID) {
			r.fatalf("%s: %s stored with delta %q against tensor %d; base %q has %v (id %d): want a delta %v", name, x, in.Delta, in.DeltaBase, want.base, hasBase, b.ID, isDelta)
		}
		if isDelta {
			r.done["(delta tensors)"]++
		}
		got, err := r.db.Tensor(name, x.name)
		r.check(err, "read "+name+":"+x.name)
		switch in.Codec {
		case "raw", "lossless":
			if in.RelError != 0 {
				r.fatalf("%s: %s stored %s reports error %g", name, x, in.Codec, in.RelError)
			}
			r.compare(name, got, x)
			out.tensors = append(out.tensors, x.clone())
			continue
		}
		if !x.dtype.IsFloat() {
			r.fatalf("%s: non-float %s stored with %s", name, x, in.Codec)
		}
		src, dec := x.values(), widen(got.DType, got.Data)
		if len(src) != len(dec) {
			r.fatalf("%s: %s read %d elements, want %d", name, x, len(dec), len(src))
		}
		var num, den float64
		for k := range src {
			num += (dec[k] - src[k]) * (dec[k] - src[k])
			den += src[k] * src[k]
		}
		rel := 0.0
		if num > 0 {
			rel = math.Sqrt(num / den)
		}
		rep := in.RelError
		slack := 1e-6*rep + 1e-9
		if in.Codec == "lowrank" || x.approx {
			slack = 1e-4*rep + 1e-6
		}
		if !(rel <= rep+slack) {
			r.fatalf("%s: %s stored %s: measured relative error %g beyond the %g reported", name, x, in.Codec, rel, rep)
		}
		if !(math.Abs(rel-rep) <= slack) && !(math.IsInf(rel, 1) && math.IsInf(rep, 1)) {
			r.fatalf("%s: %s stored %s: reports relative error %g, the values show %g", name, x, in.Codec, rep, rel)
		}
		out.tensors = append(out.tensors, &metaTensor{name: x.name, dtype: x.dtype, shape: x.shape, data: got.Data,
			approx: x.approx || in.Codec == "lowrank", mag: max(x.mag, maxAbs(src))})
		r.done["("+in.Codec+" tensors)"]++
	}
	return out
}
