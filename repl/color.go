package repl

import (
	"io"
	"os"

	"github.com/vsdb/vsdb/internal/progress"
)

// ANSI styles the shell and the command line use for errors.
const (
	styleError = "\x1b[1;31m" // bold red: the error line and the caret
	styleHint  = "\x1b[2m"    // dim: usage lines
	styleReset = "\x1b[0m"
)

// colorful reports whether w is a terminal that should get colour: never
// with NO_COLOR set (https://no-color.org) or TERM=dumb, never into a
// file or pipe.
func colorful(w io.Writer) bool {
	return os.Getenv("NO_COLOR") == "" && progress.IsTerminal(w)
}

// paint wraps s in style when on is set.
func paint(on bool, style, s string) string {
	if !on {
		return s
	}
	return style + s + styleReset
}
