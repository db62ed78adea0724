package lsm

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/vsdb/vsdb/codec"
)

// Corruption of Pebble's own files. A checksum failure in an sstable block
// is a DataCorruption event, which Pebble reports through the logger's
// Fatalf: vsdb then exits with status 70 (lsm/options.go). So every
// scenario runs the reads in a child process (this test binary, running
// TestStoreReaderChild) and the parent looks at what came out.

const (
	sstChildEnv   = "VSDB_SST_CHILD_DIR"
	sstChunkBytes = 4 << 10
)

var (
	sstModels  = []string{"a", "b"}
	sstTensors = []string{"layers.0.w", "layers.1.w", "layers.2.w"}
)

// sstTensorData is the raw content of a tensor of the test store: 40 KiB
// of random bytes (10 chunks), different for every tensor.
func sstTensorData(model string, i int) []byte {
	r := rand.New(rand.NewPCG(uint64(model[0]), uint64(i)))
	b := make([]byte, 40<<10)
	for k := range b {
		b[k] = byte(r.Uint32())
	}
	return b
}

// writeSSTStore writes the test store into dir: the chunks go into
// ingested sstables, the records into the WAL, and with flush into an
// sstable too.
func writeSSTStore(t *testing.T, dir string, flush bool) {
	t.Helper()
	s, err := Open(dir, Options{ChunkBytes: sstChunkBytes})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, m := range sstModels {
		l, err := s.BeginLoad(m, len(sstTensors))
		if err != nil {
			t.Fatal(err)
		}
		for i, name := range sstTensors {
			raw := sstTensorData(m, i)
			id, _ := l.NewTensor()
			rec := TensorRecord{ID: id, Name: name, Layer: name[:8], Param: "w", DType: "F32", Shape: []int64{int64(len(raw) / 4)},
				Codec: "raw", RawBytes: int64(len(raw)), Stored: int64(len(raw)), ChunkBytes: sstChunkBytes, RawCRC: codec.Checksum(raw)}
			for k := 0; k*sstChunkBytes < len(raw); k++ {
				chunk := raw[k*sstChunkBytes : min(len(raw), (k+1)*sstChunkBytes)]
				if err := l.PutChunk(id, k, chunk); err != nil {
					t.Fatal(err)
				}
				rec.ChunkCRCs = append(rec.ChunkCRCs, codec.Checksum(chunk))
			}
			l.AddTensor(rec)
		}
		if err := l.Commit(context.Background(), ModelRecord{}); err != nil {
			t.Fatal(err)
		}
	}
	if flush {
		if err := s.db.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	checkClean(t, s)
}

// TestStoreReaderChild is the child process of TestCorruptPebbleFiles (it
// does nothing otherwise): it opens the store in $VSDB_SST_CHILD_DIR,
// reads every tensor of the test store and runs CHECK, printing one line
// per outcome:
//
//	open-error: ERR | models-error: ERR | missing: MODEL | check: PROBLEM
//	ok: MODEL:TENSOR | read-error: MODEL:TENSOR: ERR | WRONG: MODEL:TENSOR
//	done
func TestStoreReaderChild(t *testing.T) {
	dir := os.Getenv(sstChildEnv)
	if dir == "" {
		t.Skip("the child process of TestCorruptPebbleFiles")
	}
	s, err := Open(dir, Options{MustExist: true})
	if err != nil {
		fmt.Printf("open-error: %v\n", oneLine(err))
		fmt.Println("done")
		return
	}
	defer s.Close()
	r := s.Reader()
	defer r.Close()
	if _, err := r.Models(); err != nil {
		fmt.Printf("models-error: %v\n", oneLine(err))
	}
	for _, m := range sstModels {
		rec, found, err := r.Model(m)
		switch {
		case err != nil:
			fmt.Printf("models-error: %v\n", oneLine(err))
			continue
		case !found:
			fmt.Printf("missing: %s\n", m)
			continue
		}
		ts, err := r.Tensors(rec)
		if err != nil {
			for _, name := range sstTensors {
				fmt.Printf("read-error: %s:%s: %v\n", m, name, oneLine(err))
			}
			continue
		}
		for i, name := range sstTensors {
			fmt.Println(readSSTTensor(r, m, i, name, ts))
		}
	}
	if n := orphanChunks(r); n > 0 {
		fmt.Printf("orphan-chunks: %d\n", n)
	}
	ps, err := r.Check("")
	for _, p := range ps {
		fmt.Printf("check: %s\n", p)
	}
	if err != nil {
		fmt.Printf("check: %v\n", oneLine(err))
	}
	fmt.Println("done")
}

// orphanChunks counts chunks whose tensor has no record (-1 if the scan
// fails): what a lost commit leaves behind, which CHECK does not look for.
func orphanChunks(r *Reader) int {
	n := 0
	err := r.scan([]byte{prefixChunk}, func(k, _ []byte) error {
		if len(k) == 9 {
			if _, ok, err := r.get(KeyTensor(binary.BigEndian.Uint32(k[1:5]))); err == nil && !ok {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return -1
	}
	return n
}

func readSSTTensor(r *Reader, m string, i int, name string, ts []TensorRecord) string {
	ref := m + ":" + name
	var rec *TensorRecord
	for k := range ts {
		if ts[k].Name == name {
			rec = &ts[k]
		}
	}
	if rec == nil {
		return fmt.Sprintf("read-error: %s: no record", ref)
	}
	raw := make([]byte, rec.RawBytes)
	for k := 0; k < rec.Chunks(); k++ {
		lo := int64(k) * rec.ChunkBytes
		if err := r.DecodeTensorChunk(rec, k, raw[lo:lo+rec.ChunkRaw(k)]); err != nil {
			return fmt.Sprintf("read-error: %s: %v", ref, oneLine(err))
		}
	}
	if !bytes.Equal(raw, sstTensorData(m, i)) {
		return fmt.Sprintf("WRONG: %s", ref)
	}
	return fmt.Sprintf("ok: %s", ref)
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " | ") }

// childResult is what a child process did.
type childResult struct {
	status         int
	stdout, stderr string
	lines          map[string][]string // by outcome ("ok", "read-error", ...)
}

func runStoreReader(t *testing.T, dir string) childResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestStoreReaderChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), sstChildEnv+"="+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := childResult{stdout: stdout.String(), stderr: stderr.String(), lines: map[string][]string{}}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.status = exit.ExitCode()
	case err != nil:
		t.Fatalf("child process: %v", err)
	}
	for _, line := range strings.Split(res.stdout, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			res.lines[k] = append(res.lines[k], v)
		} else if line == "done" {
			res.lines["done"] = append(res.lines["done"], "")
		}
	}
	return res
}

