package query

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

// rewrite regenerates golden files instead of comparing against them:
//
//	go test ./query -rewrite
var rewrite = flag.Bool("rewrite", false, "rewrite testdata/errors.txt and the EBNF block of docs/QUERY.md")

// A golden file is a sequence of cases separated by free text (comments
// and blank lines, kept as they are on rewrite). A case is
//
//	parse
//	<input: zero or more lines, joined with "\n", no trailing newline>
//	----
//	<output lines>
//	====
//
// The output of a failing parse is Error() followed by Caret(); a parse
// that succeeds prints "ok: " and the statement's String().
type goldenCase struct {
	line   int    // line number of "parse", for test names
	prefix string // free text before the case
	input  string
	want   string
}

func readGolden(t *testing.T, path string) (cases []goldenCase, trailer string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var free []string
	n := 0
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		n++
		return sc.Text(), true
	}
	for {
		line, ok := next()
		if !ok {
			break
		}
		if line != "parse" {
			free = append(free, line)
			continue
		}
		c := goldenCase{line: n, prefix: joinLines(free)}
		free = nil
		var in, out []string
		for section := &in; ; {
			l, ok := next()
			if !ok {
				t.Fatalf("%s:%d: case not terminated by ====", path, c.line)
			}
			if section == &in && l == "----" {
				section = &out
				continue
			}
			if section == &out && l == "====" {
				break
			}
			*section = append(*section, l)
		}
		c.input = strings.Join(in, "\n")
		c.want = strings.Join(out, "\n")
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases, joinLines(free)
}

// joinLines joins lines with a newline after each.
func joinLines(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

func writeGolden(t *testing.T, path string, cases []goldenCase, trailer string) {
	t.Helper()
	var b strings.Builder
	for _, c := range cases {
		b.WriteString(c.prefix)
		b.WriteString("parse\n")
		if c.input != "" {
			b.WriteString(c.input + "\n")
		}
		b.WriteString("----\n" + c.want + "\n====\n")
	}
	b.WriteString(trailer)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// describeParse renders the outcome of Parse for a golden file.
func describeParse(t *testing.T, src string) string {
	stmt, err := Parse(src)
	if err == nil {
		return "ok: " + stmt.String()
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse(%q) returned %T, want *Error", src, err)
	}
	return e.Error() + "\n" + e.Caret()
}

func TestErrorsGolden(t *testing.T) {
	const path = "testdata/errors.txt"
	cases, trailer := readGolden(t, path)
	if len(cases) == 0 {
		t.Fatalf("%s has no cases", path)
	}
	for i := range cases {
		c := &cases[i]
		t.Run(fmt.Sprintf("line%d", c.line), func(t *testing.T) {
			got := describeParse(t, c.input)
			if *rewrite {
				c.want = got
				return
			}
			if got != c.want {
				t.Errorf("%s:%d: Parse(%q)\ngot:\n%s\nwant:\n%s\n(run go test ./query -rewrite to accept)", path, c.line, c.input, got, c.want)
			}
		})
	}
	if *rewrite {
		writeGolden(t, path, cases, trailer)
	}
}
