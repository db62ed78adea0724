package query

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// This file turns participle's syntax errors into friendly *Errors.

// checkStart validates the statement keyword (and, after EXPLAIN, the
// explained statement's keyword) before the grammar runs, so a misspelled
// or unknown statement gets a message listing the statements that exist.
func checkStart(src string, toks []lexer.Token) *Error {
	first := toks[0]
	if first.EOF() {
		return errorAt(src, lexer.Position{Offset: 0, Line: 1, Column: 1},
			"empty query (expected a statement: %s)", orList(statementKeywords))
	}
	if !isStatementKeyword(first) {
		return unknownStatement(src, first, statementKeywords)
	}
	if !strings.EqualFold(first.Value, "EXPLAIN") {
		return nil
	}
	next := toks[1]
	explainable := statementKeywords[:3]
	switch {
	case next.EOF():
		return errorAt(src, endOf(first),
			"EXPLAIN needs a statement to explain (%s)", orList(explainable))
	case next.Type == typeIdent && strings.EqualFold(next.Value, "EXPLAIN"):
		return errorAt(src, next.Pos, "EXPLAIN cannot be nested (expected %s)", orList(explainable))
	case !isStatementKeyword(next):
		return unknownStatement(src, next, explainable)
	}
	return nil
}

func isStatementKeyword(t lexer.Token) bool {
	return t.Type == typeIdent && isKeyword(t.Value, statementKeywords...)
}

// unknownStatement reports a token that should have been a statement
// keyword.
func unknownStatement(src string, t lexer.Token, allowed []string) *Error {
	if t.Type != typeIdent {
		return errorAt(src, t.Pos, "unexpected %s (expected a statement: %s)",
			describeToken(t), orList(allowed))
	}
	hint := ""
	if s := suggest(t.Value, allowed); s != "" {
		hint = fmt.Sprintf("; did you mean %s?", s)
	}
	return errorAt(src, t.Pos, "unknown statement %q (expected %s%s)", t.Value, orList(allowed), hint)
}

// syntaxError converts an error from participle into an *Error. tree is
// what the parser built before it stopped, possibly nil.
func syntaxError(src string, toks []lexer.Token, tree *query, err error) *Error {
	var ute *participle.UnexpectedTokenError
	if errors.As(err, &ute) {
		return unexpectedToken(src, toks, tree, ute)
	}
	var perr participle.Error
	if errors.As(err, &perr) {
		return errorAt(src, perr.Position(), "%s", oneLine(perr.Message()))
	}
	return errorAt(src, lexer.Position{Line: 1, Column: 1}, "%s", oneLine(err.Error()))
}

// unexpectedToken rewrites participle's `unexpected token "X" (expected
// <rest of the production>)` into `unexpected X (expected <what can come
// next>)`, plus a hint for common mistakes.
func unexpectedToken(src string, toks []lexer.Token, tree *query, ute *participle.UnexpectedTokenError) *Error {
	tok := ute.Unexpected
	i := tokenIndex(toks, tok)
	var prev lexer.Token
	if i > 0 {
		prev = toks[i-1]
	}
	pos := tok.Pos
	if tok.EOF() && i > 0 {
		// Point just past the last token rather than at the end of the
		// input, which may be lines of whitespace and comments later.
		pos = endOf(prev)
	}

	rest := strings.TrimPrefix(ute.Message(), fmt.Sprintf("unexpected token %q", tok))
	expected := ""
	if strings.HasPrefix(rest, " (expected ") && strings.HasSuffix(rest, ")") {
		expected = rest[len(" (expected ") : len(rest)-1]
	}
	if expected == "" {
		return trailingToken(src, pos, tok, prev, tree)
	}

	want := describeExpected(expected)
	msg := fmt.Sprintf("unexpected %s (expected %s)", describeToken(tok), want)
	switch {
	case tok.Type == typeNumber && (strings.Contains(want, descModel) || strings.Contains(want, descSelector)):
		msg += fmt.Sprintf("; a model name starts with a letter or '_', so quote this one: %s", quoteString(tok.Value))
	case (tok.Type == typeNumber || tok.Type == typeIdent) && want == descString:
		msg += fmt.Sprintf("; values are quoted: %s", quoteString(tok.Value))
	case tok.Value == "=" && prev.Value == "=":
		msg += "; equality is a single '='"
	}
	return errorAt(src, pos, "%s", msg)
}

// trailingToken reports a token left over after a statement that parsed.
// If the statement could have gone on, the message lists what could come
// next; otherwise it says the statement had ended.
func trailingToken(src string, pos lexer.Position, tok, prev lexer.Token, tree *query) *Error {
	if prev.Value == ";" {
		return errorAt(src, pos, "unexpected %s after %q (a query holds one statement)", describeToken(tok), ";")
	}
	next := continuations(tree)
	hint := ""
	if tok.Type == typeIdent {
		candidates := next
		if len(candidates) == 0 {
			candidates = allKeywords
		}
		if s := suggest(tok.Value, candidates); s != "" {
			hint = fmt.Sprintf("; did you mean %s?", s)
		}
	}
	if len(next) == 0 {
		return errorAt(src, pos, "unexpected %s after the end of the statement%s", describeToken(tok), hint)
	}
	quoted := make([]string, 0, len(next)+1)
	for _, k := range next {
		quoted = append(quoted, fmt.Sprintf("%q", k))
	}
	quoted = append(quoted, "end of input")
	return errorAt(src, pos, "unexpected %s (expected %s%s)", describeToken(tok), orList(quoted), hint)
}

