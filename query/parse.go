package query

import (
	"github.com/alecthomas/participle/v2/lexer"
)

// Parse parses one statement. The statement may end with ';' and may be
// surrounded by whitespace and "--" comments. Every error returned is an
// *Error that points at the offending token.
func Parse(src string) (Statement, error) {
	toks, lexErr := tokenize(src)
	stmt, err := parseTokens(src, toks)
	if lexErr != nil && (err == nil || err.Offset >= lexErr.Offset) {
		// The parser stops at the bad token at the latest; the lexer's
		// description of it is the more helpful one.
		return nil, lexErr
	}
	if err != nil {
		return nil, err
	}
	return stmt, nil
}

// parseTokens runs the grammar and the semantic checks over toks. Errors
// past the statement keyword carry the statement's syntax (Error.Usage).
func parseTokens(src string, toks []lexer.Token) (Statement, *Error) {
	if err := checkStart(src, toks); err != nil {
		return nil, err
	}
	stmt, err := parseStatement(src, toks)
	if err != nil {
		err.Usage = usageFor(leadingWords(toks, 4))
	}
	return stmt, err
}

// leadingWords returns the values of up to n tokens before EOF.
func leadingWords(toks []lexer.Token, n int) []string {
	var out []string
	for _, t := range toks {
		if t.EOF() || len(out) == n {
			break
		}
		out = append(out, t.Value)
	}
	return out
}

func parseStatement(src string, toks []lexer.Token) (Statement, *Error) {
	if err := checkNesting(src, toks); err != nil {
		return nil, err
	}
	peek, err := lexer.Upgrade(&tokenStream{toks: toks})
	if err != nil {
		return nil, syntaxError(src, toks, nil, err)
	}
	tree, err := parser.ParseFromLexer(peek)
	if err != nil {
		return nil, syntaxError(src, toks, tree, err)
	}
	b := builder{src: src}
	return b.stmt(tree.Stmt)
}

// tokenStream replays already lexed tokens to the parser. The last token
// is EOF and is returned again once exhausted.
type tokenStream struct {
	toks []lexer.Token
	next int
}

// Next implements lexer.Lexer.
func (s *tokenStream) Next() (lexer.Token, error) {
	t := s.toks[s.next]
	if s.next < len(s.toks)-1 {
		s.next++
	}
	return t, nil
}
