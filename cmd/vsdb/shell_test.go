package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptyShell is `vsdb shell` running on a pseudo-terminal, as a person
// would use it: keystrokes in, the screen's bytes out.
type ptyShell struct {
	t    *testing.T
	tty  *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	mark int // expect reads from here
	done chan error
}

func startShell(t *testing.T, bin, store string) *ptyShell {
	t.Helper()
	cmd := exec.Command(bin, "--db", store, "shell")
	cmd.Env = append(os.Environ(), "TERM=xterm", "XDG_STATE_HOME="+t.TempDir(), "NO_COLOR=1")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 60, Cols: 220})
	if err != nil {
		t.Fatal(err)
	}
	s := &ptyShell{t: t, tty: tty, cmd: cmd, done: make(chan error, 1)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		tty.Close()
	})
	return s
}

// send types keys.
func (s *ptyShell) send(keys string) {
	s.t.Helper()
	if _, err := s.tty.Write([]byte(keys)); err != nil {
		s.t.Fatalf("typing %q: %v", keys, err)
	}
}

// expect waits until the screen shows want after the last expect, and
// returns what it showed up to and including want.
func (s *ptyShell) expect(want string) string {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		seen := s.out.String()[s.mark:]
		if i := strings.Index(seen, want); i >= 0 {
			s.mark += i + len(want)
			s.mu.Unlock()
			return seen[:i+len(want)]
		}
		s.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.t.Fatalf("the shell did not show %q; it showed:\n%s", want, s.out.String()[s.mark:])
	return ""
}

// TestShellOnATerminal drives the real shell through a pseudo-terminal:
// TAB completes a model name, a statement spans lines, .timing and .mode
// json work, Ctrl-C cancels a long FUSE ... INTO and the shell stays with
// the store unchanged, and Ctrl-D, even typed during a statement, leaves
// with status 0.
func TestShellOnATerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and ingests 64 MB")
	}
	bin := buildVsdb(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	for _, m := range []struct {
		name string
		path string
	}{{"minilm", bigCheckpoint(t, t.TempDir(), 3, 64)}, {"big", bigCheckpoint(t, t.TempDir(), 16, 4<<20)}} {
		if out, err := exec.Command(bin, "--db", store, "ingest", m.path, "--as", m.name, "--codec", "raw").CombinedOutput(); err != nil {
			t.Fatalf("ingest %s: %v\n%s", m.name, err, out)
		}
	}
	sh := startShell(t, bin, store)
	sh.expect("vsdb> ")

	sh.send("SHOW TENSORS FROM mini\t")
	sh.expect("minilm")
	sh.send(";\r")
	sh.expect("(3 rows)")

	sh.send("SHOW\r")
	sh.expect("...> ")
	sh.send("MODELS;\r")
	sh.expect("(2 rows)")

	sh.send(".timing on\r")
	sh.send("SHOW MODELS;\r")
	sh.expect("time: ")
	sh.send(".timing off\r")

	sh.send(".mode json\r")
	sh.send("SHOW MODELS;\r")
	sh.expect("SHOW MODELS;")
	line := sh.expect("}]")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(line[strings.Index(line, "[{"):]), &rows); err != nil || len(rows) != 2 {
		t.Fatalf(".mode json printed %q: %v", line, err)
	}
	sh.send(".mode table\r")

	inputs := strings.TrimSuffix(strings.Repeat("big, ", 24), ", ")
	weights := strings.TrimSuffix(strings.Repeat("1, ", 24), ", ")
	sh.send("FUSE " + inputs + " WEIGHTS " + weights + " USING ties (density = 0.5) BASE big INTO merged;\r")
	sh.expect("INTO merged;\r\n")
	time.Sleep(300 * time.Millisecond)
	sh.send("\x03")
	if got := sh.expect("vsdb> "); !strings.Contains(got, "cancelled by Ctrl-C") {
		t.Fatalf("Ctrl-C did not cancel the FUSE (did it finish within 300 ms?); the shell showed:\n%s", got)
	}
	sh.send("SHOW MODELS;\r")
	if got := sh.expect("(2 rows)"); strings.Contains(got, "merged") {
		t.Errorf("the cancelled FUSE left a model:\n%s", got)
	}
	// Ctrl-D typed while a statement runs: the terminal's cooked mode
	// would take it as its own end-of-file, which used to stop readline's
	// reader and hang the shell at the next prompt; now it waits as a key,
	// and the shell ends once CHECK has printed.
	sh.send("CHECK;\r")
	sh.expect("CHECK;\r\n")
	sh.send("\x04")
	sh.expect("ok")
	start := time.Now()
	select {
	case err := <-sh.done:
		if err != nil {
			t.Errorf("Ctrl-D: the shell ended with %v", err)
		}
		t.Logf("the shell ended %v after Ctrl-D", time.Since(start).Round(time.Millisecond))
	case <-time.After(2 * time.Minute):
		// Closing the store waits for Pebble's compactions, which a
		// loaded machine slows; two minutes is a hang. SIGQUIT makes the
		// Go runtime print every goroutine, to show where.
		sh.cmd.Process.Signal(syscall.SIGQUIT)
		time.Sleep(2 * time.Second)
		sh.mu.Lock()
		defer sh.mu.Unlock()
		t.Errorf("Ctrl-D did not end the shell in 2 minutes; it showed:\n%s", sh.out.String()[sh.mark:])
	}
}
