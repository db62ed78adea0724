package repl

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vsdb/vsdb/query"
)

// metaCommand is one of the shell's dot-commands.
type metaCommand struct {
	name, args, help string
	run              func(s *Shell, args []string) (quit bool, err error)
}

// metaCommands lists the dot-commands; .help prints them from here.
var metaCommands []metaCommand

func init() {
	metaCommands = []metaCommand{
		{".help", "[STATEMENT]", "list the statements, or show one statement's forms and an example", (*Shell).metaHelp},
		{".timing", "on|off", "print how long each statement took", (*Shell).metaTiming},
		{".mode", "table|json|csv", "how results are printed", (*Shell).metaMode},
		{".output", "[FILE]", "send results to FILE (truncated first); no FILE: back to the terminal", (*Shell).metaOutput},
		{".read", "FILE", "run the statements and dot-commands in FILE", (*Shell).metaRead},
		{".quit", "", "leave the shell (also .exit, or Ctrl-D)", func(*Shell, []string) (bool, error) { return true, nil }},
		{".exit", "", "", func(*Shell, []string) (bool, error) { return true, nil }},
	}
}

// metaNames returns the dot-commands' names, for completion.
func metaNames() []string {
	out := make([]string, len(metaCommands))
	for i, m := range metaCommands {
		out[i] = m.name
	}
	return out
}

// meta runs a dot-command line; it reports whether the shell should exit.
// A failed command prints its error and counts as a failed statement.
func (s *Shell) meta(line string) bool {
	fields := strings.Fields(line)
	for _, m := range metaCommands {
		if m.name == fields[0] {
			quit, err := m.run(s, fields[1:])
			if err != nil {
				fmt.Fprintln(s.Err, err)
				s.failed++
			}
			return quit
		}
	}
	fmt.Fprintf(s.Err, "vsdb: unknown meta-command %s (try .help)\n", fields[0])
	s.failed++
	return false
}

func (s *Shell) metaHelp(args []string) (bool, error) {
	if len(args) == 0 {
		fmt.Fprint(s.Out, helpText())
		return false, nil
	}
	forms := query.HelpFor(args...)
	if len(forms) == 0 {
		return false, fmt.Errorf("vsdb: no statement %s (.help lists them)", strings.Join(args, " "))
	}
	for _, h := range forms {
		fmt.Fprintf(s.Out, "%s\n  %s\n  example: %s;\n", h.Syntax, h.PlainMeaning(), h.Example)
	}
	return false, nil
}

// helpText is what .help prints: every statement form, then the
// dot-commands.
func helpText() string {
	var b strings.Builder
	b.WriteString("Statements end with ';' and may span lines (.help STATEMENT for one; docs/QUERY.md for all):\n")
	for _, h := range query.Statements() {
		fmt.Fprintf(&b, "  %s\n", h.Syntax)
	}
	b.WriteString("Dot-commands:\n")
	for _, m := range metaCommands {
		if m.help != "" {
			fmt.Fprintf(&b, "  %-22s %s\n", strings.TrimSpace(m.name+" "+m.args), m.help)
		}
	}
	b.WriteString("TAB completes keywords, models and, after 'model:', layers and tensors; Ctrl-C cancels a running statement.\n")
	return b.String()
}

func (s *Shell) metaTiming(args []string) (bool, error) {
	switch {
	case len(args) == 1 && args[0] == "on":
		s.timing = true
	case len(args) == 1 && args[0] == "off":
		s.timing = false
	default:
		return false, fmt.Errorf("vsdb: usage: .timing on|off")
	}
	return false, nil
}

func (s *Shell) metaMode(args []string) (bool, error) {
	if len(args) != 1 || (args[0] != "table" && args[0] != "json" && args[0] != "csv") {
		return false, fmt.Errorf("vsdb: usage: .mode table|json|csv")
	}
	s.mode = args[0]
	return false, nil
}

func (s *Shell) metaOutput(args []string) (bool, error) {
	if len(args) > 1 {
		return false, fmt.Errorf("vsdb: usage: .output [FILE]")
	}
	if err := s.closeOutput(); err != nil {
		return false, err
	}
	if len(args) == 1 {
		f, err := os.Create(args[0])
		if err != nil {
			return false, fmt.Errorf("vsdb: .output: %v", err)
		}
		s.output = f
	}
	return false, nil
}

// closeOutput closes the file .output opened, if any.
func (s *Shell) closeOutput() error {
	if s.output == nil {
		return nil
	}
	err := s.output.Close()
	s.output = nil
	if err != nil {
		return fmt.Errorf("vsdb: .output: %v", err)
	}
	return nil
}

// maxReadDepth bounds how many .read files may be open at once.
const maxReadDepth = 16

func (s *Shell) metaRead(args []string) (bool, error) {
	if len(args) != 1 {
		return false, fmt.Errorf("vsdb: usage: .read FILE")
	}
	abs, err := filepath.Abs(args[0])
	if err != nil {
		return false, fmt.Errorf("vsdb: .read %s: %v", args[0], err)
	}
	if slices.Contains(s.reading, abs) {
		return false, fmt.Errorf("vsdb: .read %s: that file is being read already (a file that reads itself); nothing of it ran again", args[0])
	}
	if len(s.reading) >= maxReadDepth {
		return false, fmt.Errorf("vsdb: .read %s: files read each other more than %d deep", args[0], maxReadDepth)
	}
	f, err := os.Open(args[0])
	if err != nil {
		return false, fmt.Errorf("vsdb: .read: %v", err)
	}
	defer f.Close()
	s.reading = append(s.reading, abs)
	defer func(source string) { s.reading, s.source = s.reading[:len(s.reading)-1], source }(s.source)
	s.source = args[0]
	return s.runLines(f, args[0])
}

// runLines runs the statements and dot-commands read from r, as typed. It
// stops at the first line that is not text (a NUL byte or invalid UTF-8:
// a binary file given by mistake) before running anything of that line.
func (s *Shell) runLines(r io.Reader, name string) (bool, error) {
	var pending statementBuffer
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.IndexByte(line, 0) >= 0 || !utf8.ValidString(line) {
			return false, fmt.Errorf("vsdb: %s:%d: not text (a NUL byte or invalid UTF-8): statements only", name, n)
		}
		if quit := s.feed(line, &pending); quit {
			return true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("vsdb: %s: %v", name, err)
	}
	if !pending.Empty() {
		return false, fmt.Errorf("vsdb: %s: the last statement does not end with ';' and was not run", name)
	}
	return false, nil
}
