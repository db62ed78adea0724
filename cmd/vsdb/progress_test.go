package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/creack/pty"
)

// readTerminal reads what a command wrote to the terminal ptmx until the
// command has exited and closed it (Linux then reads EIO).
func readTerminal(t *testing.T, ptmx *os.File) string {
	t.Helper()
	out, err := io.ReadAll(ptmx)
	if err != nil && !errors.Is(err, syscall.EIO) {
		t.Fatalf("reading the terminal: %v", err)
	}
	return string(out)
}

// TestProgressBarOnTerminal runs `vsdb ingest` of 2 MiB with no delay for
// the bar: with stderr on a pseudo-terminal the bar shows the bytes done
// out of 2.1 MB and is cleared before the result line; with stderr piped
// (stdout still on the terminal) neither stream gets any bar.
func TestProgressBarOnTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildVsdb(t)
	dir := t.TempDir()
	ckpt := bigCheckpoint(t, dir, 8, 256<<10)
	env := append(os.Environ(), "VSDB_PROGRESS_DELAY=0s", "TERM=xterm")
	ingest := func(store string) *exec.Cmd {
		cmd := exec.Command(bin, "--db", filepath.Join(dir, store), "ingest", ckpt, "--as", "m")
		cmd.Env = env
		return cmd
	}

	cmd := ingest("tty")
	ptmx, err := pty.Start(cmd)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	out := readTerminal(t, ptmx)
	ptmx.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ingest on a terminal: %v\n%q", err, out)
	}
	if !regexp.MustCompile(`ingest +\d+% \|[^|]*\| \([0-9. ]+[kM]?B/2\.1 MB`).MatchString(out) {
		t.Fatalf("no progress bar on the terminal: %q", out)
	}
	i := strings.Index(out, "ingested m: 8 tensors")
	if i < 0 || !strings.HasSuffix(out[:i], "\x1b[2K\r") {
		t.Fatalf("the result line does not follow a cleared bar: %q", out)
	}

	cmd = ingest("pipe")
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	out = readTerminal(t, ptmx)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ingest with stderr piped: %v\n%s", err, stderr.Bytes())
	}
	if stderr.Len() != 0 || strings.Contains(out, "%") || !strings.HasPrefix(out, "ingested m: 8 tensors") {
		t.Fatalf("with stderr piped: stderr %q, terminal %q", stderr.Bytes(), out)
	}
}
