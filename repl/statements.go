package repl

import "strings"

// statement is one statement as typed, with the line (1-based, counted
// from the start of its input) it begins on.
type statement struct {
	text string
	line int
}

// statementBuffer splits input lines into statements: each ends at a ';'
// outside a quoted string and outside a "--" comment, so a line may hold
// several statements and a statement may span lines.
type statementBuffer struct {
	b       strings.Builder
	lines   int  // lines added so far
	start   int  // line the pending statement begins on
	quoted  bool // inside a '...' string (which may span lines)
	content bool // the pending text holds more than spaces and comments
}

// Add takes one line and returns the statements it completes.
func (p *statementBuffer) Add(line string) []statement {
	p.lines++
	var done []statement
	from := 0
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'':
			p.quoted = !p.quoted // '' inside a string toggles twice
		case p.quoted:
		case c == '-' && strings.HasPrefix(line[i:], "--"):
			i = len(line) // the rest of the line is a comment
			continue
		case c == ';':
			p.b.WriteString(line[from : i+1])
			if p.content {
				done = append(done, statement{text: strings.TrimSpace(p.b.String()), line: p.start})
			}
			p.reset()
			from = i + 1
			continue
		case c == ' ' || c == '\t' || c == '\r':
			continue
		}
		if !p.content {
			p.content, p.start = true, p.lines
		}
	}
	if rest := line[from:]; p.content || p.quoted {
		p.b.WriteString(rest + "\n")
	}
	return done
}

// Empty reports whether no statement is being gathered (only spaces or
// comments since the last ';').
func (p *statementBuffer) Empty() bool { return !p.content && !p.quoted }

// Reset drops the statement being gathered.
func (p *statementBuffer) Reset() {
	p.reset()
}

func (p *statementBuffer) reset() {
	p.b.Reset()
	p.quoted, p.content, p.start = false, false, 0
}
