package safetensors

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWriteFileRefusesNonRegularTargets(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo") // stands for /dev/null and friends, harmlessly
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"":   "no output path given",
		dir:  "is a directory",
		fifo: "is not a regular file",
	}
	for path, want := range cases {
		err := WriteFile(path, nil, nil, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("WriteFile(%q) = %v, want %q", path, err, want)
		}
	}
	if fi, err := os.Stat(fifo); err != nil || fi.Mode().IsRegular() {
		t.Fatalf("%s was replaced", fifo)
	}
	if err := WriteFile(filepath.Join(dir, "ok.safetensors"), nil, nil, nil); err != nil {
		t.Fatalf("a new file: %v", err)
	}
}
