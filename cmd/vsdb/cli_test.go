package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// buildVsdb compiles the command into a temporary folder.
func buildVsdb(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "vsdb")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestReadCommandsNeedAStore: commands that only read or change a store
// refuse to create one; delete --if-exists succeeds on a missing store.
func TestReadCommandsNeedAStore(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildVsdb(t)
	store := filepath.Join(t.TempDir(), "missing")
	for _, args := range [][]string{{"query", "SHOW MODELS"}, {"export", "m", "x.safetensors"}, {"check"}, {"delete", "m"}} {
		out, err := exec.Command(bin, append([]string{"--db", store}, args...)...).CombinedOutput()
		if err == nil || !bytes.Contains(out, []byte("no store at")) {
			t.Errorf("%v on a missing store: %v %s", args, err, out)
		}
	}
	if out, err := exec.Command(bin, "--db", store, "delete", "--if-exists", "m").CombinedOutput(); err != nil {
		t.Errorf("delete --if-exists on a missing store: %v %s", err, out)
	}
	if _, err := os.Stat(store); err == nil {
		t.Error("a read command created the store")
	}
}