// continuations lists the tokens that could extend a complete statement.
func continuations(tree *query) []string {
	if tree == nil || tree.Stmt == nil {
		return nil
	}
	plain := tree.Stmt.Plain
	if tree.Stmt.Explain != nil {
		plain = tree.Stmt.Explain.Stmt
	}
	switch {
	case plain == nil:
		return nil
	case plain.Fuse != nil:
		if plain.Fuse.Into == nil {
			return []string{",", "INTO"}
		}
	case plain.Show != nil && plain.Show.Tensors != nil:
		switch t := plain.Show.Tensors; {
		case len(t.Where) > 0:
			return []string{"AND"}
		case t.From == nil:
			return []string{"FROM", "WHERE"}
		default:
			return []string{"WHERE"}
		}
	case plain.Get != nil && plain.Get.Sel != nil && plain.Get.Sel.Path == nil:
		return []string{":"}
	}
	return nil
}

// tokenIndex finds tok in toks by offset, or returns -1.
func tokenIndex(toks []lexer.Token, tok lexer.Token) int {
	for i, t := range toks {
		if t.Pos.Offset == tok.Pos.Offset && t.Type == tok.Type {
			return i
		}
	}
	return -1
}

// describeToken names a token for a message: `token "WEIGHT"`,
// `number 42`, `string 'x'`, `end of input`.
func describeToken(t lexer.Token) string {
	switch {
	case t.EOF():
		return "end of input"
	case t.Type == typeNumber:
		return "number " + t.Value
	case t.Type == typeString:
		if strings.IndexFunc(t.Value, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 || len(t.Value) > 40 {
			return fmt.Sprintf("string %q", truncate(t.Value, 40))
		}
		return "string " + t.Value
	default:
		return fmt.Sprintf("token %q", truncate(t.Value, 40))
	}
}

// Descriptions of what the parser expected, by EBNF term. Productions not
// listed are described by their first term, so keyword-led productions
// read as their keyword.
const (
	descModel    = "a model name"
	descSelector = "a selector like model:path"
	descString   = "a quoted string"
)

var termDescriptions = map[string]string{
	"SelectorExpr":  descSelector,
	"ModelName":     descModel,
	"WeightLit":     "a number",
	"PredicateExpr": "a condition like field = 'value'",
	"<ident>":       "a name",
	"<path>":        "a tensor path",
	"<string>":      descString,
	"<number>":      "a number",
}

// productions maps each production of the grammar to its EBNF body.
var productions = func() map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(EBNF(), "\n") {
		name, body, ok := strings.Cut(line, " = ")
		if ok {
			m[name] = strings.TrimSuffix(body, " .")
		}
	}
	return m
}()

// describeExpected turns participle's expectation, which is the rest of a
// production in EBNF, into words for its first term only.
func describeExpected(expected string) string {
	alts := firstAlternatives(expected, 0)
	seen := map[string]bool{}
	var out []string
	for _, a := range alts {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return orList(out)
}

// firstAlternatives describes the alternatives that can start expr.
func firstAlternatives(expr string, depth int) []string {
	term := strings.TrimRight(firstTerm(expr), "?*+")
	if depth > 10 {
		return []string{term}
	}
	if strings.HasPrefix(term, "(") && strings.HasSuffix(term, ")") {
		var out []string
		for _, alt := range splitTop(term[1:len(term)-1], " | ") {
			out = append(out, firstAlternatives(alt, depth+1)...)
		}
		return out
	}
	if d, ok := termDescriptions[term]; ok {
		return []string{d}
	}
	if body, ok := productions[term]; ok {
		var out []string
		for _, alt := range splitTop(body, " | ") {
			out = append(out, firstAlternatives(alt, depth+1)...)
		}
		return out
	}
	return []string{term}
}

// firstTerm returns the first space-separated term of an EBNF sequence,
// keeping parenthesised groups and quoted literals whole.
func firstTerm(expr string) string {
	depth, quoted := 0, false
	for i, r := range expr {
		switch {
		case r == '"':
			quoted = !quoted
		case quoted:
		case r == '(':
			depth++
		case r == ')':
			depth--
		case r == ' ' && depth == 0:
			return expr[:i]
		}
	}
	return expr
}

// splitTop splits expr on sep where sep is outside parentheses and quotes.
func splitTop(expr, sep string) []string {
	var parts []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(expr); i++ {
		switch c := expr[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0 && strings.HasPrefix(expr[i:], sep):
			parts = append(parts, expr[start:i])
			start = i + len(sep)
			i += len(sep) - 1
		}
	}
	return append(parts, expr[start:])
}

// orList joins items as "a", "a or b", "a, b or c".
func orList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// endOf returns the position just past token t.
func endOf(t lexer.Token) lexer.Position {
	p := t.Pos
	p.Advance(t.Value)
	return p
}

// truncate shortens s to at most n runes, marking the cut with "...".
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "..."
}

// oneLine replaces line breaks so a message stays on one line.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}
