package query

import "github.com/alecthomas/participle/v2/lexer"

// ErrorAt builds an *Error pointing at pos in src, for callers (the planner)
// whose semantic errors should show line:column and a caret like syntax
// errors do.
func ErrorAt(src string, pos lexer.Position, format string, args ...any) *Error {
	return errorAt(src, pos, format, args...)
}
