//go:build linux

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vsdb/vsdb/engine"
	"github.com/vsdb/vsdb/format"
	"github.com/vsdb/vsdb/format/safetensors"
	"github.com/vsdb/vsdb/lsm"
	"github.com/vsdb/vsdb/tensor"
)

// The crash harness (issue 7): a seeded schedule of write operations
// (ingest lossless, ingest q8, ingest --base, FUSE ... INTO, COMPRESS,
// delete), each run as a child `vsdb` process and killed with SIGKILL:
// two thirds after a delay drawn uniformly over 1.2 times the operation's
// usual duration, one third within a millisecond of a write the kill aims
// at (the first write to the write-ahead log, Pebble ingesting a load's
// chunks, the commit of its records; see the triggers). After every point
// the store must open, hold exactly the models committed so far (the
// target of the operation just run wholly or not at all), pass CHECK and
// read back, every model, as expected, and (every few points) keep no
// chunk, record or counter of a tensor that is not live. One store serves
// all points, so history, deletions and compactions accumulate. The store
// is first opened in this process through the Go API (which recovers it);
// CHECK and the whole reads then run through the command line, whose
// binary is built without the race detector (ten times faster at
// decoding).
//
//	go test ./cmd/vsdb -run TestCrashPoints                   # 100 points
//	make crash-long                                           # 1000 points
//	VSDB_CRASH_SEED=s VSDB_CRASH_POINTS=n go test ./cmd/vsdb -run TestCrashPoints
//
// A replay draws the same operations, victims, triggers and delay
// fractions; the delays themselves are fractions of operation times
// measured on the machine as it runs, so where a kill lands varies a
// little from run to run.

const (
	crashDefaultSeed   = 20260704
	crashDefaultPoints = 100
	// crashMaxVictims bounds the models the loop keeps besides base and ft:
	// beyond it the oldest is deleted between points.
	crashMaxVictims = 2
	// crashMinKilled is the least fraction of points whose operation must
	// really be killed mid-way.
	crashMinKilled = 0.30
	// crashAimed is the share of operations whose kill is aimed at a
	// write (see the triggers) rather than drawn over the whole operation;
	// crashAimWindow bounds the delay after the event.
	crashAimed     = 1.0 / 3
	crashAimWindow = time.Millisecond
	// crashScanEvery is how often (in points) the lower layer is scanned
	// for leftovers of killed or deleted models.
	crashScanEvery = 5
	// crashReplay is appended to every failure.
	crashReplay = "replay: VSDB_CRASH_SEED=%d VSDB_CRASH_POINTS=%d go test ./cmd/vsdb -run TestCrashPoints"
)

// crashTensor is one tensor of a generated checkpoint.
type crashTensor struct {
	name  string
	dtype tensor.DType
	shape tensor.Shape
	data  []byte
}

// tensorSum is what a read of one tensor must give back.
type tensorSum struct {
	name  string
	dtype tensor.DType
	shape string
	sum   [32]byte
}

func sumsOf(ts []crashTensor) []tensorSum {
	out := make([]tensorSum, len(ts))
	for i, c := range ts {
		out[i] = tensorSum{c.name, c.dtype, c.shape.String(), sha256.Sum256(c.data)}
	}
	return out
}

// crashTensors makes a small transformer-like checkpoint (about 1.3 MB):
// float32 matrices (one spanning two 1 MiB chunks), vectors and an f16
// vector. With base set, every value is base's plus small noise (a
// fine-tune of it).
func crashTensors(r *rand.Rand, base []crashTensor) []crashTensor {
	type spec struct {
		name  string
		dtype tensor.DType
		shape tensor.Shape
		scale float64
	}
	specs := []spec{{"embeddings.word.weight", tensor.F32, tensor.Shape{2080, 128}, 1}}
	for l := range 4 {
		p := fmt.Sprintf("encoder.layer.%d.", l)
		specs = append(specs,
			spec{p + "attention.weight", tensor.F32, tensor.Shape{128, 64}, 0.05},
			spec{p + "mlp.weight", tensor.F32, tensor.Shape{256, 64}, 0.05},
			spec{p + "mlp.bias", tensor.F32, tensor.Shape{256}, 0.01})
	}
	specs = append(specs, spec{"norm.weight", tensor.F16, tensor.Shape{64}, 1})
	out := make([]crashTensor, len(specs))
	for i, s := range specs {
		n, _ := s.shape.Elements()
		vals := make([]float32, n)
		if base != nil {
			if err := tensor.ToFloat32(s.dtype, base[i].data, vals); err != nil {
				panic(err)
			}
		}
		for j := range vals {
			if base != nil {
				vals[j] += float32(r.NormFloat64() * 1e-3 * s.scale)
			} else {
				vals[j] = float32(r.NormFloat64() * s.scale)
			}
		}
		data := make([]byte, n*int64(s.dtype.Size()))
		if err := tensor.FromFloat32(s.dtype, vals, data); err != nil {
			panic(err)
		}
		out[i] = crashTensor{s.name, s.dtype, s.shape, data}
	}
	return out
}

