package query

import (
	"github.com/alecthomas/participle/v2/lexer"
)

// Statement is a parsed query statement: one of *Fuse, *ShowModels,
// *ShowLayers, *ShowTensors, *Get, *Describe, *Stats, *Diff, *DeleteModel,
// *Check, *Ingest, *Export, *Compress, *Attach, *Detach, *Vacuum or
// *Explain. The set is closed; use a type switch.
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

// Weight is one FUSE weight: a finite number, or a gradient list such as
// [0, 0.5, 1] (mergekit's per-layer gradient, interpolated over the
// layers by the planner).
type Weight struct {
	// Pos is the position of the number or of '['; EndPos is just past
	// the number or ']'.
	Pos, EndPos lexer.Position
	// Value is the weight. Parse guarantees it is finite. It is 0 when
	// Gradient is set.
	Value float64
	// Gradient is nil unless the weight is a bracketed list; then it holds
	// at least two finite numbers, in source order.
	Gradient []float64
}

// OptionKind says which field of an Option holds its value.
type OptionKind int

// Option kinds.
const (
	OptNumber OptionKind = iota + 1 // Option.Number
	OptString                       // Option.Str
	OptBool                         // Option.Bool
)

// Option is one key = value of FUSE ... USING method (key = value, ...).
// Which keys a method takes, and their types, is the planner's business.
type Option struct {
	// Pos is the position of the key; EndPos is just past the value.
	Pos, EndPos lexer.Position
	// ValuePos is the position of the value.
	ValuePos lexer.Position
	// Key is the option name, lower-cased. Parse guarantees keys are
	// unique within one USING clause.
	Key string
	// Kind says which of Number, Str and Bool holds the value; the other
	// two are zero.
	Kind OptionKind
	// Number is the value of a numeric option; Parse guarantees it is
	// finite.
	Number float64
	// Str is the value of a string option, unquoted.
	Str string
	// Bool is the value of TRUE or FALSE.
	Bool bool
}

// Fuse is FUSE inputs [WEIGHTS weights] [USING method [(options)]]
// [BASE model] [WHERE expr] [INTO model]: a combination of tensors or
// models. Parse guarantees at least two inputs, and that WEIGHTS is given
// unless USING is; when WEIGHTS is given it has exactly one weight per
// input.
type Fuse struct {
	// Pos is the position of FUSE; EndPos is just past the statement.
	Pos, EndPos lexer.Position
	// Inputs are the selectors to combine, in source order.
	Inputs []Selector
	// WeightsPos is the position of the WEIGHTS keyword, or the zero
	// Position without WEIGHTS.
	WeightsPos lexer.Position
	// Weights holds one weight per input, in the same order; nil without
	// WEIGHTS (only possible with USING).
	Weights []Weight
	// Method is the merge method named by USING, lower-cased (linear,
	// ties, slerp, ...), or "" without USING. Parse accepts any
	// identifier; the planner validates it.
	Method string
	// MethodPos is the position of the method name, or the zero Position
	// without USING.
	MethodPos lexer.Position
	// Options are the method's options in source order; nil without them.
	Options []Option
	// Base is the base model named by BASE, unquoted, or "" without BASE.
	Base string
	// BasePos is the position of the base model name, or the zero
	// Position without BASE.
	BasePos lexer.Position
	// Where restricts the tensors of the inputs that take part; nil
	// without WHERE.
	Where Expr
	// Into is the target model name, unquoted, or "" without INTO.
	Into string
	// IntoPos is the position of the target model name, or the zero
	// Position without INTO.
	IntoPos lexer.Position
}

// Option returns the option with the given (lower-case) key.
func (s *Fuse) Option(key string) (Option, bool) {
	for _, o := range s.Options {
		if o.Key == key {
			return o, true
		}
	}
	return Option{}, false
}

// ShowModels is SHOW MODELS.
type ShowModels struct {
	// Pos is the position of SHOW; EndPos is just past MODELS.
	Pos, EndPos lexer.Position
}

