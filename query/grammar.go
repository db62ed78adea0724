package query

import (
	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// This file holds the participle grammar. Its types are unexported syntax
// nodes; build.go turns them into the public AST. Type names matter: they
// become the production names of EBNF() and appear in error messages.

// query is the root production: one statement and an optional ';'.
type query struct {
	Stmt *stmt `parser:"@@ ';'?"`
}

// stmt is an EXPLAIN or a plain statement.
type stmt struct {
	Explain *explainStmt `parser:"@@"`
	Plain   *plainStmt   `parser:"| @@"`
}

// explainStmt is EXPLAIN [ANALYZE] followed by a plain statement; EXPLAIN
// does not nest.
type explainStmt struct {
	Tokens []lexer.Token

	Analyze bool       `parser:"'EXPLAIN' @'ANALYZE'?"`
	Stmt    *plainStmt `parser:"@@"`
}

// plainStmt is any statement but EXPLAIN.
type plainStmt struct {
	Fuse     *fuseStmt     `parser:"@@"`
	Show     *showStmt     `parser:"| @@"`
	Get      *getStmt      `parser:"| @@"`
	Describe *describeStmt `parser:"| @@"`
	Stats    *statsStmt    `parser:"| @@"`
	Diff     *diffStmt     `parser:"| @@"`
	Delete   *deleteStmt   `parser:"| @@"`
	Check    *checkStmt    `parser:"| @@"`
	Ingest   *ingestStmt   `parser:"| @@"`
	Export   *exportStmt   `parser:"| @@"`
	Compress *compressStmt `parser:"| @@"`
	Attach   *attachStmt   `parser:"| @@"`
	Detach   *detachStmt   `parser:"| @@"`
	Vacuum   *vacuumStmt   `parser:"| @@"`
}

// fuseStmt is FUSE inputs (WEIGHTS weights [USING ...] | USING ...)
// [BASE model] [WHERE expr] [INTO model]: WEIGHTS may be left out only
// when USING names a method. The WEIGHTS keyword is captured for its
// position: a count mismatch points at it.
type fuseStmt struct {
	Tokens []lexer.Token

	Inputs    []*selectorExpr `parser:"'FUSE' @@ (',' @@)*"`
	WeightsKw *lexer.Token    `parser:"( @'WEIGHTS'"`
	Weights   []*weightLit    `parser:"  @@ (',' @@)*"`
	Using     *usingClause    `parser:"  @@? | @@ )"`
	Base      *modelName      `parser:"('BASE' @@)?"`
	Where     *orExpr         `parser:"('WHERE' @@)?"`
	Into      *modelName      `parser:"('INTO' @@)?"`
}

// weightLit is one weight of FUSE: a number or a bracketed gradient.
type weightLit struct {
	Tokens []lexer.Token

	Num      *lexer.Token `parser:"@Number"`
	Gradient []*numberLit `parser:"| '[' @@ (',' @@)* ']'"`
}

// numberLit is one number of a gradient.
type numberLit struct {
	Tok lexer.Token `parser:"@Number"`
}

// usingClause is USING method [(option, ...)].
type usingClause struct {
	Method  *methodName   `parser:"'USING' @@"`
	Options []*optionExpr `parser:"('(' @@ (',' @@)* ')')?"`
}

// methodName is the merge method of USING.
type methodName struct {
	Tok lexer.Token `parser:"@Ident"`
}

// optionExpr is key = value in USING's parentheses.
type optionExpr struct {
	Tokens []lexer.Token

	Key   lexer.Token  `parser:"@Ident '='"`
	Value *optionValue `parser:"@@"`
}

// optionValue is a number, a size (10MB), a string, TRUE or FALSE.
type optionValue struct {
	Tok lexer.Token `parser:"@(Number | Size | String | 'TRUE' | 'FALSE')"`
}

// selectorExpr is model[:path].
type selectorExpr struct {
	Tokens []lexer.Token

	Model *modelName   `parser:"@@"`
	Path  *lexer.Token `parser:"(':' @(Path | String))?"`
}

// modelName is an identifier or a quoted string.
type modelName struct {
	Tok lexer.Token `parser:"@(Ident | String)"`
}

// showStmt is SHOW MODELS, SHOW LAYERS ... or SHOW TENSORS ....
type showStmt struct {
	Tokens []lexer.Token

	Models  bool         `parser:"'SHOW' ( @'MODELS'"`
	Layers  *showLayers  `parser:"| @@"`
	Tensors *showTensors `parser:"| @@ )"`
}

// showLayers is the part of SHOW LAYERS after SHOW.
type showLayers struct {
	Of *modelName `parser:"'LAYERS' ('OF' @@)?"`
}

// showTensors is the part of SHOW TENSORS after SHOW.
type showTensors struct {
	From  *modelName `parser:"'TENSORS' ('FROM' @@)?"`
	Where *orExpr    `parser:"('WHERE' @@)?"`
}

// orExpr is a disjunction: the loosest-binding level of a WHERE
// expression.
type orExpr struct {
	Tokens []lexer.Token

	Terms []*andExpr `parser:"@@ ('OR' @@)*"`
}

// andExpr is a conjunction.
type andExpr struct {
	Tokens []lexer.Token

	Factors []*notExpr `parser:"@@ ('AND' @@)*"`
}

// notExpr is NOT applied to a notExpr, or a primaryExpr.
type notExpr struct {
	Tokens []lexer.Token

	Not     *notExpr     `parser:"'NOT' @@"`
	Primary *primaryExpr `parser:"| @@"`
}

// primaryExpr is a parenthesised expression or a comparison.
type primaryExpr struct {
	Tokens []lexer.Token

	Paren   *orExpr      `parser:"'(' @@ ')'"`
	Compare *compareExpr `parser:"| @@"`
}

// compareExpr is field op value.
type compareExpr struct {
	Tokens []lexer.Token

	Field lexer.Token `parser:"@Ident"`
	Op    *compareOp  `parser:"@@"`
	Value lexer.Token `parser:"@(String | Number | Size)"`
}

// compareOp is a comparison operator. NOT LIKE is captured as the two
// tokens' text run together ("NOTLIKE" in any case); build.go normalises.
type compareOp struct {
	Tokens []lexer.Token

	Op string `parser:"@('=' | '!=' | '<=' | '<' | '>=' | '>' | 'LIKE' | 'NOT' 'LIKE')"`
}

// getStmt is GET selector.
type getStmt struct {
	Tokens []lexer.Token

	Sel *selectorExpr `parser:"'GET' @@"`
}

// describeStmt is DESCRIBE model.
type describeStmt struct {
	Tokens []lexer.Token

	Model *modelName `parser:"'DESCRIBE' @@"`
}

// statsStmt is STATS [model].
type statsStmt struct {
	Tokens []lexer.Token

	Model *modelName `parser:"'STATS' @@?"`
}

// diffStmt is DIFF selector, selector. The grammar takes any number of
// selectors so that build.go can report a wrong count with both numbers.
type diffStmt struct {
	Tokens []lexer.Token

	Inputs []*selectorExpr `parser:"'DIFF' @@ (',' @@)*"`
}

// deleteStmt is DELETE MODEL model.
type deleteStmt struct {
	Tokens []lexer.Token

	Model *modelName `parser:"'DELETE' 'MODEL' @@"`
}

// checkStmt is CHECK [model].
type checkStmt struct {
	Tokens []lexer.Token

	Model *modelName `parser:"'CHECK' @@?"`
}

// ingestStmt is INGEST 'path' [AS model] [BASE model] [CODEC name [(k = v, ...)]].
type ingestStmt struct {
	Tokens []lexer.Token

	Path  lexer.Token  `parser:"'INGEST' @String"`
	As    *modelName   `parser:"('AS' @@)?"`
	Base  *modelName   `parser:"('BASE' @@)?"`
	Codec *codecClause `parser:"@@?"`
}

// codecClause is CODEC name [(option, ...)].
type codecClause struct {
	Name    *methodName   `parser:"'CODEC' @@"`
	Options []*optionExpr `parser:"('(' @@ (',' @@)* ')')?"`
}

// exportStmt is EXPORT model TO 'path' [(key = value, ...)].
type exportStmt struct {
	Tokens []lexer.Token

	Model   *modelName    `parser:"'EXPORT' @@"`
	Path    lexer.Token   `parser:"'TO' @String"`
	Options []*optionExpr `parser:"('(' @@ (',' @@)* ')')?"`
}

// compressStmt is COMPRESS model [BASE model] CODEC name [(...)] INTO model.
type compressStmt struct {
	Tokens []lexer.Token

	Model *modelName   `parser:"'COMPRESS' @@"`
	Base  *modelName   `parser:"('BASE' @@)?"`
	Codec *codecClause `parser:"@@"`
	Into  *modelName   `parser:"'INTO' @@"`
}

// attachStmt is ATTACH MODEL model [FROM 'url'] or ATTACH ALL [FROM 'url'].
type attachStmt struct {
	Tokens []lexer.Token

	Model *modelName   `parser:"'ATTACH' ( 'MODEL' @@"`
	All   bool         `parser:"         | @'ALL' )"`
	From  *lexer.Token `parser:"('FROM' @String)?"`
}

// detachStmt is DETACH MODEL model.
type detachStmt struct {
	Tokens []lexer.Token

	Model *modelName `parser:"'DETACH' 'MODEL' @@"`
}

// vacuumStmt is VACUUM. Kw captures the keyword, as SHOW MODELS does, so
// that the branch is recorded as taken.
type vacuumStmt struct {
	Tokens []lexer.Token

	Kw bool `parser:"@'VACUUM'"`
}

// parser is built once; building fails only if the grammar above is wrong,
// which the tests would catch.
var parser = participle.MustBuild[query](
	participle.Lexer(lexerDef),
	participle.CaseInsensitive(tokIdent),
	// The grammar is LL(1): once a branch has consumed a token it is
	// committed, so errors are reported where they happen instead of at
	// the start of an optional group that was backtracked.
	participle.UseLookahead(0),
)

// EBNF returns the grammar of the query language in participle's EBNF
// notation. Productions are capitalised; lexer tokens are written in lower
// case between angle brackets (<ident>, <path>, <string>, <number>,
// <size>). Keywords match case-insensitively.
func EBNF() string {
	return parser.String()
}
