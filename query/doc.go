// Package query implements the lexer, grammar and abstract syntax tree of
// vsdb's query language.
//
// The language is small and statement oriented. Keywords are
// case-insensitive, whitespace and newlines may appear between any two
// tokens, "--" starts a comment that runs to the end of the line, and a
// statement may end with an optional ";":
//
//	FUSE sel, sel[, ...] WEIGHTS w, w[, ...] [INTO model]
//	SHOW MODELS
//	SHOW TENSORS [FROM model] [WHERE field op 'value' [AND ...]]
//	GET model:tensor
//	EXPLAIN <statement>
//
// Parse turns source text into a Statement (one of *Fuse, *ShowModels,
// *ShowTensors, *Get or *Explain). Every AST node records the source
// position of its first token (Pos) and the position just past its last
// token (EndPos), so that later stages can report errors against the
// source. Parse errors are always of type *Error, whose Caret method
// renders the offending line with a caret under the bad token.
//
// The package performs every check that needs no catalog: syntax, the
// shape of model names and tensor paths, WHERE field names, that FUSE has
// at least two inputs and exactly one finite weight per input. Whether the
// named models and tensors exist, and whether a whole-model selector is
// allowed in a given statement, is left to the planner.
//
// EBNF returns the grammar; docs/QUERY.md embeds it and a test keeps the two
// in sync.
package query
