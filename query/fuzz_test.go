package query

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/internal/allocbound"
)

// FuzzParse checks that Parse never panics, that every error is a
// well-formed *Error, and that every statement it accepts prints to
// canonical text that parses back to the same text and the same tree.
func FuzzParse(f *testing.F) {
	for _, tc := range validCases {
		f.Add(tc.in)
	}
	for _, s := range []string{"", "FUSE", "GET m:'", "SHOW TENSORS WHERE", "EXPLAIN EXPLAIN", "\t\n--", "GET m:x;;",
		"FUSE a, b WEIGHTS [", "FUSE a, b USING x (", "SHOW TENSORS WHERE (NOT (", "SHOW TENSORS WHERE size > 1e3KB",
		"SHOW TENSORS WHERE size > 1ex", "DIFF a", "DELETE", "EXPLAIN ANALYZE", "SHOW TENSORS WHERE a <> 'b')"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		var (
			stmt Statement
			err  error
		)
		// Parsing costs a bounded multiple of the statement's length.
		allocbound.Check(t, "Parse", len(src), 256<<10+4096*uint64(len(src)), func() { stmt, err = Parse(src) })
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) returned %T, want *Error", src, err)
			}
			if stmt != nil {
				t.Fatalf("Parse(%q) returned a statement and an error", src)
			}
			if e.Line < 1 || e.Column < 1 || e.Offset < 0 || e.Offset > len(src) {
				t.Fatalf("Parse(%q): bad position %d:%d@%d", src, e.Line, e.Column, e.Offset)
			}
			if strings.ContainsAny(e.Error(), "\n\r") || !strings.HasPrefix(e.Error(), "vsdb: ") {
				t.Fatalf("Parse(%q): malformed message %q", src, e.Error())
			}
			if c := e.Caret(); strings.Count(c, "\n") < 1 || !strings.HasSuffix(c, "^") {
				t.Fatalf("Parse(%q): malformed caret %q", src, c)
			}
			return
		}
		canon := stmt.String()
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not parse: %v", src, canon, err)
		}
		if again.String() != canon {
			t.Fatalf("Parse(%q): canonical form not stable: %q then %q", src, canon, again.String())
		}
		if !reflect.DeepEqual(stripPositions(stmt), stripPositions(again)) {
			t.Fatalf("Parse(%q): canonical form %q parses to a different tree", src, canon)
		}
	})
}
