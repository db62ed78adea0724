// Package query implements the lexer, grammar and abstract syntax tree of
// vsdb's query language.
//
// The language is small and statement oriented. Keywords are
// case-insensitive, whitespace and newlines may appear between any two
// tokens, "--" starts a comment that runs to the end of the line, and a
// statement may end with an optional ";":
//
//	FUSE sel, sel[, ...] WEIGHTS w, w[, ...] [INTO model]
//	FUSE sel, sel[, ...] [WEIGHTS w, w[, ...]] USING method [(key = value[, ...])]
//	     [BASE model] [WHERE expr] [INTO model]
//	SHOW MODELS
//	SHOW LAYERS [OF model]
//	SHOW TENSORS [FROM model] [WHERE expr]
//	GET model:tensor
//	DESCRIBE model
//	STATS [model]
//	DIFF sel, sel
//	DELETE MODEL model
//	CHECK [model]
//	INGEST 'file' [AS model] [BASE model] [CODEC codec [(key = value[, ...])]]
//	EXPORT model TO 'file' [(key = value[, ...])]
//	COMPRESS model [BASE model] CODEC codec [(key = value[, ...])] INTO model
//	ATTACH MODEL model [FROM 's3://bucket/prefix']
//	ATTACH ALL [FROM 's3://bucket/prefix']
//	DETACH MODEL model
//	VACUUM
//	EXPLAIN [ANALYZE] <statement>
//
// A weight is a number or a gradient list [0, 0.5, 1]. A WHERE expression
// combines comparisons (field op value) with NOT, AND, OR and parentheses.
//
// Parse turns source text into a Statement (one of *Fuse, *ShowModels,
// *ShowLayers, *ShowTensors, *Get, *Describe, *Stats, *Diff, *DeleteModel,
// *Check, *Ingest, *Export, *Compress, *Attach, *Detach, *Vacuum or
// *Explain); WHERE clauses become an Expr (*Or, *And, *Not or
// *Compare). Every AST node records the source position of its first token
// (Pos) and the position just past its last token (EndPos), so that later
// stages can report errors against the source. Parse errors are always of
// type *Error, whose Caret method renders the offending line with a caret
// under the bad token.
//
// The package performs every check that needs no catalog: syntax, the
// shape of model names and tensor paths, WHERE field names and that each
// comparison's operator and value suit its field, size units, that FUSE
// has at least two inputs and exactly one finite weight per input (WEIGHTS
// may be left out only with USING), that option keys are unique, and that
// DIFF has two inputs. Whether the named models, tensors and merge methods
// exist, which options a method takes, and whether a whole-model selector
// is allowed in a given statement, is left to the planner.
//
// EBNF returns the grammar; docs/QUERY.md embeds it and a test keeps the two
// in sync.
package query
