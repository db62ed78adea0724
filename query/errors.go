package query

import (
	"fmt"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// Error is a syntax or semantic error in a query. Parse returns only
// errors of this type.
type Error struct {
	// Line is the 1-based line of the offending token.
	Line int
	// Column is the 1-based column of the offending token, counted in
	// characters (runes), with a tab counting as one.
	Column int
	// Offset is the 0-based byte offset of the offending token.
	Offset int
	// Msg describes the problem, without position or prefix. It is a
	// single line.
	Msg string
	// SourceLine is the source line holding the offending token, without
	// its line terminator.
	SourceLine string
	// File, when set, names the file the statement came from (a script
	// run by the shell); Line then counts from the file's start.
	File string
	// Usage holds the syntax of the statement the error is in (its forms,
	// from Statements), for a hint under the caret; empty when the
	// statement itself is unknown.
	Usage []string
}

// Error returns "vsdb: LINE:COLUMN: MSG" (or "vsdb: FILE:LINE:COLUMN:
// MSG") on one line.
func (e *Error) Error() string {
	if e.File != "" {
		return fmt.Sprintf("vsdb: %s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("vsdb: %d:%d: %s", e.Line, e.Column, e.Msg)
}

// Caret returns two lines (no trailing newline): the offending source line
// and, below it, a '^' under the offending token. Tabs before the token are
// repeated in the caret line so that it lines up however tabs are shown.
func (e *Error) Caret() string {
	var pad strings.Builder
	n := 0
	for _, r := range e.SourceLine {
		if n >= e.Column-1 {
			break
		}
		if r == '\t' {
			pad.WriteByte('\t')
		} else {
			pad.WriteByte(' ')
		}
		n++
	}
	for ; n < e.Column-1; n++ {
		pad.WriteByte(' ')
	}
	return e.SourceLine + "\n" + pad.String() + "^"
}

// errorAt builds an *Error for the token at pos in src.
func errorAt(src string, pos lexer.Position, format string, args ...any) *Error {
	line, col := pos.Line, pos.Column
	if line < 1 {
		line = 1
	}
	if col < 1 {
		col = 1
	}
	off := min(max(pos.Offset, 0), len(src))
	start := strings.LastIndexByte(src[:off], '\n') + 1
	end := strings.IndexByte(src[off:], '\n')
	if end < 0 {
		end = len(src)
	} else {
		end += off
	}
	return &Error{
		Line:       line,
		Column:     col,
		Offset:     off,
		Msg:        oneLine(fmt.Sprintf(format, args...)),
		SourceLine: strings.TrimSuffix(src[start:end], "\r"),
	}
}
