package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/vsdb/vsdb/lsm"
	"github.com/vsdb/vsdb/tensor"
)

// The fault tests run each faulty operation in a child process (this test
// binary again, running TestFaultChild) because Pebble treats a failed
// write to its log as fatal and ends the process (exit status 70): the
// parent then checks what a user would see, and that the store still
// opens with everything committed before.

const faultChildEnv = "VSDB_FAULT_CHILD"

// faultPlan is what the parent asks the child to do.
type faultPlan struct {
	Store, Ckpt string
	Op          string // ingest, fuse, compress, delete, read
	Kind        string // enospc (writes fail), eio-write, eio-read
	After       int64  // operations of that kind that succeed first; -1: never fail
}

func (p faultPlan) env() []string {
	return append(os.Environ(), faultChildEnv+"=1",
		"VSDB_FAULT_STORE="+p.Store, "VSDB_FAULT_CKPT="+p.Ckpt, "VSDB_FAULT_OP="+p.Op,
		"VSDB_FAULT_KIND="+p.Kind, "VSDB_FAULT_AFTER="+strconv.FormatInt(p.After, 10))
}

// faultFS wraps the operating system's filesystem: once armed, the
// operations of the plan's kind after the first After fail, and keep
// failing (a disk that is full stays full). Count says how many such
// operations were seen.
type faultFS struct {
	kind  string
	after int64
	armed atomic.Bool
	count atomic.Int64
}

func (f *faultFS) MaybeError(op errorfs.Op) error {
	if !f.armed.Load() || !f.matches(op.Kind) {
		return nil
	}
	if n := f.count.Add(1); f.after < 0 || n <= f.after {
		return nil
	}
	errno := syscall.ENOSPC
	if strings.HasPrefix(f.kind, "eio") {
		errno = syscall.EIO
	}
	return &os.PathError{Op: "injected " + opName(op.Kind), Path: op.Path, Err: errno}
}

func (f *faultFS) String() string { return "vsdb fault injector" }

func (f *faultFS) matches(k errorfs.OpKind) bool {
	switch f.kind {
	case "eio-read":
		return k == errorfs.OpFileRead || k == errorfs.OpFileReadAt
	default: // enospc, eio-write: whatever puts bytes on the disk
		switch k {
		case errorfs.OpCreate, errorfs.OpFileWrite, errorfs.OpFileWriteAt, errorfs.OpFilePreallocate,
			errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
			return true
		}
	}
	return false
}

func opName(k errorfs.OpKind) string {
	switch k {
	case errorfs.OpCreate:
		return "create"
	case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
		return "sync"
	case errorfs.OpFileRead, errorfs.OpFileReadAt:
		return "read"
	}
	return "write"
}

// TestFaultChild is the child's side; it does nothing in a normal run.
func TestFaultChild(t *testing.T) {
	if os.Getenv(faultChildEnv) == "" {
		t.Skip("run by the fault tests in a child process")
	}
	after, _ := strconv.ParseInt(os.Getenv("VSDB_FAULT_AFTER"), 10, 64)
	p := faultPlan{Store: os.Getenv("VSDB_FAULT_STORE"), Ckpt: os.Getenv("VSDB_FAULT_CKPT"),
		Op: os.Getenv("VSDB_FAULT_OP"), Kind: os.Getenv("VSDB_FAULT_KIND"), After: after}
	os.Exit(runFaultChild(p))
}

