package query

import (
	"github.com/alecthomas/participle/v2/lexer"
)

// Statement is a parsed query statement: one of *Fuse, *ShowModels,
// *ShowTensors, *Get or *Explain. The set is closed; use a type switch.
type Statement interface {
	// String prints the statement back in canonical form: keywords in
	// upper case, single spaces, names quoted only where needed, no
	// trailing ';'. Parsing the result yields an equal statement.
	String() string
	// Position returns the position of the statement's first token.
	Position() lexer.Position

	statement()
}

// Selector names a tensor (Model:Path) or, with an empty Path, a whole
// model. Whether a whole-model selector is allowed is up to the planner.
type Selector struct {
	// Pos is the position of the model name; EndPos is just past the
	// selector's last token.
	Pos, EndPos lexer.Position
	// Model is the model name, unquoted. It is never empty.
	Model string
	// Path is the tensor path (e.g. "encoder.layer.0.attention.self.query.weight"),
	// unquoted; "" selects the whole model.
	Path string
}

// WholeModel reports whether the selector names a whole model rather than
// one tensor path.
func (s Selector) WholeModel() bool { return s.Path == "" }

// Weight is one FUSE weight: a finite number.
type Weight struct {
	// Pos is the position of the number; EndPos is just past it.
	Pos, EndPos lexer.Position
	// Value is the weight. Parse guarantees it is finite.
	Value float64
}

// Predicate fields accepted in SHOW TENSORS ... WHERE. Parse lower-cases
// field names, so Predicate.Field is always one of these.
const (
	FieldLayer = "layer"
	FieldParam = "param"
	FieldDType = "dtype"
	FieldCodec = "codec"
	FieldName  = "name"
)

// Predicate operators. Parse upper-cases LIKE, so Predicate.Op is always
// one of these.
const (
	OpEq   = "="
	OpNe   = "!="
	OpLike = "LIKE"
)

// predicateFields lists the valid fields in the order messages name them.
var predicateFields = []string{FieldLayer, FieldParam, FieldDType, FieldCodec, FieldName}

// Predicate is one "field op 'value'" condition of a WHERE clause.
type Predicate struct {
	// Pos is the position of the field name; EndPos is just past the value.
	Pos, EndPos lexer.Position
	// Field is one of the Field* constants.
	Field string
	// Op is one of the Op* constants.
	Op string
	// Value is the unquoted string value ('it''s' becomes it's). For LIKE it
	// is the pattern, interpreted by the planner.
	Value string
}

// Fuse is FUSE inputs WEIGHTS weights [INTO model]: a weighted combination
// of tensors or models. Parse guarantees at least two inputs and exactly
// one weight per input.
type Fuse struct {
	// Pos is the position of FUSE; EndPos is just past the statement.
	Pos, EndPos lexer.Position
	// Inputs are the selectors to combine, in source order.
	Inputs []Selector
	// WeightsPos is the position of the WEIGHTS keyword.
	WeightsPos lexer.Position
	// Weights holds one weight per input, in the same order.
	Weights []Weight
	// Into is the target model name, unquoted, or "" without INTO.
	Into string
	// IntoPos is the position of the target model name, or the zero
	// Position without INTO.
	IntoPos lexer.Position
}

// ShowModels is SHOW MODELS.
type ShowModels struct {
	// Pos is the position of SHOW; EndPos is just past MODELS.
	Pos, EndPos lexer.Position
}

// ShowTensors is SHOW TENSORS [FROM model] [WHERE pred [AND pred ...]].
type ShowTensors struct {
	// Pos is the position of SHOW; EndPos is just past the statement.
	Pos, EndPos lexer.Position
	// From is the model name, unquoted, or "" for all models.
	From string
	// FromPos is the position of the model name, or the zero Position
	// without FROM.
	FromPos lexer.Position
	// Where holds the predicates, all of which must hold (AND); empty
	// without WHERE.
	Where []Predicate
}

// Get is GET selector.
type Get struct {
	// Pos is the position of GET; EndPos is just past the selector.
	Pos, EndPos lexer.Position
	// Sel is the tensor (or, if the planner allows it, model) to fetch.
	Sel Selector
}

// Explain is EXPLAIN statement. Stmt is never itself an *Explain.
type Explain struct {
	// Pos is the position of EXPLAIN; EndPos is just past the statement.
	Pos, EndPos lexer.Position
	// Stmt is the statement to explain.
	Stmt Statement
}

// Position implements Statement.
func (s *Fuse) Position() lexer.Position { return s.Pos }

// Position implements Statement.
func (s *ShowModels) Position() lexer.Position { return s.Pos }

// Position implements Statement.
func (s *ShowTensors) Position() lexer.Position { return s.Pos }

// Position implements Statement.
func (s *Get) Position() lexer.Position { return s.Pos }

// Position implements Statement.
func (s *Explain) Position() lexer.Position { return s.Pos }

func (*Fuse) statement()        {}
func (*ShowModels) statement()  {}
func (*ShowTensors) statement() {}
func (*Get) statement()         {}
func (*Explain) statement()     {}