func writeCrashCheckpoint(t *testing.T, path string, ts []crashTensor) {
	t.Helper()
	entries := make([]format.Entry, len(ts))
	for i, c := range ts {
		entries[i] = format.Entry{Name: c.name, DType: c.dtype, Shape: c.shape, Size: int64(len(c.data))}
	}
	err := safetensors.WriteFile(path, entries, nil, func(i int) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(ts[i].data)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// crashOp is one kind of write operation of the schedule.
type crashOp struct {
	kind string
	// recipe names the expected content of the model the operation
	// creates ("" for delete).
	recipe string
	args   func(name string) []string
}

// committed is a model the store must hold: its recipe and its tensor
// records as first seen through the Go API and through lsm (these never
// change while it lives).
type committed struct {
	recipe  string
	records []string
	ids     []uint32
	stored  []string // lsm records, with checksums; nil until a scan sees it
}

// crashHarness holds the schedule's state: the models committed so far
// and what each must read back as.
type crashHarness struct {
	t                   *testing.T
	bin, store, exports string
	seed                uint64
	points              int
	ops                 []crashOp
	refs                map[string][]tensorSum // recipe → expected tensors
	models              map[string]*committed
	victims             []string                   // models the loop created, oldest first
	samples             map[string][]time.Duration // recent full runs of each op
	// scanned is the tensor id below which every id not live has been
	// checked to hold nothing for good; dead lists live ids deleted since,
	// and scanFrom is the first point since that check. Every operation that
	// creates a model reserves at most perModel ids: starts counts them.
	perModel int
	starts   int
	scanned  uint32
	dead     []uint32
	scanFrom int
	// the current point, for failure messages
	point   int
	op      string
	delay   time.Duration
	outcome string
}

// crashEnv reads a number of at least least from the environment.
func crashEnv(t *testing.T, name string, def, least uint64) uint64 {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v < least {
		t.Fatalf("%s=%q: want an integer of at least %d", name, s, least)
	}
	return v
}

// fatalf fails the test with what replays it.
func (h *crashHarness) fatalf(format string, args ...any) {
	h.t.Helper()
	h.t.Fatalf("point %d (op %s, delay %v, %s): %s\n"+crashReplay,
		h.point, h.op, h.delay.Round(time.Microsecond), h.outcome, fmt.Sprintf(format, args...), h.seed, h.points)
}

// countStart counts a child that may reserve tensor ids (ingest, or the
// FUSE ... INTO and COMPRESS statements the schedule runs).
func (h *crashHarness) countStart(args []string) {
	if args[0] == "ingest" || args[0] == "query" {
		h.starts++
	}
}

// run runs vsdb to completion; it must succeed.
func (h *crashHarness) run(args ...string) (string, time.Duration) {
	h.t.Helper()
	h.countStart(args)
	start := time.Now()
	out, err := exec.Command(h.bin, append([]string{"--db", h.store}, args...)...).CombinedOutput()
	if err != nil {
		h.fatalf("vsdb %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), time.Since(start)
}

// Kill triggers. Delays drawn over a whole operation seldom hit the
// millisecond in which a batch is written, or a load's chunks are ingested
// and then committed; these aim there, by watching (with inotify) the
// files a child writes.
const (
	// afterStart counts the delay from the start of the child.
	afterStart = ""
	// atWAL counts it from the child's first write to Pebble's
	// write-ahead log: the batch of a delete, or the one that begins a
	// load (its sequence and pending marker).
	atWAL = "at WAL write"
	// atIngest counts it from the moment an sstable appears in the Pebble
	// folder while the load's scratch sstable is there: Pebble is linking
	// the chunks in.
	atIngest = "at ingest"
	// atCommit counts it from the moment the scratch sstable is removed:
	// Pebble has ingested the chunks (and removes its input) and the
	// model's records are about to be committed.
	atCommit = "at commit"
)

// runKilled starts the operation and kills it with SIGKILL after delay
// from the trigger, unless it ends first; it reports whether it was killed
// and how long it ran. Any end other than success or that kill fails the
// test.
func (h *crashHarness) runKilled(delay time.Duration, trigger string, args []string) (bool, time.Duration) {
	h.t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(h.bin, append([]string{"--db", h.store}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	var events *os.File
	if trigger != afterStart {
		events = h.watch()
		defer events.Close() // also ends waitFor
	}
	h.countStart(args)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	fire, stop := make(chan struct{}), make(chan struct{})
	defer close(stop)
	go func() {
		if events != nil && !waitFor(events, trigger) {
			return
		}
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-stop:
		case <-t.C:
			close(fire)
		}
	}()
	var err error
	select {
	case err = <-done:
	case <-fire:
		cmd.Process.Kill()
		err = <-done
	}
	took := time.Since(start)
	if err == nil {
		return false, took
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true, took
		}
	}
	h.fatalf("vsdb %s failed on its own: %v\n%s", strings.Join(args, " "), err, out.Bytes())
	return false, 0
}

// Watch descriptors of the two folders watch adds, in order.
const (
	watchScratch = 1
	watchPebble  = 2
)

// watch returns an inotify instance on the store's scratch and Pebble
// folders, to be read by waitFor (non-blocking, so Close ends a read).
func (h *crashHarness) watch() *os.File {
	h.t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		h.t.Fatalf("inotify: %v", err)
	}
	f := os.NewFile(uintptr(fd), "inotify")
	for i, dir := range []string{"tmp", "pebble"} {
		wd, err := syscall.InotifyAddWatch(fd, filepath.Join(h.store, dir), syscall.IN_CREATE|syscall.IN_DELETE|syscall.IN_MOVED_TO|syscall.IN_MODIFY)
		if err != nil || wd != i+1 {
			f.Close()
			h.t.Fatalf("inotify on %s: %v (descriptor %d)", dir, err, wd)
		}
	}
	return f
}

// waitFor reads events until trigger happens (true) or events is closed
// or fails (false).
func waitFor(events *os.File, trigger string) bool {
	buf := make([]byte, 64<<10)
	loading := false
	for {
		n, err := events.Read(buf)
		if err != nil {
			return false
		}
		for b := buf[:n]; len(b) >= syscall.SizeofInotifyEvent; {
			wd := int32(binary.NativeEndian.Uint32(b[0:]))
			mask := binary.NativeEndian.Uint32(b[4:])
			size := int(binary.NativeEndian.Uint32(b[12:]))
			name := strings.TrimRight(string(b[syscall.SizeofInotifyEvent:syscall.SizeofInotifyEvent+size]), "\x00")
			b = b[syscall.SizeofInotifyEvent+size:]
			scratch := wd == watchScratch && strings.HasPrefix(name, "load-") && strings.HasSuffix(name, ".sst")
			switch {
			case scratch && mask&syscall.IN_CREATE != 0:
				loading = true
			case scratch && mask&syscall.IN_DELETE != 0:
				if loading && trigger == atCommit {
					return true
				}
				loading = false
			case wd == watchPebble && loading && trigger == atIngest && strings.HasSuffix(name, ".sst") && mask&(syscall.IN_CREATE|syscall.IN_MOVED_TO) != 0:
				return true
			case wd == watchPebble && trigger == atWAL && strings.HasSuffix(name, ".log") && mask&syscall.IN_MODIFY != 0:
				return true
			}
		}
	}
}

// sample records how long a run of op took; estimate is the median of the
// last five, so the delays follow the machine's load. Runs that completed
// alone would pull it down (the slow ones get killed), so runs killed near
// their end count too.
func (h *crashHarness) sample(op string, d time.Duration) {
	s := append(h.samples[op], d)
	h.samples[op] = s[max(0, len(s)-5):]
}

func (h *crashHarness) estimate(op string) time.Duration {
	s := slices.Clone(h.samples[op])
	slices.Sort(s)
	return s[len(s)/2]
}

// open opens the store in this process: the first thing after a kill.
func (h *crashHarness) open() *engine.DB {
	h.t.Helper()
	db, err := engine.Open(h.store, engine.Options{MustExist: true})
	if err != nil {
		h.fatalf("store does not open: %v", err)
	}
	return db
}

// records lists model's tensor records (all but the access counters).
func (h *crashHarness) records(db *engine.DB, model string) ([]string, []uint32) {
	h.t.Helper()
	infos, err := db.Tensors(model)
	if err != nil {
		h.fatalf("tensors of %s: %v", model, err)
	}
	recs := make([]string, len(infos))
	ids := make([]uint32, len(infos))
	for i, ti := range infos {
		recs[i] = fmt.Sprintf("%d %s %s/%s %s %s %s raw=%d stored=%d err=%g rank=%d delta=%s:%d",
			ti.ID, ti.Name, ti.Layer, ti.Param, ti.DType, ti.Shape, ti.Codec, ti.RawBytes, ti.StoredBytes, ti.RelError, ti.Rank, ti.Delta, ti.DeltaBase)
		ids[i] = ti.ID
	}
	return recs, ids
}

// readSums reads every tensor of model back through the Go API.
func (h *crashHarness) readSums(db *engine.DB, model string) []tensorSum {
	h.t.Helper()
	infos, err := db.Tensors(model)
	if err != nil {
		h.fatalf("tensors of %s: %v", model, err)
	}
	out := make([]tensorSum, len(infos))
	for i, ti := range infos {
		tt, err := db.Tensor(model, ti.Name)
		if err != nil {
			h.fatalf("reading %s:%s: %v", model, ti.Name, err)
		}
		if int64(len(tt.Data)) != ti.RawBytes {
			h.fatalf("%s:%s read %d bytes, its record says %d", model, ti.Name, len(tt.Data), ti.RawBytes)
		}
		out[i] = tensorSum{ti.Name, ti.DType, ti.Shape.String(), sha256.Sum256(tt.Data)}
	}
	return out
}

// exportSums reads every tensor of model back through `vsdb export` (the
// heavy decoding runs in a child built without the race detector).
func (h *crashHarness) exportSums(model string) []tensorSum {
	h.t.Helper()
	path := h.exportPath(model)
	h.run("export", model, path)
	return h.exportedSums(model, path)
}

func (h *crashHarness) exportPath(model string) string {
	return filepath.Join(h.exports, model+".safetensors")
}

// exportedSums reads back the export of model at path, then removes it.
func (h *crashHarness) exportedSums(model, path string) []tensorSum {
	h.t.Helper()
	defer os.Remove(path)
	f, err := safetensors.Open(path)
	if err != nil {
		h.fatalf("reading the export of %s: %v", model, err)
	}
	defer f.Close()
	entries := f.Entries()
	out := make([]tensorSum, len(entries))
	for i, e := range entries {
		r, err := f.Open(i)
		if err != nil {
			h.fatalf("reading the export of %s: %v", model, err)
		}
		sum := sha256.New()
		_, err = io.Copy(sum, r)
		r.Close()
		if err != nil {
			h.fatalf("reading the export of %s: %v", model, err)
		}
		out[i] = tensorSum{e.Name, e.DType, e.Shape.String(), [32]byte(sum.Sum(nil))}
	}
	return out
}

// compareSums reports the first difference between got and want.
func compareSums(got, want []tensorSum) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d tensors, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		switch {
		case g.name != w.name:
			return fmt.Sprintf("tensor %d is %q, want %q", i, g.name, w.name)
		case g.dtype != w.dtype || g.shape != w.shape:
			return fmt.Sprintf("%s is %s %s, want %s %s", g.name, g.dtype, g.shape, w.dtype, w.shape)
		case g.sum != w.sum:
			return fmt.Sprintf("%s reads back different bytes (sha256 %x, want %x)", g.name, g.sum[:8], w.sum[:8])
		}
	}
	return ""
}

// wantSums fails unless model read back as its recipe.
func (h *crashHarness) wantSums(model, recipe string, got []tensorSum) {
	h.t.Helper()
	if d := compareSums(got, h.refs[recipe]); d != "" {
		h.fatalf("model %q (%s): %s", model, recipe, d)
	}
}

// verifyOpen checks, on the store just opened after a kill, that it holds
// the models of h.models and no other, except for victim, the target of
// the operation just run: it must be present if the operation created it
// (absent if it deleted it) and completed, and may be either after a kill.
// When present it must list the tensors of recipe; every other model's
// records must be as first seen, and no scratch file may be left. It
// returns whether victim is present.
func (h *crashHarness) verifyOpen(db *engine.DB, victim, recipe string, created, killed bool) bool {
	h.t.Helper()
	ms, err := db.Models()
	if err != nil {
		h.fatalf("listing models: %v", err)
	}
	present := map[string]bool{}
	for _, m := range ms {
		present[m.Name] = true
	}
	for name := range h.models {
		if name != victim && !present[name] {
			h.fatalf("model %q, committed before, is gone (present: %v)", name, slices.Sorted(maps.Keys(present)))
		}
	}
	for name := range present {
		if _, ok := h.models[name]; !ok && name != victim {
			h.fatalf("model %q appeared from nowhere (expected: %v)", name, slices.Sorted(maps.Keys(h.models)))
		}
	}
	if !killed && present[victim] != created {
		h.fatalf("model %q present=%v after the operation completed (want %v)", victim, present[victim], created)
	}
	if present[victim] {
		infos, err := db.Tensors(victim)
		if err != nil {
			h.fatalf("tensors of %s: %v", victim, err)
		}
		want := h.refs[recipe]
		got := make([]tensorSum, len(infos))
		for i, ti := range infos {
			got[i] = tensorSum{name: ti.Name, dtype: ti.DType, shape: ti.Shape.String()}
			if i < len(want) {
				got[i].sum = want[i].sum // only names, types and shapes here
			}
		}
		if d := compareSums(got, want); d != "" {
			h.fatalf("model %q (%s) is there but not whole: %s", victim, recipe, d)
		}
	}
	for name, c := range h.models {
		if !present[name] {
			continue
		}
		if recs, _ := h.records(db, name); !slices.Equal(recs, c.records) {
			h.fatalf("the records of %q changed:\n%s\nwere:\n%s", name, strings.Join(recs, "\n"), strings.Join(c.records, "\n"))
		}
	}
	entries, _ := os.ReadDir(filepath.Join(h.store, "tmp"))
	if len(entries) != 0 {
		h.fatalf("%d scratch files left after the store reopened", len(entries))
	}
	return present[victim]
}

// check runs CHECK (indexes against records, every chunk and tensor
// checksum) through the command line.
func (h *crashHarness) check() {
	h.t.Helper()
	if out, _ := h.run("check"); out != "ok\n" {
		h.fatalf("vsdb check: %s", out)
	}
}

// checkAndRead runs CHECK and exports models in one shell session (one
// process instead of one per statement; any failed statement makes it
// exit 1), then compares each model's export with its recipe.
func (h *crashHarness) checkAndRead(models ...string) {
	h.t.Helper()
	script := "CHECK;\n"
	for _, m := range models {
		script += fmt.Sprintf("EXPORT %s TO '%s';\n", m, h.exportPath(m))
	}
	cmd := exec.Command(h.bin, "--db", h.store)
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "\nok\n") {
		h.fatalf("vsdb shell: %v\n%s\n%s", err, script, out)
	}
	for _, m := range models {
		h.wantSums(m, h.models[m].recipe, h.exportedSums(m, h.exportPath(m)))
	}
}

