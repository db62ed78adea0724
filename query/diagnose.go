package query

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// This file turns participle's syntax errors into friendly *Errors.

// checkStart validates the statement keyword (and, after EXPLAIN [ANALYZE],
// the explained statement's keyword) before the grammar runs, so a
// misspelled or unknown statement gets a message listing the statements
// that exist.
func checkStart(src string, toks []lexer.Token) *Error {
	first := toks[0]
	if first.EOF() {
		return errorAt(src, lexer.Position{Offset: 0, Line: 1, Column: 1},
			"empty query (expected a statement: %s)", orList(statementKeywords))
	}
	if !isStatementKeyword(first) {
		return unknownStatement(src, first, statementKeywords, nil)
	}
	if !strings.EqualFold(first.Value, "EXPLAIN") {
		return nil
	}
	explain, next := "EXPLAIN", toks[1]
	var also []string // what else could follow, for suggestions
	if isIdent(next, "ANALYZE") {
		explain, first, next = "EXPLAIN ANALYZE", next, toks[2]
	} else {
		also = []string{"ANALYZE"}
	}
	explainable := statementKeywords[:len(statementKeywords)-1]
	switch {
	case next.EOF():
		return errorAt(src, endOf(first),
			"%s needs a statement to explain (%s)", explain, orList(explainable))
	case isIdent(next, "EXPLAIN"):
		return errorAt(src, next.Pos, "EXPLAIN cannot be nested (expected %s)", orList(explainable))
	case !isStatementKeyword(next):
		return unknownStatement(src, next, explainable, also)
	}
	return nil
}

// isIdent reports whether t is the identifier keyword, ignoring case.
func isIdent(t lexer.Token, keyword string) bool {
	return t.Type == typeIdent && strings.EqualFold(t.Value, keyword)
}

// maxNesting bounds how deeply parentheses and NOTs may nest in a WHERE
// expression, so that the recursive descent parser cannot exhaust the
// stack on hostile input.
const maxNesting = 100

// checkNesting rejects expressions nested more than maxNesting levels
// deep. It tracks the parser's recursion without parsing: each '(' and
// each prefix NOT opens a level; ')' closes its '(' and any NOT opened
// inside it; AND and OR close the NOTs opened since the enclosing '('.
func checkNesting(src string, toks []lexer.Token) *Error {
	type group struct{ outer, base int }
	var open []group
	depth, base := 0, 0
	for i, t := range toks {
		switch {
		case t.Type == typePunct && t.Value == "(":
			open = append(open, group{depth, base})
			depth++
			base = depth
		case t.Type == typePunct && t.Value == ")" && len(open) > 0:
			g := open[len(open)-1]
			open = open[:len(open)-1]
			depth, base = g.outer, g.base
		case isIdent(t, "NOT") && !isIdent(toks[min(i+1, len(toks)-1)], "LIKE"):
			depth++
		case isIdent(t, "AND") || isIdent(t, "OR"):
			depth = base
		}
		if depth > maxNesting {
			return errorAt(src, t.Pos, "expression nested too deeply (more than %d levels of parentheses and NOT)", maxNesting)
		}
	}
	return nil
}

func isStatementKeyword(t lexer.Token) bool {
	return t.Type == typeIdent && isKeyword(t.Value, statementKeywords...)
}

// unknownStatement reports a token that should have been a statement
// keyword. The words in also could stand there too (ANALYZE after
// EXPLAIN); they are suggested but not listed.
func unknownStatement(src string, t lexer.Token, allowed, also []string) *Error {
	if t.Type != typeIdent {
		return errorAt(src, t.Pos, "unexpected %s (expected a statement: %s)",
			describeToken(t), orList(allowed))
	}
	hint := ""
	if s := suggest(t.Value, append(append([]string{}, allowed...), also...)); s != "" {
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
		var next lexer.Token
		if i >= 0 && i+1 < len(toks) {
			next = toks[i+1]
		}
		return trailingToken(src, pos, tok, prev, next, tree)
	}

	want := describeExpected(expected)
	extra := ""
	switch want {
	case `")"`, `"]"`:
		// participle names only the closing bracket; a list or an
		// expression could also have gone on.
		want, extra = unclosedBracket(toks, i, tok)
	}
	if dym := didYouMean(tok, quotedKeywords(want)); dym != "" {
		return errorAt(src, pos, "unexpected %s (expected %s%s)", describeToken(tok), want, dym)
	}
	if extra == "" {
		extra = hint(tok, prev, want)
	}
	if u := unquotedURL(src, tok); u != "" && strings.HasPrefix(want, descString) {
		extra = "; strings are quoted: " + quoteString(u)
	}
	return errorAt(src, pos, "unexpected %s (expected %s)%s", describeToken(tok), want, extra)
}

