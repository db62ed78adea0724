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

// explainStmt is EXPLAIN followed by a plain statement; EXPLAIN does not nest.
type explainStmt struct {
	Tokens []lexer.Token

	Stmt *plainStmt `parser:"'EXPLAIN' @@"`
}

// plainStmt is any statement but EXPLAIN.
type plainStmt struct {
	Fuse *fuseStmt `parser:"@@"`
	Show *showStmt `parser:"| @@"`
	Get  *getStmt  `parser:"| @@"`
}

// fuseStmt is FUSE inputs WEIGHTS weights [INTO model]. The WEIGHTS
// keyword is captured for its position: a count mismatch points at it.
type fuseStmt struct {
	Tokens []lexer.Token

	Inputs    []*selectorExpr `parser:"'FUSE' @@ (',' @@)*"`
	WeightsKw lexer.Token     `parser:"@'WEIGHTS'"`
	Weights   []*weightLit    `parser:"@@ (',' @@)*"`
	Into      *modelName      `parser:"('INTO' @@)?"`
}

// weightLit is one weight of FUSE.
type weightLit struct {
	Tok lexer.Token `parser:"@Number"`
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

// showStmt is SHOW MODELS or SHOW TENSORS ....
type showStmt struct {
	Tokens []lexer.Token

	Models  bool         `parser:"'SHOW' ( @'MODELS'"`
	Tensors *showTensors `parser:"| @@ )"`
}

// showTensors is the part of SHOW TENSORS after SHOW.
type showTensors struct {
	From  *modelName       `parser:"'TENSORS' ('FROM' @@)?"`
	Where []*predicateExpr `parser:"('WHERE' @@ ('AND' @@)*)?"`
}

// predicateExpr is field op 'value'.
type predicateExpr struct {
	Tokens []lexer.Token

	Field lexer.Token `parser:"@Ident"`
	Op    string      `parser:"@('=' | '!=' | 'LIKE')"`
	Value lexer.Token `parser:"@String"`
}

// getStmt is GET selector.
type getStmt struct {
	Tokens []lexer.Token

	Sel *selectorExpr `parser:"'GET' @@"`
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
// case between angle brackets (<ident>, <path>, <string>, <number>).
// Keywords match case-insensitively.
func EBNF() string {
	return parser.String()
}
