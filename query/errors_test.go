package query

import (
	"errors"
	"strings"
	"testing"
)

func TestErrorFormat(t *testing.T) {
	_, err := Parse("FUSE a:x, b:y WEIGHT 0.5, 0.5")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not *Error", err)
	}
	const want = `vsdb: 1:15: unexpected token "WEIGHT" (expected "WEIGHTS" or "USING"; did you mean WEIGHTS?)`
	if e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
	if e.Line != 1 || e.Column != 15 || e.Offset != 14 {
		t.Errorf("position = %d:%d@%d", e.Line, e.Column, e.Offset)
	}
	if e.SourceLine != "FUSE a:x, b:y WEIGHT 0.5, 0.5" {
		t.Errorf("SourceLine = %q", e.SourceLine)
	}
	const caret = "FUSE a:x, b:y WEIGHT 0.5, 0.5\n              ^"
	if e.Caret() != caret {
		t.Errorf("Caret() =\n%s\nwant\n%s", e.Caret(), caret)
	}
}

func TestErrorCRLF(t *testing.T) {
	_, err := Parse("SHOW TENSORS\r\nWHERE lyer = 'x'\r\n")
	e := err.(*Error)
	if e.Line != 2 || e.Column != 7 || e.SourceLine != "WHERE lyer = 'x'" {
		t.Errorf("got %d:%d %q", e.Line, e.Column, e.SourceLine)
	}
}

func TestCaretPastEndOfLine(t *testing.T) {
	e := &Error{Line: 1, Column: 6, SourceLine: "\tab"}
	if got, want := e.Caret(), "\tab\n\t    ^"; got != want {
		t.Errorf("Caret() = %q, want %q", got, want)
	}
}

// TestErrorOneLine checks that messages quoting odd input stay on one line.
func TestErrorOneLine(t *testing.T) {
	for _, src := range []string{
		"GET 'a\nb':''",
		"SHOW TENSORS FROM 'a\nb' extra",
		"SHOW TENSORS WHERE layer 'multi\nline'",
		"GET m:x 'trailing\nstring'",
		"GET \x00",
		"GET \xff",
		"SHOW TENSORS WHERE tier = 'multi\nline'",
		"SHOW TENSORS WHERE size > 'multi\nline'",
		"FUSE a, b USING ties (x = 1, x = 'a\nb')",
	} {
		_, err := Parse(src)
		if err == nil {
			t.Fatalf("Parse(%q) succeeded", src)
		}
		if msg := err.Error(); strings.ContainsAny(msg, "\n\r") {
			t.Errorf("Parse(%q): message spans lines: %q", src, msg)
		}
	}
}

func TestSuggest(t *testing.T) {
	for word, want := range map[string]string{
		"FUSEE":   "FUSE",
		"fuse":    "", // exact match: nothing to suggest
		"SHWO":    "SHOW",
		"gt":      "GET",
		"WEIGHT":  "WEIGHTS",
		"WIEGHTS": "WEIGHTS",
		"SELECT":  "",
		"x":       "",
	} {
		if got := suggest(word, allKeywords); got != want {
			t.Errorf("suggest(%q) = %q, want %q", word, got, want)
		}
	}
}

// TestExpectedDescriptions makes sure every production the parser can
// name in an error has a readable description, not a grammar name.
func TestExpectedDescriptions(t *testing.T) {
	for name := range productions {
		if name == "Query" {
			continue
		}
		got := describeExpected(name)
		if _, isProduction := productions[firstTerm(got)]; isProduction || strings.ContainsAny(got, "<>") {
			t.Errorf("describeExpected(%q) = %q", name, got)
		}
	}
}

// TestErrorAt covers the constructor the planner uses for its own,
// catalog-dependent errors.
func TestErrorAt(t *testing.T) {
	src := "FUSE a:x, b:y\nWEIGHTS 1, 1 INTO taken"
	stmt, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	f := stmt.(*Fuse)
	e := ErrorAt(src, f.IntoPos, "model %q already exists", f.Into)
	if got, want := e.Error(), `vsdb: 2:19: model "taken" already exists`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := e.Caret(), "WEIGHTS 1, 1 INTO taken\n                  ^"; got != want {
		t.Errorf("Caret() = %q, want %q", got, want)
	}
}