// unquotedURL returns the address written without quotes that starts at
// tok (s3://bucket/prefix, which the lexer splits at ':'), or "".
func unquotedURL(src string, tok lexer.Token) string {
	if tok.Type != typeIdent || tok.Pos.Offset >= len(src) {
		return ""
	}
	word := src[tok.Pos.Offset:]
	if i := strings.IndexFunc(word, func(r rune) bool { return unicode.IsSpace(r) || r == ';' }); i >= 0 {
		word = word[:i]
	}
	if !strings.Contains(word, "://") {
		return ""
	}
	return word
}

// unclosedBracket describes what could stand at toks[i] inside a bracket
// that is not closed: the separator or operators that continue the list
// or expression, or the closing bracket. At the end of the input it also
// says where the bracket was opened.
func unclosedBracket(toks []lexer.Token, i int, tok lexer.Token) (want, extra string) {
	var stack []int
	for j := 0; j < i && j < len(toks); j++ {
		switch t := toks[j]; {
		case t.Type != typePunct:
		case t.Value == "(" || t.Value == "[":
			stack = append(stack, j)
		case (t.Value == ")" || t.Value == "]") && len(stack) > 0:
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) == 0 {
		return `")"`, "" // unreachable: participle expects a bracket only inside one
	}
	j := stack[len(stack)-1]
	open := toks[j]
	switch {
	case open.Value == "[":
		want = `"," or "]"`
	case j >= 2 && isIdent(toks[j-2], "USING"):
		want = `"," or ")"`
	default:
		want = `"AND", "OR" or ")"`
	}
	if tok.EOF() || tok.Value == ";" {
		extra = fmt.Sprintf("; the %q at %d:%d is not closed", open.Value, open.Pos.Line, open.Pos.Column)
	}
	return want, extra
}

// didYouMean suggests the keyword among candidates that tok misspells, as
// "; did you mean X?", or returns "". Candidates that are not keywords
// (punctuation) are never suggested.
func didYouMean(tok lexer.Token, candidates []string) string {
	if tok.Type != typeIdent {
		return ""
	}
	var keywords []string
	for _, c := range candidates {
		if isKeyword(c, allKeywords...) {
			keywords = append(keywords, c)
		}
	}
	if s := suggest(tok.Value, keywords); s != "" {
		return fmt.Sprintf("; did you mean %s?", s)
	}
	return ""
}

// hint returns advice on a common mistake, to append to a message that
// says tok was unexpected where want was expected, or "".
func hint(tok, prev lexer.Token, want string) string {
	switch {
	case (tok.Type == typeNumber || tok.Type == typeSize) &&
		(strings.Contains(want, descModel) || strings.Contains(want, descSelector)):
		return fmt.Sprintf("; a model name starts with a letter or '_', so quote this one: %s", quoteString(tok.Value))
	case tok.Type == typeIdent && strings.HasPrefix(want, descString):
		return fmt.Sprintf("; strings are quoted: %s", quoteString(tok.Value))
	case tok.Value == "=" && prev.Value == "=":
		return "; equality is a single '='"
	case tok.Value == ">" && prev.Value == "<":
		return "; not-equal is written !="
	case want == `"MODEL"` && isIdent(prev, "DETACH") && isIdent(tok, "ALL"):
		return "; DETACH takes one model at a time: DETACH MODEL name"
	case want == `"MODEL"` && (isIdent(prev, "DELETE") || isIdent(prev, "DETACH")) && tok.Type == typeIdent:
		return fmt.Sprintf("; write %s MODEL %s", strings.ToUpper(prev.Value), tok.Value)
	case want == `"MODEL" or "ALL"` && isIdent(prev, "ATTACH") && (tok.Type == typeIdent || tok.Type == typeString):
		return fmt.Sprintf("; write ATTACH MODEL %s, or ATTACH ALL", tok.Value)
	}
	return ""
}

// quotedKeywords returns the keywords quoted in a list of expectations:
// "WEIGHTS" and "USING" in `"WEIGHTS" or "USING"`.
func quotedKeywords(want string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(want, func(r rune) bool { return r == ',' || r == ' ' }) {
		if k, err := strconv.Unquote(f); err == nil && isKeyword(k, allKeywords...) {
			out = append(out, k)
		}
	}
	return out
}

// trailingToken reports a token left over after a statement that parsed.
// If the statement could have gone on, the message lists what could come
// next; otherwise it says the statement had ended. next is the token after
// tok, for hints.
func trailingToken(src string, pos lexer.Position, tok, prev, next lexer.Token, tree *query) *Error {
	if prev.Value == ";" {
		return errorAt(src, pos, "unexpected %s after %q (a query holds one statement)", describeToken(tok), ";")
	}
	if tok.Type == typePunct && tok.Value == ")" {
		return errorAt(src, pos, "unexpected %s: there is no '(' to close", describeToken(tok))
	}
	more := continuations(tree)
	if p := plainOf(tree); p != nil && p.Vacuum != nil {
		return errorAt(src, pos, "unexpected %s: VACUUM takes nothing after it (it sweeps the store's whole object store)", describeToken(tok))
	}
	if len(more) == 0 {
		return errorAt(src, pos, "unexpected %s after the end of the statement%s",
			describeToken(tok), didYouMean(tok, allKeywords))
	}
	quoted := make([]string, 0, len(more)+1)
	for _, k := range more {
		if k == descModel {
			quoted = append(quoted, k)
		} else {
			quoted = append(quoted, fmt.Sprintf("%q", k))
		}
	}
	quoted = append(quoted, "end of input")
	want := orList(quoted)
	if tok.Type == typeIdent && slices.Contains(more, "(") && next.Value == "=" {
		return errorAt(src, pos, "unexpected %s (expected %s); options go in parentheses: USING %s (%s = ...)",
			describeToken(tok), want, prev.Value, tok.Value)
	}
	return errorAt(src, pos, "unexpected %s (expected %s%s)%s",
		describeToken(tok), want, didYouMean(tok, more), hint(tok, prev, want))
}

// continuations lists the tokens that could extend a complete statement:
// keywords and punctuation, or descModel where a model name could follow.
func continuations(tree *query) []string {
	plain := plainOf(tree)
	switch {
	case plain == nil:
		return nil
	case plain.Fuse != nil:
		switch f := plain.Fuse; {
		case f.Into != nil:
			return nil
		case f.Where != nil:
			return []string{"AND", "OR", "INTO"}
		case f.Base != nil:
			return []string{"WHERE", "INTO"}
		case f.Using != nil && f.Using.Options == nil:
			return []string{"(", "BASE", "WHERE", "INTO"}
		case f.Using != nil:
			return []string{"BASE", "WHERE", "INTO"}
		default:
			return []string{",", "USING", "BASE", "WHERE", "INTO"}
		}
	case plain.Show != nil && plain.Show.Layers != nil:
		if plain.Show.Layers.Of == nil {
			return []string{"OF"}
		}
	case plain.Show != nil && plain.Show.Tensors != nil:
		switch t := plain.Show.Tensors; {
		case t.Where != nil:
			return []string{"AND", "OR"}
		case t.From == nil:
			return []string{"FROM", "WHERE"}
		default:
			return []string{"WHERE"}
		}
	case plain.Get != nil && plain.Get.Sel != nil && plain.Get.Sel.Path == nil:
		return []string{":"}
	case plain.Stats != nil && plain.Stats.Model == nil,
		plain.Check != nil && plain.Check.Model == nil:
		return []string{descModel}
	case plain.Attach != nil && plain.Attach.From == nil:
		return []string{"FROM"}
	case plain.Diff != nil && len(plain.Diff.Inputs) > 0:
		var out []string
		if plain.Diff.Inputs[len(plain.Diff.Inputs)-1].Path == nil {
			out = append(out, ":")
		}
		if len(plain.Diff.Inputs) < 2 {
			out = append(out, ",")
		}
		return out
	}
	return nil
}

// plainOf returns the statement of a partial tree (inside EXPLAIN, the
// explained one), or nil.
func plainOf(tree *query) *plainStmt {
	if tree == nil || tree.Stmt == nil {
		return nil
	}
	if tree.Stmt.Explain != nil {
		return tree.Stmt.Explain.Stmt
	}
	return tree.Stmt.Plain
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
	descModel     = "a model name"
	descSelector  = "a selector like model:path"
	descString    = "a quoted string"
	descCondition = "a condition like field = 'value'"
)

var termDescriptions = map[string]string{
	"SelectorExpr": descSelector,
	"ModelName":    descModel,
	"WeightLit":    "a number or a gradient like [0, 0.5, 1]",
	"NumberLit":    "a number",
	"MethodName":   "a merge method like linear or ties",
	"OptionExpr":   "an option like key = value",
	"OptionValue":  "a number, a quoted string, TRUE or FALSE",
	"OrExpr":       descCondition,
	"AndExpr":      descCondition,
	"NotExpr":      descCondition,
	"PrimaryExpr":  descCondition,
	"CompareExpr":  descCondition,
	"CompareOp":    "a comparison operator like =, != or LIKE",
	"<ident>":      "a name",
	"<path>":       "a tensor path",
	"<string>":     descString,
	"<number>":     "a number",
	"<size>":       "a size like 10MB",
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