func (h *crashHarness) addModel(db *engine.DB, name, recipe string, victim bool) {
	h.t.Helper()
	recs, ids := h.records(db, name)
	h.models[name] = &committed{recipe: recipe, records: recs, ids: ids}
	if victim {
		h.victims = append(h.victims, name)
	}
}

func (h *crashHarness) dropModel(name string) {
	h.dead = append(h.dead, h.models[name].ids...)
	delete(h.models, name)
	h.victims = slices.DeleteFunc(h.victims, func(s string) bool { return s == name })
}

// scan opens the store's lower layer. Every live model's stored records,
// with their checksums, must be as when a scan first saw them, and no
// tensor id that is not live may hold a chunk, a record or a read counter:
// the ids reserved since the last scan (by operations that committed, were
// killed or were deleted since) and those of models deleted since.
func (h *crashHarness) scan() {
	h.t.Helper()
	since := fmt.Sprintf("(found by the scan after point %d: one of points %d to %d did it)", h.point, h.scanFrom, h.point)
	s, err := lsm.Open(h.store, lsm.Options{MustExist: true})
	if err != nil {
		h.fatalf("store does not open: %v", err)
	}
	defer s.Close()
	r := s.Reader()
	ms, err := r.Models()
	if err != nil {
		h.fatalf("listing models: %v", err)
	}
	for _, m := range ms {
		c := h.models[m.Name]
		if c == nil {
			h.fatalf("model %q appeared from nowhere %s", m.Name, since)
		}
		ts, err := r.Tensors(m)
		if err != nil {
			h.fatalf("records of %s: %v", m.Name, err)
		}
		stored := make([]string, len(ts))
		for i, t := range ts {
			b, _ := json.Marshal(t)
			stored[i] = string(b)
		}
		if c.stored == nil {
			c.stored = stored
		} else if !slices.Equal(stored, c.stored) {
			h.fatalf("the stored records of %q changed %s:\n%s\nwere:\n%s", m.Name, since, strings.Join(stored, "\n"), strings.Join(c.stored, "\n"))
		}
	}
	r.Close()
	// Ids are handed out in order from 0, so none was reserved at or
	// above end, and none will be below the newest live one: the ids up to
	// there are settled; those above are scanned again next time.
	end := uint32((h.starts + 1) * h.perModel)
	settled := h.scanned
	live := map[uint32]string{}
	for name, c := range h.models {
		for _, id := range c.ids {
			live[id] = name
			end = max(end, id+1)
			settled = max(settled, id+1)
		}
	}
	check := func(id uint32) {
		if name, ok := live[id]; ok {
			h.fatalf("tensor id %d is both deleted and live in %q", id, name)
		}
		keys, err := s.ChunkKeysForTest(id)
		if err != nil || len(keys) > 0 {
			h.fatalf("tensor id %d, in no model, keeps %d chunks %s (%v)", id, len(keys), since, err)
		}
		for what, key := range map[string][]byte{"record": lsm.KeyTensor(id), "read counter": lsm.KeyReads(id)} {
			if _, ok, err := s.ValueForTest(key); err != nil || ok {
				h.fatalf("tensor id %d, in no model, keeps its %s %s (%v)", id, what, since, err)
			}
		}
	}
	for id := h.scanned; id < end; id++ {
		if _, ok := live[id]; !ok {
			check(id)
		}
	}
	for _, id := range h.dead {
		check(id)
	}
	h.scanned, h.dead, h.scanFrom = settled, h.dead[:0], h.point+1
}

