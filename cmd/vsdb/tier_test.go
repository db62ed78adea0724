package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vsdb/vsdb/format"
	"github.com/vsdb/vsdb/format/safetensors"
	"github.com/vsdb/vsdb/internal/s3test"
	"github.com/vsdb/vsdb/objstore"
	"github.com/vsdb/vsdb/tensor"
)

// distinctCheckpoint writes n float32 tensors of size bytes each, every one
// different (bigCheckpoint repeats one, which the bucket would store once).
func distinctCheckpoint(t *testing.T, dir string, n, size int, seed uint64) string {
	t.Helper()
	entries := make([]format.Entry, n)
	datas := make([][]byte, n)
	r := rand.New(rand.NewPCG(seed, 7))
	for i := range entries {
		entries[i] = format.Entry{Name: fmt.Sprintf("layers.%d.w", i), DType: tensor.F32, Shape: tensor.Shape{int64(size / 4)}, Size: int64(size)}
		datas[i] = make([]byte, size)
		for j := 0; j+4 <= size; j += 4 {
			binary.LittleEndian.PutUint32(datas[i][j:], math.Float32bits(float32(r.NormFloat64())))
		}
	}
	path := filepath.Join(dir, fmt.Sprintf("distinct-%d.safetensors", seed))
	err := safetensors.WriteFile(path, entries, nil, func(i int) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(datas[i])), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// node runs the vsdb binary on one store folder sharing one bucket.
type node struct {
	t        *testing.T
	bin, dir string
	store    string
}

func (n node) cmd(args ...string) *exec.Cmd {
	return exec.Command(n.bin, append([]string{"--db", n.dir, "--store", n.store}, args...)...)
}

func (n node) run(args ...string) string {
	n.t.Helper()
	out, err := n.cmd(args...).CombinedOutput()
	if err != nil {
		n.t.Fatalf("vsdb %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// countObjects lists the bucket's objects under prefix.
func countObjects(t *testing.T, b objstore.Bucket, prefix string) int {
	t.Helper()
	n := 0
	if err := b.List(context.Background(), prefix, func(objstore.Info) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// tensorBytes reads every tensor of a checkpoint, by name.
func tensorBytes(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := format.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]byte{}
	for i, e := range f.Entries() {
		r, err := f.Open(i)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name] = b
	}
	return out
}

func sameTensors(t *testing.T, a, b string) {
	t.Helper()
	ta, tb := tensorBytes(t, a), tensorBytes(t, b)
	if len(ta) != len(tb) || len(ta) == 0 {
		t.Fatalf("%s has %d tensors, %s %d", a, len(ta), b, len(tb))
	}
	for name, v := range ta {
		if !bytes.Equal(v, tb[name]) {
			t.Fatalf("tensor %s differs between %s and %s", name, a, b)
		}
	}
}

// TestTierTwoNodes runs two vsdb processes with separate folders on one
// bucket of a real SeaweedFS S3 gateway: B attaches what A ingested (the
// real model, from VSDB_TIER_MODEL) and
// fuses it to the same bits; a second ingest of the same model adds no
// chunk object; A killed mid-ingest leaves B nothing to see and VACUUM
// removes its chunks; the object server stopped and restarted during a
// read on a third node is ridden out by the retries.
func TestTierTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an object server and builds the binary")
	}
	srv := s3test.Require(t)
	if err := srv.CreateBucket("zoo"); err != nil {
		t.Fatal(err)
	}
	url := srv.URL("zoo", "team", "lease=3s")
	cfg, err := objstore.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := objstore.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bin, dir := buildVsdb(t), t.TempDir()
	a := node{t, bin, filepath.Join(dir, "a"), url}
	b := node{t, bin, filepath.Join(dir, "b"), url}
	// The real model when scripts/test.sh names it; else a small one.
	ckpt, layers := os.Getenv("VSDB_TIER_MODEL"), "encoder.layer."
	if ckpt == "" {
		t.Log("VSDB_TIER_MODEL unset: using a synthetic checkpoint instead of the real model")
		ckpt, layers = distinctCheckpoint(t, t.TempDir(), 6, 300<<10, 1), "layers."
	}

	a.run("ingest", ckpt, "--as", "m")
	if out := b.run("query", "ATTACH MODEL m"); !strings.Contains(out, "m") {
		t.Fatalf("ATTACH printed %q", out)
	}
	fuse := fmt.Sprintf("FUSE m:%[1]s0, m:%[1]s1, m:%[1]s2 WEIGHTS 0.2, 0.3, 0.5 INTO ", layers)
	a.run("query", fuse+"fa")
	b.run("query", fuse+"fb")
	fa, fb := filepath.Join(dir, "fa.safetensors"), filepath.Join(dir, "fb.safetensors")
	a.run("export", "fa", fa)
	b.run("export", "fb", fb)
	sameTensors(t, fa, fb)
	mb := filepath.Join(dir, "m-b.safetensors")
	b.run("export", "m", mb)
	sameTensors(t, ckpt, mb)

	chunks := countObjects(t, bucket, "chunks/")
	a.run("ingest", ckpt, "--as", "m_again")
	if got := countObjects(t, bucket, "chunks/"); got != chunks {
		t.Fatalf("ingesting the same model again added %d chunk objects", got-chunks)
	}

	// Kill A in the middle of an ingest, once some of its chunks are up.
	big := distinctCheckpoint(t, t.TempDir(), 64, 1<<20, 2)
	ing := a.cmd("ingest", big, "--as", "victim")
	if err := ing.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for countObjects(t, bucket, "chunks/") < chunks+10 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	ing.Process.Signal(syscall.SIGKILL)
	if err := ing.Wait(); err == nil {
		t.Fatal("the ingest finished before it could be killed; the test proved nothing")
	}
	garbage := countObjects(t, bucket, "chunks/") - chunks
	if out := b.run("query", "ATTACH ALL"); strings.Contains(out, "victim") {
		t.Fatalf("B attached a model whose ingest was killed:\n%s", out)
	}
	if out := b.run("query", "SHOW MODELS"); strings.Contains(out, "victim") || !strings.Contains(out, "m_again") {
		t.Fatalf("B's models after ATTACH ALL:\n%s", out)
	}
	if n := countObjects(t, bucket, "models/victim"); n != 0 {
		t.Fatal("a killed ingest left a manifest")
	}
	time.Sleep(3500 * time.Millisecond) // the killed ingest's lease expires
	out := b.run("query", "--json", "VACUUM")
	if got := countObjects(t, bucket, "chunks/"); got != chunks {
		t.Fatalf("after VACUUM %d chunk objects, want %d (the killed ingest left %d)\n%s", got, chunks, garbage, out)
	}
	a.run("check") // A's local store: no trace of the killed ingest

	// A third node reads m cold while the object server restarts.
	c := node{t, bin, filepath.Join(dir, "c"), url}
	c.run("query", "ATTACH MODEL m")
	srv.Stop()
	mc := filepath.Join(dir, "m-c.safetensors")
	exp := c.cmd("export", "m", mc)
	var expOut bytes.Buffer
	exp.Stdout, exp.Stderr = &expOut, &expOut
	if err := exp.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if err := exp.Wait(); err != nil {
		t.Fatalf("export across an object server restart: %v\n%s", err, expOut.String())
	}
	sameTensors(t, ckpt, mc)
	b.run("check")
}