// summary is one line saying what the child did.
func (c childResult) summary() string {
	var keys []string
	for k := range c.lines {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		switch k {
		case "done":
		case "orphan-chunks":
			parts = append(parts, c.lines[k][0]+" "+k)
		default:
			parts = append(parts, fmt.Sprintf("%d %s", len(c.lines[k]), k))
		}
	}
	s := fmt.Sprintf("exit %d; %s", c.status, strings.Join(parts, ", "))
	if c.stderr != "" {
		s += "; stderr: " + strings.TrimSpace(c.stderr)
	}
	return s
}

// storageFailure is the one line vsdb prints when Pebble gives up.
var storageFailure = regexp.MustCompile(`^vsdb: storage failure: .+ \(the store's files are damaged: restore them from a copy\)\n$`)

// A flip is a byte of a Pebble file to corrupt: which file (a pattern
// under DIR/pebble), where, and what the scenario is.
type pebbleFlip struct {
	name  string
	flush bool // the records are flushed to an sstable (else only in the WAL)
	file  string
	// where picks the offset to flip in the file's bytes.
	where func(t *testing.T, path string, size int64) int64
}

// TestCorruptPebbleFiles flips single bytes of a closed store's files
// (data, index and footer bytes of sstables, the WAL, the MANIFEST),
// reopens it in a child process and reads everything. Whatever Pebble
// does, no read may return other bytes than were written: a read fails
// naming its tensor, or the process stops with vsdb's one-line storage
// failure (status 70), or the store refuses to open. Flips in sstable
// blocks must be detected.
//
// Known gap, logged as SILENT LOSS rather than failed: Pebble takes an
// invalid record in the last WAL (or in the MANIFEST) for a torn write and
// drops it and everything after it. Model commits live only in the WAL
// until a memtable flush, so a flipped WAL byte makes committed models
// vanish from a store that then opens cleanly and passes CHECK (their
// chunks stay behind, unreachable). With the records flushed to an
// sstable, the same flip loses nothing.
func TestCorruptPebbleFiles(t *testing.T) {
	if os.Getenv(sstChildEnv) != "" {
		t.Skip("in the child process")
	}
	pristine := map[bool]string{}
	for _, flush := range []bool{false, true} {
		pristine[flush] = filepath.Join(t.TempDir(), "store")
		writeSSTStore(t, pristine[flush], flush)
	}
	// The store as written reads back whole in a child process.
	if c := runStoreReader(t, pristine[true]); c.status != 0 || len(c.lines["ok"]) != len(sstModels)*len(sstTensors) || len(c.lines["done"]) != 1 {
		t.Fatalf("intact store: %s\n%s", c.summary(), c.stdout)
	}
	dataBlock := func(which string, at func(off, n int64) int64) func(*testing.T, string, int64) int64 {
		return func(t *testing.T, path string, _ int64) int64 {
			l := sstLayout(t, path)
			if len(l.Data) == 0 {
				t.Fatalf("%s has no data blocks", path)
			}
			var h = l.Data[0].Handle
			switch which {
			case "middle":
				h = l.Data[len(l.Data)/2].Handle
			case "last":
				h = l.Data[len(l.Data)-1].Handle
			}
			return at(int64(h.Offset), int64(h.Length))
		}
	}
	first := func(off, _ int64) int64 { return off }
	middle := func(off, n int64) int64 { return off + n/2 }
	last := func(off, n int64) int64 { return off + n - 1 }
	scenarios := []pebbleFlip{
		{"chunk sstable, first byte of its first data block", false, "chunks", dataBlock("first", first)},
		{"chunk sstable, middle of a middle data block", false, "chunks", dataBlock("middle", middle)},
		{"chunk sstable, last byte of its last data block", false, "chunks", dataBlock("last", last)},
		{"chunk sstable, index block", false, "chunks", func(t *testing.T, path string, _ int64) int64 {
			l := sstLayout(t, path)
			h := l.Index[0]
			return int64(h.Offset + h.Length/2)
		}},
		{"chunk sstable, last byte (footer magic)", false, "chunks", func(_ *testing.T, _ string, size int64) int64 { return size - 1 }},
		{"records sstable, a data block", true, "records", dataBlock("middle", middle)},
		{"WAL, byte 20", false, "wal", func(_ *testing.T, _ string, size int64) int64 { return 20 }},
		{"WAL, middle", false, "wal", func(_ *testing.T, _ string, size int64) int64 { return size / 2 }},
		{"WAL, byte 20, records flushed to an sstable", true, "wal", func(_ *testing.T, _ string, size int64) int64 { return min(20, size-1) }},
		{"WAL, last byte", false, "wal", func(_ *testing.T, _ string, size int64) int64 { return size - 1 }},
		{"MANIFEST, byte 20", false, "manifest", func(_ *testing.T, _ string, size int64) int64 { return 20 }},
		{"MANIFEST, middle", false, "manifest", func(_ *testing.T, _ string, size int64) int64 { return size / 2 }},
		{"MANIFEST, last byte", false, "manifest", func(_ *testing.T, _ string, size int64) int64 { return size - 1 }},
	}
	for _, sc := range scenarios {
		t.Run(strings.ReplaceAll(sc.name, " ", "_"), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			copyTree(t, pristine[sc.flush], dir)
			path := pebbleFile(t, filepath.Join(dir, "pebble"), sc.file)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			off := sc.where(t, path, fi.Size())
			flipFileByte(t, path, off)
			c := runStoreReader(t, dir)
			t.Logf("%s (%s, byte %d of %d): %s", sc.name, filepath.Base(path), off, fi.Size(), c.summary())
			for _, e := range c.lines["read-error"] {
				t.Logf("  read-error: %s", e)
			}
			for _, e := range append(c.lines["open-error"], c.lines["models-error"]...) {
				t.Logf("  error: %s", e)
			}
			lost := len(c.lines["missing"]) > 0 && len(c.lines["open-error"]) == 0 && len(c.lines["read-error"]) == 0 && len(c.lines["check"]) == 0
			if lost {
				// Pebble tolerates an invalid record at the end of the WAL or
				// the MANIFEST as a torn write and drops what follows.
				t.Logf("  SILENT LOSS: models %v are gone, the store opens and CHECK finds nothing", c.lines["missing"])
			}
			switch {
			case len(c.lines["WRONG"]) > 0:
				t.Errorf("reads returned wrong data: %v", c.lines["WRONG"])
			case c.status == 70:
				if !storageFailure.MatchString(c.stderr) {
					t.Errorf("status 70 without the one-line storage failure message:\n%s", c.stderr)
				}
			case c.status != 0 || len(c.lines["done"]) != 1:
				t.Errorf("child failed: %s\n%s", c.summary(), c.stdout)
			case sc.file == "chunks" || sc.file == "records":
				// A checksummed sstable block: the damage must show.
				if len(c.lines["ok"]) == len(sstModels)*len(sstTensors) && len(c.lines["check"]) == 0 {
					t.Errorf("a corrupt byte of the %s sstable went unnoticed", sc.file)
				}
			}
		})
	}
}

