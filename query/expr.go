package query

import (
	"github.com/alecthomas/participle/v2/lexer"
)

// Expr is a WHERE expression: one of *Or, *And, *Not or *Compare. The set
// is closed; use a type switch. NOT binds tighter than AND, which binds
// tighter than OR; AND and OR associate to the left, so a AND b AND c is
// And{And{a, b}, c}.
type Expr interface {
	// Position returns the position of the expression's first token.
	Position() lexer.Position
	// String prints the expression in canonical form with the fewest
	// parentheses that parse back to the same tree.
	String() string

	expr()
}

// Or is L OR R.
type Or struct {
	// Pos is the position of L's first token (or of the '(' around L);
	// EndPos is just past R's last token.
	Pos, EndPos lexer.Position
	L, R        Expr
}

// And is L AND R.
type And struct {
	// Pos is the position of L's first token (or of the '(' around L);
	// EndPos is just past R's last token.
	Pos, EndPos lexer.Position
	L, R        Expr
}

// Not is NOT X.
type Not struct {
	// Pos is the position of NOT; EndPos is just past X's last token.
	Pos, EndPos lexer.Position
	X           Expr
}

// Compare is one comparison, field op value. Parse guarantees that Field,
// Op and the value agree:
//
//   - string fields (model, layer, param, dtype, codec, name) take =, !=,
//     LIKE and NOT LIKE and a string (Str);
//   - number fields (size in bytes, elements, reads) take =, !=, <, <=, >
//     and >= and a finite number (Num, IsNum set); only size may carry a
//     unit, which Parse has already applied (10MB is 1e7);
//   - tier takes = and != and one of the Tier* constants (Str).
type Compare struct {
	// Pos is the position of the field; EndPos is just past the value.
	Pos, EndPos lexer.Position
	// ValuePos is the position of the value.
	ValuePos lexer.Position
	// Field is one of the Field* constants (Parse lower-cases it).
	Field string
	// Op is one of the Op* constants (Parse upper-cases LIKE and NOT LIKE).
	Op string
	// Str is the unquoted string value ('it''s' becomes it's); "" when
	// IsNum. For LIKE it is the pattern, interpreted by the planner.
	Str string
	// Num is the numeric value (bytes for size) when IsNum.
	Num float64
	// IsNum is set for number fields.
	IsNum bool
}

// WHERE fields. Parse lower-cases field names, so Compare.Field is always
// one of these.
const (
	FieldModel    = "model"
	FieldLayer    = "layer"
	FieldParam    = "param"
	FieldDType    = "dtype"
	FieldCodec    = "codec"
	FieldName     = "name"
	FieldSize     = "size"     // bytes stored
	FieldElements = "elements" // number of elements
	FieldReads    = "reads"    // read count
	FieldTier     = "tier"     // storage tier: TierHot, TierWarm or TierCold
)

// Comparison operators. Parse upper-cases LIKE and NOT LIKE, so
// Compare.Op is always one of these.
const (
	OpEq      = "="
	OpNe      = "!="
	OpLt      = "<"
	OpLe      = "<="
	OpGt      = ">"
	OpGe      = ">="
	OpLike    = "LIKE"
	OpNotLike = "NOT LIKE"
)

// Values of the tier field. Parse lower-cases them.
const (
	TierHot  = "hot"
	TierWarm = "warm"
	TierCold = "cold"
)

// Kinds of WHERE field, and the fields and operators of each, in the order
// messages name them.
var (
	stringFields = []string{FieldModel, FieldLayer, FieldParam, FieldDType, FieldCodec, FieldName}
	numberFields = []string{FieldSize, FieldElements, FieldReads}
	exprFields   = append(append(append([]string{}, stringFields...), numberFields...), FieldTier)
	tiers        = []string{TierHot, TierWarm, TierCold}

	stringOps = []string{OpEq, OpNe, OpLike, OpNotLike}
	numberOps = []string{OpEq, OpNe, OpLt, OpLe, OpGt, OpGe}
	tierOps   = []string{OpEq, OpNe}
)

// Conjuncts splits e at its top-level ANDs and returns the operands from
// left to right: a AND (b OR c) AND NOT d gives [a, b OR c, NOT d]. It
// returns nil for a nil e and [e] when e is not an And. The planner can
// answer some conjuncts from indexes and filter on the rest.
func Conjuncts(e Expr) []Expr {
	if e == nil {
		return nil
	}
	if a, ok := e.(*And); ok {
		return append(Conjuncts(a.L), Conjuncts(a.R)...)
	}
	return []Expr{e}
}

// Compares returns the comparisons of e, left to right, if e is nil, one
// comparison, or comparisons joined by AND only; otherwise it returns
// nil, false.
func Compares(e Expr) ([]*Compare, bool) {
	var out []*Compare
	for _, c := range Conjuncts(e) {
		cmp, ok := c.(*Compare)
		if !ok {
			return nil, false
		}
		out = append(out, cmp)
	}
	return out, true
}

// Walk calls fn for e and, while fn returns true, for its operands, depth
// first, left to right. A nil e is not visited.
func Walk(e Expr, fn func(Expr) bool) {
	if e == nil || !fn(e) {
		return
	}
	switch e := e.(type) {
	case *Or:
		Walk(e.L, fn)
		Walk(e.R, fn)
	case *And:
		Walk(e.L, fn)
		Walk(e.R, fn)
	case *Not:
		Walk(e.X, fn)
	}
}

// Position implements Expr.
func (e *Or) Position() lexer.Position { return e.Pos }

// Position implements Expr.
func (e *And) Position() lexer.Position { return e.Pos }

// Position implements Expr.
func (e *Not) Position() lexer.Position { return e.Pos }

// Position implements Expr.
func (e *Compare) Position() lexer.Position { return e.Pos }

func (*Or) expr()      {}
func (*And) expr()     {}
func (*Not) expr()     {}
func (*Compare) expr() {}
