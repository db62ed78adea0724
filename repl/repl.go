// Package repl is vsdb's interactive shell: line editing and history
// (chzyer/readline), statements that span lines and end with ';',
// meta-commands, aligned tables, and errors with a caret under the bad
// token. It also renders results for the command line.
package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/chzyer/readline"
	"github.com/vsdb/vsdb/engine"
	"github.com/vsdb/vsdb/internal/progress"
	"github.com/vsdb/vsdb/planner"
	"github.com/vsdb/vsdb/query"
)

// ErrInterrupted is what a statement stopped by Ctrl-C reports, in the
// shell and on the command line (which then exits with status 130).
var ErrInterrupted = errors.New("vsdb: cancelled by Ctrl-C; the store is unchanged")

// Shell runs statements typed by a person against one DB.
type Shell struct {
	DB  *engine.DB
	Out io.Writer
	Err io.Writer
	// failed counts failed statements and dot-commands.
	failed int
	// mode is how results print: "table" (the default), "json" or "csv".
	mode string
	// timing prints each statement's wall time after its result.
	timing bool
	// output, when set by .output, receives results instead of Out.
	output *os.File
	// reading holds the .read files open now (absolute paths), in order.
	reading []string
	// source names the input statements come from when it is not the
	// terminal: a .read file, or "stdin".
	source string
}

// HistoryFile is where the shell keeps its history:
// $XDG_STATE_HOME/vsdb/history, else ~/.local/state/vsdb/history.
func HistoryFile() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".local", "state")
	}
	dir = filepath.Join(dir, "vsdb")
	if os.MkdirAll(dir, 0o700) != nil {
		return ""
	}
	return filepath.Join(dir, "history")
}

// Run reads statements until EOF or .quit: from the terminal with line
// editing, or, when standard input is a file or pipe, as .read would.
func (s *Shell) Run() error {
	if !readline.DefaultIsTerminal() {
		defer s.closeOutput()
		s.source = "stdin"
		if _, err := s.runLines(os.Stdin, "stdin"); err != nil {
			fmt.Fprintln(s.Err, err)
			s.failed++
		}
		return s.finish(&statementBuffer{})
	}
	rl, err := readline.NewEx(&readline.Config{
		Prompt:          "vsdb> ",
		HistoryFile:     HistoryFile(),
		InterruptPrompt: "^C",
		EOFPrompt:       "",
		AutoComplete:    completer{db: s.DB},
	})
	if err != nil {
		return fmt.Errorf("vsdb: cannot start the shell: %w", err)
	}
	defer rl.Close()
	defer s.closeOutput()
	// Readline returns the terminal to this mode after each line, so it
	// holds while statements run, until the shell ends.
	defer holdKeys(int(os.Stdin.Fd()))()
	fmt.Fprintf(s.Out, "vsdb shell on %s — .help for help, Ctrl-D to quit\n", s.DB.Dir())
	var pending statementBuffer
	for {
		line, err := rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) {
			pending.Reset()
			rl.SetPrompt("vsdb> ")
			continue
		}
		if err != nil { // io.EOF
			return s.finish(&pending)
		}
		if s.feed(line, &pending) {
			return nil
		}
		if pending.Empty() {
			rl.SetPrompt("vsdb> ")
		} else {
			rl.SetPrompt(" ...> ")
		}
	}
}

// feed takes one line: a dot-command (outside a statement) runs at once,
// each statement when its ';' arrives. It reports whether to quit.
func (s *Shell) feed(line string, pending *statementBuffer) bool {
	if pending.Empty() && strings.HasPrefix(strings.TrimSpace(line), ".") {
		pending.lines++ // a dot-command is a line of the input too
		return s.meta(strings.TrimSpace(line))
	}
	for _, st := range pending.Add(line) {
		if !s.exec(st) {
			s.failed++
		}
	}
	return false
}

// finish ends a session at end of input: an unterminated statement is
// reported, and input that was not typed at a terminal fails if any of its
// statements failed, as sqlite3 and psql do.
func (s *Shell) finish(pending *statementBuffer) error {
	if !pending.Empty() {
		fmt.Fprintln(s.Err, "vsdb: the last statement does not end with ';' and was not run")
		s.failed++
	}
	if s.failed > 0 && !readline.DefaultIsTerminal() {
		return fmt.Errorf("vsdb: %d %s failed", s.failed, plural(s.failed, "statement"))
	}
	return nil
}

// Exec runs one statement, printing its result or its error, and reports
// whether it succeeded. Ctrl-C cancels the statement, not the shell.
func (s *Shell) Exec(stmt string) bool {
	return s.exec(statement{text: stmt, line: 1})
}

// exec runs st; errors in a statement read from a file (or piped in) name
// the file and count lines from its start.
func (s *Shell) exec(st statement) bool {
	stmt := st.text
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// A large FUSE leaves its buffers behind: hand them back to the system
	// while the shell waits for the next statement.
	defer debug.FreeOSMemory()
	start := time.Now()
	ctx, done := progress.ForStatement(ctx, s.Err, planner.WithProgress)
	res, err := s.DB.Query(ctx, stmt)
	done()
	elapsed := time.Since(start)
	if err == nil {
		err = s.write(res)
	}
	if s.timing {
		fmt.Fprintf(s.Err, "time: %s\n", humanDuration(elapsed))
	}
	if err != nil {
		if ctx.Err() != nil {
			err = ErrInterrupted
		}
		var qe *query.Error
		if s.source != "" && errors.As(err, &qe) {
			at := *qe
			at.File, at.Line = s.source, qe.Line+st.line-1
			err = &at
		}
		PrintError(s.Err, err)
		return false
	}
	return true
}

// write prints a result in the shell's mode, to .output's file if set.
func (s *Shell) write(res *engine.Result) error {
	var w io.Writer = s.Out
	if s.output != nil {
		w = s.output
	}
	switch s.mode {
	case "json":
		return WriteJSON(w, res)
	case "csv":
		return WriteCSV(w, res)
	}
	return WriteTable(w, res)
}

// printableLine shows a source line with every control character but tab
// as '?', so that a stray escape code cannot rewrite the terminal and the
// caret below stays aligned.
func printableLine(s string) string {
	return strings.Map(func(r rune) rune {
		if (r < ' ' && r != '\t') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

// humanDuration prints d with three significant digits: 812 µs, 12.3 ms, 4.56 s.
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.3g µs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.3g ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.3g s", d.Seconds())
}

// PrintError prints an error; statement errors get the caret picture and
// the syntax of the statement they are in.
// On a terminal (and without NO_COLOR) the error is red and the usage dim.
func PrintError(w io.Writer, err error) {
	color := colorful(w)
	fmt.Fprintln(w, paint(color, styleError, err.Error()))
	var qe *query.Error
	if errors.As(err, &qe) {
		src, caret, _ := strings.Cut(qe.Caret(), "\n")
		fmt.Fprintln(w, printableLine(src))
		fmt.Fprintln(w, paint(color, styleError, caret))
		for _, u := range qe.Usage {
			fmt.Fprintln(w, paint(color, styleHint, "usage: "+u))
		}
	}
}