// ShowLayers is SHOW LAYERS [OF model].
type ShowLayers struct {
	// Pos is the position of SHOW; EndPos is just past the statement.
	Pos, EndPos lexer.Position
	// Of is the model name, unquoted, or "" for all models.
	Of string
	// OfPos is the position of the model name, or the zero Position
	// without OF.
	OfPos lexer.Position
}

// ShowTensors is SHOW TENSORS [FROM model] [WHERE expr].
type ShowTensors struct {
	// Pos is the position of SHOW; EndPos is just past the statement.
	Pos, EndPos lexer.Position
	// From is the model name, unquoted, or "" for all models.
	From string
	// FromPos is the position of the model name, or the zero Position
	// without FROM.
	FromPos lexer.Position
	// Where is the filter; nil without WHERE.
	Where Expr
}

// Get is GET selector.
type Get struct {
	// Pos is the position of GET; EndPos is just past the selector.
	Pos, EndPos lexer.Position
	// Sel is the tensor (or, if the planner allows it, model) to fetch.
	Sel Selector
}

// Describe is DESCRIBE model.
type Describe struct {
	// Pos is the position of DESCRIBE; EndPos is just past the model name.
	Pos, EndPos lexer.Position
	// Model is the model name, unquoted. It is never empty.
	Model string
	// ModelPos is the position of the model name.
	ModelPos lexer.Position
}

// Stats is STATS [model].
type Stats struct {
	// Pos is the position of STATS; EndPos is just past the statement.
	Pos, EndPos lexer.Position
	// Model is the model name, unquoted, or "" for the whole store.
	Model string
	// ModelPos is the position of the model name, or the zero Position
	// without one.
	ModelPos lexer.Position
}

// Diff is DIFF selector, selector: compare two tensors, layers or models.
type Diff struct {
	// Pos is the position of DIFF; EndPos is just past the statement.
	Pos, EndPos lexer.Position
	// Left and Right are the two selectors, in source order.
	Left, Right Selector
}

// DeleteModel is DELETE MODEL model.
type DeleteModel struct {
	// Pos is the position of DELETE; EndPos is just past the model name.
	Pos, EndPos lexer.Position
	// Model is the model name, unquoted. It is never empty.
	Model string
	// ModelPos is the position of the model name.
	ModelPos lexer.Position
}

// Check is CHECK [model]: verify stored data.
type Check struct {
	// Pos is the position of CHECK; EndPos is just past the statement.
	Pos, EndPos lexer.Position
	// Model is the model name, unquoted, or "" for the whole store.
	Model string
	// ModelPos is the position of the model name, or the zero Position
	// without one.
	ModelPos lexer.Position
}

// Ingest is INGEST 'path' [AS model] [BASE model] [CODEC name [(options)]]:
// store a checkpoint as a new model. Model is "" without AS (the engine
// derives one from the file name); Codec is "" without CODEC.
type Ingest struct {
	Pos, EndPos lexer.Position
	Path        string
	PathPos     lexer.Position
	Model       string
	ModelPos    lexer.Position
	Base        string
	BasePos     lexer.Position
	Codec       string
	CodecPos    lexer.Position
	Options     []Option
}

// Export is EXPORT model TO 'path' [(options)]: write a model as
// safetensors (options: shard_size, dtype; the planner checks them).
type Export struct {
	Pos, EndPos lexer.Position
	Model       string
	ModelPos    lexer.Position
	Path        string
	PathPos     lexer.Position
	Options     []Option
}

// Compress is COMPRESS model [BASE model] CODEC name [(options)] INTO model:
// store a model again with another codec (or as deltas) under a new name.
type Compress struct {
	Pos, EndPos lexer.Position
	Model       string
	ModelPos    lexer.Position
	Base        string
	BasePos     lexer.Position
	Codec       string
	CodecPos    lexer.Position
	Options     []Option
	Into        string
	IntoPos     lexer.Position
}

