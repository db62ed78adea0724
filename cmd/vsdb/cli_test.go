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

// TestVerboseLogs: -v logs each statement as a key=value line on stderr;
// without it, a successful command writes nothing there.
func TestVerboseLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildVsdb(t)
	store := filepath.Join(t.TempDir(), "store")
	if out, err := exec.Command(bin, "--db", store, "ingest", bigCheckpoint(t, t.TempDir(), 2, 64), "--as", "m").CombinedOutput(); err != nil {
		t.Fatalf("ingest: %v %s", err, out)
	}
	for _, tc := range []struct {
		flags []string
		want  []string
	}{
		{nil, nil},
		{[]string{"-v"}, []string{`level=INFO msg=statement statement="SHOW MODELS"`, "rows=1"}},
		{[]string{"-vv"}, []string{"level=DEBUG", `msg="store opened"`, `msg=statement`}},
	} {
		cmd := exec.Command(bin, append(append([]string{"--db", store}, tc.flags...), "query", "SHOW MODELS")...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v: %v %s", tc.flags, err, stderr.String())
		}
		if tc.want == nil && stderr.Len() != 0 {
			t.Errorf("quiet by default, but stderr has %q", stderr.String())
		}
		for _, w := range tc.want {
			if !bytes.Contains(stderr.Bytes(), []byte(w)) {
				t.Errorf("%v: stderr %q lacks %q", tc.flags, stderr.String(), w)
			}
		}
	}
}
