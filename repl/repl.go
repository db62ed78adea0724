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

	"github.com/chzyer/readline"
	"github.com/vsdb/vsdb/engine"
	"github.com/vsdb/vsdb/query"
)

// Shell runs statements typed by a person against one DB.
type Shell struct {
	DB     *engine.DB
	Out    io.Writer
	Err    io.Writer
	failed int
}

const help = `Statements end with ';' and may span lines:
  SHOW MODELS;   SHOW LAYERS [OF m];   SHOW TENSORS [FROM m] [WHERE expr];
  DESCRIBE m;   STATS [m];   DIFF a, b;   GET m:tensor.name;
  FUSE a, b WEIGHTS 0.5, 0.5 [USING method(k = v, ...)] [BASE m] [WHERE expr] [INTO new_model];
    methods: linear, task_arithmetic, ties, dare_linear, dare_ties, slerp, model_stock
  INGEST 'file' [AS m] [BASE b] [CODEC c[(budget = 0.01)]];   EXPORT m TO 'file';
  COMPRESS m [BASE b] CODEC c INTO m2;   DELETE MODEL m;   CHECK [m];   EXPLAIN [ANALYZE] <statement>;
  WHERE: layer, param, name, dtype, codec, model, tier = '...'; size, elements, reads < <= > >= ...;
         LIKE, AND, OR, NOT, ( )
Meta-commands: .help  .quit (or Ctrl-D)
`

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

// Run reads statements until EOF or .quit.
func (s *Shell) Run() error {
	rl, err := readline.NewEx(&readline.Config{
		Prompt:          "vsdb> ",
		HistoryFile:     HistoryFile(),
		InterruptPrompt: "^C",
		EOFPrompt:       "",
	})
	if err != nil {
		return fmt.Errorf("vsdb: cannot start the shell: %w", err)
	}
	defer rl.Close()
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
		if pending.Empty() && strings.HasPrefix(strings.TrimSpace(line), ".") {
			if s.meta(strings.TrimSpace(line)) {
				return nil
			}
			continue
		}
		stmt, done := pending.Add(line)
		if !done {
			if !pending.Empty() {
				rl.SetPrompt("   ...> ")
			}
			continue
		}
		rl.SetPrompt("vsdb> ")
		if !s.Exec(stmt) {
			s.failed++
		}
	}
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

// statementBuffer gathers lines until a statement ends with ';'.
type statementBuffer struct{ b strings.Builder }

// Add appends a line; it returns the whole statement once it ends with ';'.
func (p *statementBuffer) Add(line string) (string, bool) {
	p.b.WriteString(line + "\n")
	stmt := strings.TrimSpace(p.b.String())
	if stmt == "" {
		p.b.Reset()
		return "", false
	}
	if !strings.HasSuffix(stmt, ";") {
		return "", false
	}
	p.b.Reset()
	return stmt, true
}

// Empty reports whether no statement is being gathered.
func (p *statementBuffer) Empty() bool { return p.b.Len() == 0 }

// Reset drops the statement being gathered.
func (p *statementBuffer) Reset() { p.b.Reset() }

// meta runs a meta-command; it reports whether the shell should exit.
func (s *Shell) meta(cmd string) bool {
	switch strings.Fields(cmd)[0] {
	case ".quit", ".exit":
		return true
	case ".help":
		fmt.Fprint(s.Out, help)
	default:
		fmt.Fprintf(s.Err, "vsdb: unknown meta-command %s (try .help)\n", cmd)
	}
	return false
}

// Exec runs one statement, printing its result or its error, and reports
// whether it succeeded. Ctrl-C cancels the statement, not the shell.
func (s *Shell) Exec(stmt string) bool {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// A large FUSE leaves its buffers behind: hand them back to the system
	// while the shell waits for the next statement.
	defer debug.FreeOSMemory()
	res, err := s.DB.Query(ctx, stmt)
	if err == nil {
		err = WriteTable(s.Out, res)
	}
	if err != nil {
		PrintError(s.Err, err)
		return false
	}
	return true
}

// PrintError prints an error; statement errors get the caret picture.
func PrintError(w io.Writer, err error) {
	fmt.Fprintln(w, err)
	var qe *query.Error
	if errors.As(err, &qe) {
		fmt.Fprintln(w, qe.Caret())
	}
}