// sstLayout reads the block layout of an sstable.
func sstLayout(t *testing.T, path string) *sstable.Layout {
	t.Helper()
	f, err := vfs.Default.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	readable, err := sstable.NewSimpleReadable(f)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{}.withDefaults().pebbleOptions()
	r, err := sstable.NewReader(context.Background(), readable, o.MakeReaderOptions())
	if err != nil {
		readable.Close()
		t.Fatal(err)
	}
	defer r.Close()
	l, err := r.Layout()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// pebbleFile finds the file of a kind in a Pebble folder: "chunks" (the
// largest sstable: an ingested one), "records" (the sstable holding
// tensor records), "wal" (the newest .log) or "manifest".
func pebbleFile(t *testing.T, dir, kind string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var best string
	var bestSize int64 = -1
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		var ok bool
		switch kind {
		case "chunks":
			ok = strings.HasSuffix(e.Name(), ".sst") && fi.Size() > bestSize
		case "records":
			b, _ := os.ReadFile(p)
			ok = strings.HasSuffix(e.Name(), ".sst") && bytes.Contains(b, []byte(`"chunk_crcs"`))
		case "wal":
			ok = strings.HasSuffix(e.Name(), ".log") && fi.Size() > 0 && e.Name() > filepath.Base(best)
		case "manifest":
			ok = strings.HasPrefix(e.Name(), "MANIFEST-") && e.Name() > filepath.Base(best)
		}
		if ok {
			best, bestSize = p, fi.Size()
		}
	}
	if best == "" {
		t.Fatalf("no %s file in %s", kind, dir)
	}
	return best
}

func flipFileByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies the folder src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}