// Attach is ATTACH MODEL model [FROM 'url'] or ATTACH ALL [FROM 'url']:
// build this node's catalog of a model (or of every model this node
// lacks) from its manifest in the store's object store.
type Attach struct {
	// Pos is the position of ATTACH; EndPos is just past the statement.
	Pos, EndPos lexer.Position
	// Model is the model name, unquoted, or "" for ATTACH ALL.
	Model string
	// ModelPos is the position of the model name, or the zero Position
	// for ATTACH ALL.
	ModelPos lexer.Position
	// From is the object store named by FROM (s3://bucket/prefix),
	// unquoted, or "" without FROM. Parse checks only that it is not
	// empty; the engine checks that it names the store's own bucket.
	From string
	// FromPos is the position of the FROM string, or the zero Position
	// without FROM.
	FromPos lexer.Position
}

// All reports whether the statement is ATTACH ALL.
func (s *Attach) All() bool { return s.Model == "" }

// Detach is DETACH MODEL model: forget a model on this node; its object
// store keeps it.
type Detach struct {
	// Pos is the position of DETACH; EndPos is just past the model name.
	Pos, EndPos lexer.Position
	// Model is the model name, unquoted. It is never empty.
	Model string
	// ModelPos is the position of the model name.
	ModelPos lexer.Position
}

// Vacuum is VACUUM: remove the chunk objects of the object store that no
// manifest or hold references.
type Vacuum struct {
	// Pos is the position of VACUUM; EndPos is just past it.
	Pos, EndPos lexer.Position
}

// Explain is EXPLAIN [ANALYZE] statement. Stmt is never itself an *Explain.
type Explain struct {
	// Pos is the position of EXPLAIN; EndPos is just past the statement.
	Pos, EndPos lexer.Position
	// Analyze is set by EXPLAIN ANALYZE: run the statement and report
	// what it did next to the plan.
	Analyze bool
	// Stmt is the statement to explain.
	Stmt Statement
}

// Position implements Statement.
func (s *Fuse) Position() lexer.Position { return s.Pos }

// Position implements Statement.
func (s *ShowModels) Position() lexer.Position { return s.Pos }

// Position implements Statement.
func (s *ShowLayers) Position() lexer.Position { return s.Pos }

// Position implements Statement.
func (s *ShowTensors) Position() lexer.Position { return s.Pos }

// Position implements Statement.
func (s *Get) Position() lexer.Position { return s.Pos }

// Position implements Statement.
func (s *Describe) Position() lexer.Position { return s.Pos }

// Position implements Statement.
func (s *Stats) Position() lexer.Position { return s.Pos }

// Position implements Statement.
func (s *Diff) Position() lexer.Position { return s.Pos }

// Position implements Statement.
func (s *DeleteModel) Position() lexer.Position { return s.Pos }

// Position implements Statement.
func (s *Check) Position() lexer.Position { return s.Pos }

// Position implements Statement.
func (s *Explain) Position() lexer.Position { return s.Pos }

func (*Fuse) statement()        {}
func (*ShowModels) statement()  {}
func (*ShowLayers) statement()  {}
func (*ShowTensors) statement() {}
func (*Get) statement()         {}
func (*Describe) statement()    {}
func (*Stats) statement()       {}
func (*Diff) statement()        {}
func (*DeleteModel) statement() {}
func (*Check) statement()       {}
func (*Explain) statement()     {}
func (*Ingest) statement()      {}
func (*Export) statement()      {}
func (*Compress) statement()    {}
func (*Attach) statement()      {}
func (*Detach) statement()      {}
func (*Vacuum) statement()      {}

// Position implements Statement.
func (s *Ingest) Position() lexer.Position { return s.Pos }

// Position implements Statement.
func (s *Export) Position() lexer.Position { return s.Pos }

// Position implements Statement.
func (s *Compress) Position() lexer.Position { return s.Pos }

// Position implements Statement.
func (s *Attach) Position() lexer.Position { return s.Pos }

// Position implements Statement.
func (s *Detach) Position() lexer.Position { return s.Pos }

// Position implements Statement.
func (s *Vacuum) Position() lexer.Position { return s.Pos }
