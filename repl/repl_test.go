package repl

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/engine"
)

func TestStatementBuffer(t *testing.T) {
	for _, tc := range []struct {
		lines []string
		want  []statement
		empty bool
	}{
		{[]string{"   "}, nil, true},
		{[]string{"FUSE a:x,", "  b:x WEIGHTS 1, 1;"}, []statement{{"FUSE a:x,\n  b:x WEIGHTS 1, 1;", 1}}, true},
		{[]string{"SHOW MODELS; DESCRIBE m;", "STATS"}, []statement{{"SHOW MODELS;", 1}, {"DESCRIBE m;", 1}}, false},
		{[]string{"-- a comment; not a statement", "", "  GET m:'a;b'; -- done;"}, []statement{{"GET m:'a;b';", 3}}, true},
		{[]string{"GET m:'it''s", "two; lines';"}, []statement{{"GET m:'it''s\ntwo; lines';", 1}}, true},
		{[]string{";;", "SHOW MODELS"}, nil, false},
	} {
		var p statementBuffer
		var got []statement
		for _, l := range tc.lines {
			got = append(got, p.Add(l)...)
		}
		if !slices.Equal(got, tc.want) || p.Empty() != tc.empty {
			t.Errorf("%q: got %+v (empty %v), want %+v (empty %v)", tc.lines, got, p.Empty(), tc.want, tc.empty)
		}
	}
}

func newShell(t *testing.T) (*Shell, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	db, err := engine.Open(t.TempDir(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var out, errs bytes.Buffer
	return &Shell{DB: db, Out: &out, Err: &errs}, &out, &errs
}

func TestExecPrintsTablesAndCarets(t *testing.T) {
	sh, out, errs := newShell(t)
	sh.Exec("SHOW MODELS;")
	if !strings.Contains(out.String(), "model") || !strings.Contains(out.String(), "(0 rows)") {
		t.Errorf("SHOW MODELS printed %q", out.String())
	}
	sh.Exec("FUSE a:x, b:y WEIGHT 1, 1;")
	want := "vsdb: 1:15: unexpected token \"WEIGHT\" (expected \"WEIGHTS\" or \"USING\"; did you mean WEIGHTS?)\nFUSE a:x, b:y WEIGHT 1, 1;\n              ^\n" +
		"usage: FUSE sel, sel[, ...] WEIGHTS w, w[, ...] [INTO model]\n" +
		"usage: FUSE sel, sel[, ...] [WEIGHTS w, w[, ...]] USING method [(key = value[, ...])] [BASE model] [WHERE expr] [INTO model]\n"
	if errs.String() != want {
		t.Errorf("error output:\n%q\nwant\n%q", errs.String(), want)
	}
}

func TestMeta(t *testing.T) {
	sh, out, errs := newShell(t)
	if sh.meta(".help") || !strings.Contains(out.String(), "FUSE") {
		t.Errorf(".help printed %q", out.String())
	}
	if sh.meta(".nope") || !strings.Contains(errs.String(), "unknown meta-command .nope") {
		t.Errorf(".nope: %q", errs.String())
	}
	if !sh.meta(".quit") {
		t.Error(".quit did not quit")
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, &engine.Result{Columns: []string{"a"}}); err != nil || strings.TrimSpace(b.String()) != "[]" {
		t.Fatalf("empty result: %q %v", b.String(), err)
	}
	b.Reset()
	WriteJSON(&b, &engine.Result{Columns: []string{"model", "tensors"}, Rows: [][]any{{"m", 3}}})
	var rows []map[string]any
	if err := json.Unmarshal(b.Bytes(), &rows); err != nil || rows[0]["model"] != "m" || rows[0]["tensors"] != 3.0 {
		t.Fatalf("rows %v, %v", rows, err)
	}
}

func TestPrintable(t *testing.T) {
	long := strings.Repeat("x", 5000)
	cases := map[string]string{"plain.name": "plain.name", "a\nb": `"a\nb"`, long: strings.Repeat("x", maxCell-1) + "…"}
	for in, want := range cases {
		if got := printable(in); got != want {
			t.Errorf("printable(%.20q) = %.40q, want %.40q", in, got, want)
		}
	}
}

// JSON objects keep the result's column order, even when a value equals
// its column's name.
func TestWriteJSONKeepsColumnOrder(t *testing.T) {
	var b bytes.Buffer
	WriteJSON(&b, &engine.Result{Columns: []string{"z", "a", "model"}, Rows: [][]any{{1, "x", "model"}}})
	if got, want := b.String(), `[{"z":1,"a":"x","model":"model"}]`+"\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
