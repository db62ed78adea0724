//go:build linux

package repl

import "golang.org/x/sys/unix"

// holdKeys keeps what is typed while a statement runs for the next prompt:
// between two Readline calls the terminal would be in its cooked mode,
// where Ctrl-D is the terminal's own end-of-file, which stops readline's
// reader for good (the shell then hangs at its next prompt). With
// canonical mode and echo off, Ctrl-D stays a key that readline reads once
// the prompt is back; signals stay on, so Ctrl-C still cancels the
// statement. It is set once, before the first Readline (which returns the
// terminal to it after each line), and returns the function that restores
// the terminal (a no-op if fd is no terminal).
func holdKeys(fd int) (restore func()) {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() {}
	}
	old := *t
	t.Lflag &^= unix.ICANON | unix.ECHO
	t.Lflag |= unix.ISIG
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if unix.IoctlSetTermios(fd, unix.TCSETS, t) != nil {
		return func() {}
	}
	return func() { unix.IoctlSetTermios(fd, unix.TCSETS, &old) }
}
