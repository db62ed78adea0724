package repl

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// Errors are red on a terminal, plain with NO_COLOR, TERM=dumb or into a
// pipe or buffer.
func TestErrorColour(t *testing.T) {
	master, tty, err := pty.Open()
	if err != nil {
		t.Skip("no pseudo-terminal here:", err)
	}
	defer master.Close()
	defer tty.Close()
	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "xterm")
	if !colorful(tty) {
		t.Error("a terminal gets no colour")
	}
	var buf bytes.Buffer
	if colorful(&buf) {
		t.Error("a buffer gets colour")
	}
	PrintError(&buf, errors.New("vsdb: plain"))
	if strings.Contains(buf.String(), "\x1b[") {
		t.Errorf("escape codes into a buffer: %q", buf.String())
	}
	go io.Copy(io.Discard, master)
	for _, env := range [][2]string{{"NO_COLOR", "1"}, {"TERM", "dumb"}} {
		t.Run(env[0], func(t *testing.T) {
			t.Setenv(env[0], env[1])
			if colorful(tty) {
				t.Errorf("%s=%s: colour on a terminal", env[0], env[1])
			}
		})
	}
}
