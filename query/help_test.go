package query

import (
	"reflect"
	"strings"
	"testing"
)

// Every example in the help parses, and begins with its form's keywords;
// every statement keyword has help.
func TestStatementHelpExamples(t *testing.T) {
	for _, h := range Statements() {
		if _, err := Parse(h.Example); err != nil {
			t.Errorf("example of %s does not parse: %v", h.Keywords, err)
		}
		if !strings.HasPrefix(strings.ToUpper(h.Example), h.Keywords) || !strings.HasPrefix(h.Syntax, h.Keywords) {
			t.Errorf("%s: example %q or syntax %q does not start with its keywords", h.Keywords, h.Example, h.Syntax)
		}
	}
	for _, kw := range statementKeywords {
		if len(HelpFor(kw)) == 0 {
			t.Errorf("statement %s has no help", kw)
		}
	}
}

func TestHelpFor(t *testing.T) {
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"fuse"}, []string{"FUSE", "FUSE"}},
		{[]string{"SHOW"}, []string{"SHOW MODELS", "SHOW LAYERS", "SHOW TENSORS"}},
		{[]string{"show", "tensors"}, []string{"SHOW TENSORS"}},
		{[]string{"show", "nonsense"}, []string{"SHOW MODELS", "SHOW LAYERS", "SHOW TENSORS"}},
		{[]string{"attach"}, []string{"ATTACH MODEL", "ATTACH ALL"}},
		{[]string{"ATTACH", "all"}, []string{"ATTACH ALL"}},
		{[]string{"vacuum"}, []string{"VACUUM"}},
		{[]string{"nonsense"}, nil},
		{nil, nil},
	} {
		var got []string
		for _, h := range HelpFor(tc.words...) {
			got = append(got, h.Keywords)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("HelpFor(%q) = %q, want %q", tc.words, got, tc.want)
		}
	}
	if got := HelpFor("SHOW", "TENSORS")[0].PlainMeaning(); strings.ContainsAny(got, "[]`") {
		t.Errorf("PlainMeaning kept Markdown: %q", got)
	}
}

// A syntax error carries the syntax of the statement it is in, also
// under EXPLAIN; an unknown statement carries none.
func TestErrorUsage(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want []string
	}{
		{"SHOW TENSORS FROM", []string{"SHOW TENSORS [FROM model] [WHERE expr]"}},
		{"EXPLAIN ANALYZE DELETE MODEL", []string{"DELETE MODEL model"}},
		{"FUSE a, b WEIGHTS 1", []string{statementHelp[0].Syntax, statementHelp[1].Syntax}},
		{"SHOUT MODELS", nil},
		{"ATTACH MODEL", []string{"ATTACH MODEL model [FROM 's3://bucket/prefix']"}},
		{"EXPLAIN DETACH llama", []string{"DETACH MODEL model"}},
	} {
		_, err := Parse(tc.src)
		qe, ok := err.(*Error)
		if !ok {
			t.Fatalf("%q: %v", tc.src, err)
		}
		if !reflect.DeepEqual(qe.Usage, tc.want) {
			t.Errorf("%q: usage %q, want %q", tc.src, qe.Usage, tc.want)
		}
	}
}