// reference runs every creating operation to completion, checks that it
// reads back alike through the Go API and through export (and, for exact
// codecs, as the source), keeps what it read as the operation's expected
// content (every later run must give the same) and times it.
func (h *crashHarness) reference() {
	h.t.Helper()
	for _, op := range h.ops {
		if op.recipe == "" {
			continue
		}
		h.op = op.kind
		name := "ref_" + strings.ReplaceAll(op.kind, "-", "_")
		_, took := h.run(op.args(name)...)
		h.sample(op.kind, took)
		db := h.open()
		got := h.readSums(db, name)
		_, ids := h.records(db, name)
		db.Close()
		if _, ok := h.refs[op.recipe]; !ok {
			h.refs[op.recipe] = got
		}
		h.wantSums(name, op.recipe, got)
		h.wantSums(name, op.recipe, h.exportSums(name))
		h.dead = append(h.dead, ids...)
		_, took = h.run("delete", name)
		h.sample("delete", took)
	}
}

// TestCrashPoints is the crash-consistency harness of issue 7.
func TestCrashPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it at 100 points")
	}
	seed := crashEnv(t, "VSDB_CRASH_SEED", crashDefaultSeed, 0)
	points := int(crashEnv(t, "VSDB_CRASH_POINTS", crashDefaultPoints, 1))
	dir := t.TempDir()
	h := &crashHarness{t: t, bin: buildVsdb(t), store: filepath.Join(dir, "store"), exports: t.TempDir(), seed: seed, points: points,
		refs: map[string][]tensorSum{}, models: map[string]*committed{}, samples: map[string][]time.Duration{}, point: -1, op: "setup", outcome: "not killed"}

	// The inputs do not depend on the seed: expected contents are the same
	// in every run.
	fixtures := rand.New(rand.NewPCG(7, 9))
	base := crashTensors(fixtures, nil)
	ft := crashTensors(fixtures, base)
	basePath, ftPath := filepath.Join(dir, "base.safetensors"), filepath.Join(dir, "ft.safetensors")
	writeCrashCheckpoint(t, basePath, base)
	writeCrashCheckpoint(t, ftPath, ft)
	// Exact codecs must give the source back; lossy ones what a run that
	// was not killed gave (see reference).
	h.refs["lossless"], h.refs["delta"] = sumsOf(base), sumsOf(ft)
	h.perModel = len(base)
	h.ops = []crashOp{
		{"ingest", "lossless", func(n string) []string { return []string{"ingest", basePath, "--as", n} }},
		{"ingest-q8", "q8", func(n string) []string { return []string{"ingest", ftPath, "--as", n, "--codec", "q8"} }},
		{"ingest-delta", "delta", func(n string) []string { return []string{"ingest", ftPath, "--as", n, "--base", "base"} }},
		{"fuse", "fused", func(n string) []string { return []string{"query", "FUSE base, ft WEIGHTS 0.5, 0.5 INTO " + n} }},
		{"compress", "q4", func(n string) []string { return []string{"query", "COMPRESS ft CODEC q4 INTO " + n} }},
		{"delete", "", func(n string) []string { return []string{"delete", n} }},
	}

	// base, and ft stored as deltas against it, stay for the whole run.
	h.run("ingest", basePath, "--as", "base")
	h.run("ingest", ftPath, "--as", "ft", "--base", "base")
	h.reference()
	db := h.open()
	h.addModel(db, "base", "lossless", false)
	h.addModel(db, "ft", "delta", false)
	db.Close()
	h.check()
	h.scan()
	for _, op := range h.ops {
		t.Logf("%-12s takes %v when it completes", op.kind, h.estimate(op.kind).Round(time.Millisecond))
	}

	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var order []int
	killed, completed, afterCommit, inLoad, aimed := 0, 0, 0, 0, 0
	start := time.Now()
	for i := range points {
		// A fixed number of draws per point keeps the schedule independent
		// of how earlier points ended.
		if i%len(h.ops) == 0 {
			order = rng.Perm(len(h.ops))
		}
		op := h.ops[order[i%len(h.ops)]]
		frac, pick, mode := rng.Float64()*1.2, rng.Uint64(), rng.Float64()
		h.point, h.op, h.outcome = i, op.kind, "not started"
		full := h.estimate(op.kind)
		h.delay = time.Duration(frac * float64(full))
		trigger := afterStart
		if mode < crashAimed {
			// A delete has one write to aim at, a load three; most kills
			// come at once.
			switch {
			case op.recipe == "" || mode < crashAimed/3:
				trigger = atWAL
			case mode < crashAimed*2/3:
				trigger = atIngest
			default:
				trigger = atCommit
			}
			u := frac / 1.2
			h.delay = time.Duration(u * u * float64(crashAimWindow))
			h.op += " " + trigger
		}
		if deadline, ok := t.Deadline(); ok && time.Until(deadline) < 30*time.Second {
			t.Fatalf("stopping at point %d of %d (%d killed, %d completed, 0 failures so far): the test's -timeout is near; give long runs more, e.g. -timeout 60m",
				i, points, killed, completed)
		}

		victim, recipe := strings.ReplaceAll(op.kind, "-", "_")+"_p"+strconv.Itoa(i), op.recipe
		if op.recipe == "" {
			if len(h.victims) == 0 { // something to delete
				victim = "ingest_p" + strconv.Itoa(i)
				h.run(h.ops[0].args(victim)...)
				db := h.open()
				h.addModel(db, victim, "lossless", true)
				db.Close()
			} else {
				victim = h.victims[pick%uint64(len(h.victims))]
			}
			recipe = h.models[victim].recipe
		}
		wasKilled, took := h.runKilled(h.delay, trigger, op.args(victim))
		h.outcome = "completed"
		if wasKilled {
			h.outcome = "killed"
		}
		// Runs killed near their end tell how long the operation takes too.
		nearEnd := trigger == atIngest || trigger == atCommit || (trigger == atWAL && op.recipe == "") ||
			(trigger == afterStart && h.delay >= full)
		if !wasKilled || nearEnd {
			h.sample(op.kind, took)
		}
		// A load killed between beginning and committing leaves its
		// scratch sstable behind (the next open removes it).
		scratch, _ := filepath.Glob(filepath.Join(h.store, "tmp", "load-*.sst"))

		db := h.open()
		present := h.verifyOpen(db, victim, recipe, op.recipe != "", wasKilled)
		var note string
		switch {
		case op.recipe != "" && present:
			h.addModel(db, victim, op.recipe, true)
			note = "model committed"
		case op.recipe != "":
			note = "no trace of the model"
		case !present:
			h.dropModel(victim)
			note = "model gone"
		default:
			note = "model wholly there"
		}
		// Keep the store bounded: drop the oldest models the loop made
		// (not the victim: it is read whole next).
		for len(h.victims) > crashMaxVictims {
			old := h.victims[0]
			if old == victim {
				old = h.victims[1]
			}
			if err := db.DeleteModel(old); err != nil {
				h.fatalf("deleting %s between points: %v", old, err)
			}
			h.dropModel(old)
		}
		if err := db.Close(); err != nil {
			h.fatalf("close: %v", err)
		}
		// CHECK, and every model reads back whole.
		h.checkAndRead(slices.Sorted(maps.Keys(h.models))...)
		if i%crashScanEvery == crashScanEvery-1 || i == points-1 {
			h.scan()
		}

		if wasKilled {
			killed++
			if present == (op.recipe != "") {
				afterCommit++
			}
			if len(scratch) > 0 {
				inLoad++
				note += ", killed while loading"
			}
			if trigger != afterStart {
				aimed++
			}
		} else {
			completed++
		}
		when := fmt.Sprintf("delay %6.1fms (%.2f of %3.0fms)", float64(h.delay.Microseconds())/1000, frac, float64(full.Microseconds())/1000)
		if trigger != afterStart {
			when = fmt.Sprintf("%s + %.3fms", trigger, float64(h.delay.Microseconds())/1000)
		}
		t.Logf("point %3d: %-12s %-18s %-32s %s after %3.0fms (%s)", i, op.kind, victim, when, h.outcome, float64(took.Microseconds())/1000, note)
	}

	// Last, every model reads back whole through the Go API.
	h.point, h.op, h.delay, h.outcome = points, "final read", 0, "not killed"
	db = h.open()
	for _, name := range slices.Sorted(maps.Keys(h.models)) {
		h.wantSums(name, h.models[name].recipe, h.readSums(db, name))
	}
	db.Close()
	t.Logf("crash points: %d tried, %d killed mid-operation, %d completed, 0 failures (of the kills %d were aimed at a write, %d landed while a load was being written, %d after the operation had committed; seed %d; loop %v)",
		points, killed, completed, aimed, inLoad, afterCommit, seed, time.Since(start).Round(time.Millisecond))
	if float64(killed) < crashMinKilled*float64(points) {
		t.Fatalf("only %d of %d points killed an operation mid-way (want at least %.0f%%): the harness proved little\n"+crashReplay,
			killed, points, crashMinKilled*100, seed, points)
	}
}
