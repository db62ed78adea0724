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
	"syscall"
	"testing"
	"time"

	"github.com/vsdb/vsdb/engine"
	"github.com/vsdb/vsdb/format"
	"github.com/vsdb/vsdb/format/safetensors"
	"github.com/vsdb/vsdb/tensor"
)

// bigCheckpoint writes n tensors of size bytes each (float32 noise).
func bigCheckpoint(t *testing.T, dir string, n int, size int) string {
	t.Helper()
	entries := make([]format.Entry, n)
	for i := range entries {
		entries[i] = format.Entry{Name: fmt.Sprintf("layers.%d.w", i), DType: tensor.F32, Shape: tensor.Shape{int64(size / 4)}, Size: int64(size)}
	}
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i+4 <= size; i += 4 {
		binary.LittleEndian.PutUint32(data[i:], math.Float32bits(float32(r.NormFloat64())))
	}
	path := filepath.Join(dir, "big.safetensors")
	err := safetensors.WriteFile(path, entries, nil, func(int) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKillDuringIngest kills `vsdb ingest` with SIGKILL at spread-out
// moments; after each kill the store must open, hold no trace of the killed
// model, keep the model committed before, and pass the consistency check.
func TestKillDuringIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and ingests 96 MB several times")
	}
	bin := buildVsdb(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	ckpt := bigCheckpoint(t, dir, 96, 1<<20)
	small := bigCheckpoint(t, t.TempDir(), 2, 4096)
	if out, err := exec.Command(bin, "--db", store, "ingest", small, "--as", "keep").CombinedOutput(); err != nil {
		t.Fatalf("ingest keep: %v\n%s", err, out)
	}
	full := timeIngest(t, bin, store, ckpt)
	killed := 0
	for i := 0; i < 6; i++ {
		delay := time.Duration(float64(full) * (0.1 + 0.15*float64(i)))
		cmd := exec.Command(bin, "--db", store, "ingest", ckpt, "--as", "victim")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if err != nil {
			killed++
		}
		verifyAfterKill(t, store, err == nil)
	}
	if killed == 0 {
		t.Fatalf("no ingest was killed mid-way (one takes %v); the test proved nothing", full)
	}
	t.Logf("killed %d of 6 ingests mid-way (a full ingest takes %v)", killed, full)
}

// timeIngest measures one full ingest, then deletes the model again.
func timeIngest(t *testing.T, bin, store, ckpt string) time.Duration {
	start := time.Now()
	if out, err := exec.Command(bin, "--db", store, "ingest", ckpt, "--as", "victim").CombinedOutput(); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	d := time.Since(start)
	if out, err := exec.Command(bin, "--db", store, "delete", "victim").CombinedOutput(); err != nil {
		t.Fatalf("delete: %v\n%s", err, out)
	}
	return d
}

func verifyAfterKill(t *testing.T, store string, completed bool) {
	t.Helper()
	db, err := engine.Open(store, engine.Options{})
	if err != nil {
		t.Fatalf("store does not open after a kill: %v", err)
	}
	defer db.Close()
	models, err := db.Models()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, m := range models {
		names[m.Name] = true
	}
	if !names["keep"] {
		t.Fatalf("the model committed before the kill is gone: %v", models)
	}
	if names["victim"] != completed {
		t.Fatalf("victim visible=%v but the ingest completed=%v", names["victim"], completed)
	}
	problems, err := db.Check("")
	if err != nil || len(problems) > 0 {
		t.Fatalf("check after kill: %v %v", err, problems)
	}
	if completed {
		if err := db.DeleteModel("victim"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Query(context.Background(), "SHOW MODELS"); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(store, "tmp"))
	if len(entries) != 0 {
		t.Fatalf("scratch files left after reopen: %d", len(entries))
	}
}
