package query

import (
	"os"
	"strings"
	"testing"
)

const docPath = "../docs/QUERY.md"

// ebnfBlock finds the fenced ```ebnf block of the document and returns
// the offsets of its body.
func ebnfBlock(t *testing.T, doc string) (start, end int) {
	t.Helper()
	const open, fence = "```ebnf\n", "\n```"
	i := strings.Index(doc, open)
	if i < 0 {
		t.Fatalf("%s has no ```ebnf block", docPath)
	}
	start = i + len(open)
	j := strings.Index(doc[start:], fence)
	if j < 0 {
		t.Fatalf("%s: ```ebnf block is not closed", docPath)
	}
	if strings.Contains(doc[start+j+len(fence):], open) {
		t.Fatalf("%s has more than one ```ebnf block", docPath)
	}
	return start, start + j
}

// TestDocsEBNF keeps the grammar in docs/QUERY.md identical to EBNF().
func TestDocsEBNF(t *testing.T) {
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start, end := ebnfBlock(t, doc)
	if got, want := doc[start:end], EBNF(); got != want {
		if *rewrite {
			doc = doc[:start] + want + doc[end:]
			if err := os.WriteFile(docPath, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("%s's ```ebnf block differs from EBNF(); run go test ./query -rewrite\ndoc:\n%s\nEBNF():\n%s", docPath, got, want)
	}
}

// TestDocsTokens checks that the token patterns the document quotes are
// the ones the lexer uses.
func TestDocsTokens(t *testing.T) {
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	for name, pattern := range map[string]string{
		"ident":  identPattern,
		"path":   pathPattern,
		"string": stringPattern,
		"number": numberPattern,
		"size":   sizePattern,
	} {
		if !strings.Contains(string(raw), "`"+pattern+"`") {
			t.Errorf("%s does not quote the %s pattern `%s`", docPath, name, pattern)
		}
	}
}

// TestDocsExamples parses every statement of the document's ```sql blocks
// (statements end with ';' at the end of a line) and checks the canonical
// form example.
func TestDocsExamples(t *testing.T) {
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	n, blocks := 0, 0
	for rest := doc; ; {
		_, after, ok := strings.Cut(rest, "```sql\n")
		if !ok {
			break
		}
		blocks++
		block, tail, _ := strings.Cut(after, "\n```")
		rest = tail
		for _, stmt := range strings.SplitAfter(block, ";\n") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			n++
			if !strings.HasSuffix(strings.TrimSpace(stmt), ";") {
				t.Errorf("%s example %q does not end with ';'", docPath, stmt)
			}
			if _, err := Parse(stmt); err != nil {
				t.Errorf("%s example %q: %v", docPath, stmt, err)
			}
		}
	}
	if blocks < 3 || n < 25 {
		t.Errorf("%s: found %d examples in %d ```sql blocks, want at least 25 in 3", docPath, n, blocks)
	}

	const in, out = "fuse A:x,b:'y' weights .5,1e-3 into c;", "FUSE A:x, b:y WEIGHTS 0.5, 0.001 INTO c"
	if !strings.Contains(doc, in+"   →   "+out) {
		t.Errorf("%s lacks the canonical-form example", docPath)
	}
	stmt, err := Parse(in)
	if err != nil || stmt.String() != out {
		t.Errorf("Parse(%q) = %v, %v; want %q", in, stmt, err, out)
	}
}

// TestDocsStatements keeps docs/QUERY.md's statement table identical to
// StatementTable(), the help the shell prints.
func TestDocsStatements(t *testing.T) {
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	const open, end = "go test ./query -rewrite -->\n", "<!-- end statements -->"
	i, j := strings.Index(doc, open), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no generated statement table (markers %q ... %q)", docPath, open, end)
	}
	i += len(open)
	if got, want := doc[i:j], StatementTable(); got != want {
		if *rewrite {
			if err := os.WriteFile(docPath, []byte(doc[:i]+want+doc[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("%s's statement table differs from StatementTable(); run go test ./query -rewrite", docPath)
	}
}