// runFaultChild runs one operation against a faulty filesystem. Exit
// status: 0 done, 1 refused with an error (printed on stderr), 3 a read
// returned wrong data, 4 the store did not open; Pebble's fatal errors exit
// with 70. It prints the number of faultable operations seen on stdout.
func runFaultChild(p faultPlan) int {
	ffs := &faultFS{kind: p.Kind, after: p.After}
	db, err := Open(p.Store, Options{ChunkBytes: 16 << 10, Storage: lsm.Options{FS: errorfs.Wrap(vfs.Default, ffs)}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 4
	}
	ffs.armed.Store(true)
	ctx := context.Background()
	switch p.Op {
	case "ingest":
		_, err = db.Ingest(ctx, p.Ckpt, IngestOptions{Name: "victim"})
	case "fuse":
		_, err = db.Query(ctx, "FUSE keep, keep2 WEIGHTS 0.25, 0.75 INTO victim")
	case "compress":
		_, err = db.Query(ctx, "COMPRESS keep CODEC q8 INTO victim")
	case "delete":
		err = db.DeleteModel("keep2")
	case "read":
		err = readEveryTensor(db)
		if errors.Is(err, errWrongData) {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	fmt.Println(ffs.count.Load())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

var errWrongData = errors.New("vsdb test: a read returned wrong data")

// readEveryTensor reads both kept models, comparing with the checkpoint's
// values: an error is fine (it must name model and tensor), wrong data is
// not.
func readEveryTensor(db *DB) error {
	var first error
	for _, m := range []string{"keep", "keep2"} {
		for i, x := range faultModel(m == "keep2") {
			got, err := db.Tensor(m, x.name)
			if err != nil {
				if !strings.Contains(err.Error(), x.name) || !strings.Contains(err.Error(), m) {
					return fmt.Errorf("%w: error %q does not name model %s and tensor %s", errWrongData, err, m, x.name)
				}
				if first == nil {
					first = err
				}
				continue
			}
			want := make([]byte, len(x.vals)*4)
			tensor.FromFloat32(tensor.F32, x.vals, want)
			if !bytes.Equal(got.Data, want) {
				return fmt.Errorf("%w: %s tensor %d", errWrongData, m, i)
			}
		}
	}
	return first
}

// faultModel is a checkpoint of 6 tensors of 64 KiB (4 chunks each).
func faultModel(second bool) []testTensor {
	scale := float32(1)
	if second {
		scale = 2
	}
	var ts []testTensor
	for i := range 6 {
		ts = append(ts, testTensor{fmt.Sprintf("layers.%d.weight", i), tensor.F32, tensor.Shape{128, 128}, seq(128*128, scale+float32(i))})
	}
	return ts
}

// TestDiskFullAndIOErrors runs ingest, FUSE INTO, COMPRESS and DELETE with
// writes failing (disk full, I/O error) after a growing number of
// successful ones, and reads with failing reads. Each attempt must end in
// success or a one-line error that names the cause; afterwards the store
// must open, pass CHECK, keep both models committed before intact, and
// hold the attempted model wholly or not at all.
func TestDiskFullAndIOErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	if os.Getenv(faultChildEnv) != "" {
		t.Skip("child")
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	keepCkpt := writeCheckpoint(t, t.TempDir(), faultModel(false))
	keep2Ckpt := writeCheckpoint(t, t.TempDir(), faultModel(true))
	setup := func() {
		db, err := Open(store, Options{ChunkBytes: 16 << 10})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for name, ckpt := range map[string]string{"keep": keepCkpt, "keep2": keep2Ckpt} {
			if _, ok := modelExists(db, name); !ok {
				if _, err := db.Ingest(context.Background(), ckpt, IngestOptions{Name: name}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	setup()
	tried, failed, fatal := 0, 0, 0
	shown := map[string]bool{}
	for _, op := range []string{"ingest", "fuse", "compress", "delete", "read"} {
		kinds := []string{"enospc", "eio-write"}
		if op == "read" {
			kinds = []string{"eio-read"}
		}
		for _, kind := range kinds {
			plan := faultPlan{Store: store, Ckpt: keepCkpt, Op: op, Kind: kind, After: -1}
			total := runChild(t, plan).count // a fault-free run counts the operations
			verifyAfterFault(t, store, plan, 0)
			setup()
			for _, after := range faultPoints(total) {
				plan.After = after
				res := runChild(t, plan)
				tried++
				switch res.code {
				case 0:
				case 1, 70:
					failed++
					if res.code == 70 {
						fatal++
					}
					checkFaultMessage(t, plan, res)
					if !shown[op+kind] {
						shown[op+kind] = true
						t.Logf("%s, %s after %d of %d operations: exit %d: %s", op, kind, after, total, res.code, res.stderr)
					}
				default:
					t.Fatalf("%s with %s after %d of %d operations: exit %d: %s", op, kind, after, total, res.code, res.stderr)
				}
				verifyAfterFault(t, store, plan, res.code)
				setup()
			}
		}
	}
	t.Logf("faults: %d attempts (disk full and I/O errors during ingest, FUSE INTO, COMPRESS, DELETE, reads); %d failed with a clear error (%d of them Pebble's fatal exit 70), the rest completed; the store opened and passed CHECK after every one", tried, failed, fatal)
	if failed < tried/2 {
		t.Fatalf("only %d of %d attempts met an injected fault; the test proves little", failed, tried)
	}
}

// faultPoints spreads up to 8 injection points over [0, total).
func faultPoints(total int64) []int64 {
	var pts []int64
	for i := range int64(8) {
		p := total * i / 8
		if len(pts) == 0 || p != pts[len(pts)-1] {
			pts = append(pts, p)
		}
	}
	return pts
}

type childResult struct {
	code   int
	count  int64
	stderr string
}

func runChild(t *testing.T, p faultPlan) childResult {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFaultChild$", "-test.count=1")
	cmd.Env = p.env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := childResult{stderr: strings.TrimSpace(stderr.String())}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	if f := strings.Fields(stdout.String()); len(f) > 0 {
		res.count, _ = strconv.ParseInt(f[0], 10, 64)
	}
	if p.After < 0 && res.code != 0 {
		t.Fatalf("%s without faults: exit %d: %s", p.Op, res.code, res.stderr)
	}
	return res
}

// checkFaultMessage: the error is one line starting "vsdb:" that names
// the cause.
func checkFaultMessage(t *testing.T, p faultPlan, res childResult) {
	t.Helper()
	cause := syscall.ENOSPC.Error()
	if strings.HasPrefix(p.Kind, "eio") {
		cause = syscall.EIO.Error()
	}
	lines := strings.Split(res.stderr, "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "vsdb: ") || !strings.Contains(last, cause) {
		t.Errorf("%s with %s after %d: exit %d, message %q: want one line starting vsdb: naming %q", p.Op, p.Kind, p.After, res.code, res.stderr, cause)
	}
	if res.code == 70 && !strings.Contains(last, "what was committed before is kept") {
		t.Errorf("%s with %s: fatal message %q does not say the store is intact", p.Op, p.Kind, last)
	}
}

// verifyAfterFault opens the store without faults: it opens, CHECK finds
// nothing, keep is intact, keep2 is intact unless a DELETE completed, and
// victim is whole (equal to a fault-free result) or absent. It then
// removes victim, so that the next attempt starts from the same state.
func verifyAfterFault(t *testing.T, store string, p faultPlan, code int) {
	t.Helper()
	db, err := Open(store, Options{ChunkBytes: 16 << 10, MustExist: true})
	if err != nil {
		t.Fatalf("%s with %s after %d: the store does not open: %v", p.Op, p.Kind, p.After, err)
	}
	defer db.Close()
	where := fmt.Sprintf("%s with %s after %d (exit %d)", p.Op, p.Kind, p.After, code)
	if problems, err := db.Check(""); err != nil || len(problems) > 0 {
		t.Fatalf("%s: check: %v %v", where, err, problems)
	}
	if err := readEveryTensorIfPresent(db); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	if _, ok := modelExists(db, "keep2"); !ok && p.Op != "delete" {
		t.Fatalf("%s: keep2, committed before, is gone", where)
	}
	if _, ok := modelExists(db, "victim"); ok {
		if code != 0 && p.Op == "ingest" {
			// A fatal error after the commit is possible; the model must
			// then be whole, which the reads below check.
			t.Logf("%s: victim committed before the failure", where)
		}
		ts, err := db.Tensors("victim")
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		for _, ti := range ts {
			if _, err := db.Tensor("victim", ti.Name); err != nil {
				t.Fatalf("%s: victim is visible but tensor %s does not read: %v", where, ti.Name, err)
			}
		}
		if len(ts) != 6 {
			t.Fatalf("%s: victim is visible with %d of 6 tensors", where, len(ts))
		}
		if err := db.DeleteModel("victim"); err != nil {
			t.Fatal(err)
		}
	}
}

// readEveryTensorIfPresent checks keep, and keep2 when it exists, bit for
// bit.
func readEveryTensorIfPresent(db *DB) error {
	for _, m := range []string{"keep", "keep2"} {
		if _, ok := modelExists(db, m); !ok {
			if m == "keep" {
				return errors.New("keep, committed before, is gone")
			}
			continue
		}
		for _, x := range faultModel(m == "keep2") {
			got, err := db.Tensor(m, x.name)
			if err != nil {
				return err
			}
			want := make([]byte, len(x.vals)*4)
			tensor.FromFloat32(tensor.F32, x.vals, want)
			if !bytes.Equal(got.Data, want) {
				return fmt.Errorf("%s tensor %s differs from what was committed", m, x.name)
			}
		}
	}
	return nil
}

// modelExists reports whether the store lists model name.
func modelExists(db *DB, name string) (ModelInfo, bool) {
	models, err := db.Models()
	if err != nil {
		return ModelInfo{}, false
	}
	for _, m := range models {
		if m.Name == name {
			return m, true
		}
	}
	return ModelInfo{}, false
}
