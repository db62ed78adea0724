package query

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/alecthomas/participle/v2/lexer"
)

// builder turns the participle syntax tree into the public AST and applies
// the checks that need no catalog. Checks run in source order so the first
// error reported is the leftmost one.
type builder struct {
	src string
}

func (b *builder) stmt(s *stmt) (Statement, *Error) {
	if s.Explain != nil {
		inner, err := b.plain(s.Explain.Stmt)
		if err != nil {
			return nil, err
		}
		pos, end := span(s.Explain.Tokens)
		return &Explain{Pos: pos, EndPos: end, Analyze: s.Explain.Analyze, Stmt: inner}, nil
	}
	return b.plain(s.Plain)
}

// plain builds any statement but EXPLAIN. It returns a nil interface, not
// a typed nil pointer, on error.
func (b *builder) plain(s *plainStmt) (Statement, *Error) {
	var (
		out Statement
		err *Error
	)
	switch {
	case s.Fuse != nil:
		out, err = b.fuse(s.Fuse)
	case s.Show != nil:
		out, err = b.show(s.Show)
	case s.Get != nil:
		out, err = b.get(s.Get)
	case s.Describe != nil:
		out, err = b.describe(s.Describe)
	case s.Stats != nil:
		out, err = b.stats(s.Stats)
	case s.Diff != nil:
		out, err = b.diff(s.Diff)
	case s.Delete != nil:
		out, err = b.deleteModel(s.Delete)
	case s.Ingest != nil:
		out, err = b.ingest(s.Ingest)
	case s.Export != nil:
		out, err = b.export(s.Export)
	case s.Compress != nil:
		out, err = b.compress(s.Compress)
	case s.Attach != nil:
		out, err = b.attach(s.Attach)
	case s.Detach != nil:
		out, err = b.detach(s.Detach)
	case s.Vacuum != nil:
		pos, end := span(s.Vacuum.Tokens)
		out = &Vacuum{Pos: pos, EndPos: end}
	default:
		out, err = b.check(s.Check)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (b *builder) fuse(s *fuseStmt) (*Fuse, *Error) {
	pos, end := span(s.Tokens)
	out := &Fuse{Pos: pos, EndPos: end}
	for _, in := range s.Inputs {
		sel, err := b.selector(in)
		if err != nil {
			return nil, err
		}
		out.Inputs = append(out.Inputs, sel)
	}
	if len(out.Inputs) < 2 {
		return nil, errorAt(b.src, out.Inputs[0].Pos,
			"FUSE needs at least two inputs, got %d", len(out.Inputs))
	}
	if s.WeightsKw != nil {
		out.WeightsPos = s.WeightsKw.Pos
		if len(s.Weights) != len(s.Inputs) {
			return nil, errorAt(b.src, s.WeightsKw.Pos,
				"FUSE has %d inputs but %d weights (expected one weight per input)",
				len(s.Inputs), len(s.Weights))
		}
		for _, w := range s.Weights {
			weight, err := b.weight(w)
			if err != nil {
				return nil, err
			}
			out.Weights = append(out.Weights, weight)
		}
	}
	if s.Using != nil {
		if err := b.using(s.Using, out); err != nil {
			return nil, err
		}
	}
	if s.Base != nil {
		name, err := b.model(s.Base.Tok, false)
		if err != nil {
			return nil, err
		}
		out.Base, out.BasePos = name, s.Base.Tok.Pos
	}
	if s.Where != nil {
		e, err := b.or(s.Where)
		if err != nil {
			return nil, err
		}
		out.Where = e
	}
	if s.Into != nil {
		name, err := b.model(s.Into.Tok, false)
		if err != nil {
			return nil, err
		}
		out.Into, out.IntoPos = name, s.Into.Tok.Pos
	}
	return out, nil
}

func (b *builder) weight(w *weightLit) (Weight, *Error) {
	pos, end := span(w.Tokens)
	out := Weight{Pos: pos, EndPos: end}
	if w.Num != nil {
		v, err := b.finite(*w.Num, "weight")
		out.Value = v
		return out, err
	}
	if len(w.Gradient) < 2 {
		return Weight{}, errorAt(b.src, pos,
			"a gradient needs at least two values, got %d (write a constant weight without brackets: %s)",
			len(w.Gradient), w.Gradient[0].Tok.Value)
	}
	out.Gradient = make([]float64, 0, len(w.Gradient))
	for _, n := range w.Gradient {
		v, err := b.finite(n.Tok, "weight")
		if err != nil {
			return Weight{}, err
		}
		out.Gradient = append(out.Gradient, v)
	}
	return out, nil
}

// finite parses a number token and insists that it is finite; what names
// the number in the message.
func (b *builder) finite(t lexer.Token, what string) (float64, *Error) {
	v, err := strconv.ParseFloat(t.Value, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, errorAt(b.src, t.Pos, "%s %s is not a finite number", what, t.Value)
	}
	return v, nil
}

func (b *builder) using(u *usingClause, out *Fuse) *Error {
	method, err := b.name(u.Method.Tok, "method")
	if err != nil {
		return err
	}
	out.Method, out.MethodPos = method, u.Method.Tok.Pos
	opts, err := b.options(u.Options)
	out.Options = opts
	return err
}

// options builds a parenthesised option list, refusing a key set twice.
func (b *builder) options(list []*optionExpr) ([]Option, *Error) {
	var out []Option
	for _, o := range list {
		opt, err := b.option(o)
		if err != nil {
			return nil, err
		}
		for _, prev := range out {
			if prev.Key == opt.Key {
				return nil, errorAt(b.src, opt.Pos, "duplicate option %q (first set at %d:%d)",
					opt.Key, prev.Pos.Line, prev.Pos.Column)
			}
		}
		out = append(out, opt)
	}
	return out, nil
}

func (b *builder) option(o *optionExpr) (Option, *Error) {
	pos, end := span(o.Tokens)
	key, err := b.name(o.Key, "option")
	if err != nil {
		return Option{}, err
	}
	t := o.Value.Tok
	out := Option{Pos: pos, EndPos: end, ValuePos: t.Pos, Key: key}
	switch t.Type {
	case typeNumber:
		out.Kind = OptNumber
		out.Number, err = b.finite(t, "option value")
	case typeSize:
		out.Kind = OptNumber
		out.Number, err = b.number(FieldSize, t)
	case typeString:
		out.Kind, out.Str = OptString, tokenText(t)
	default:
		out.Kind, out.Bool = OptBool, strings.EqualFold(t.Value, "TRUE")
	}
	return out, err
}

// name checks the identifier of a method or option key and lower-cases
// it.
func (b *builder) name(t lexer.Token, what string) (string, *Error) {
	if strings.Contains(t.Value, ".") {
		return "", errorAt(b.src, t.Pos, "%s name %q cannot contain '.'", what, t.Value)
	}
	return strings.ToLower(t.Value), nil
}

func (b *builder) show(s *showStmt) (Statement, *Error) {
	pos, end := span(s.Tokens)
	switch {
	case s.Models:
		return &ShowModels{Pos: pos, EndPos: end}, nil
	case s.Layers != nil:
		out := &ShowLayers{Pos: pos, EndPos: end}
		if s.Layers.Of != nil {
			name, err := b.model(s.Layers.Of.Tok, false)
			if err != nil {
				return nil, err
			}
			out.Of, out.OfPos = name, s.Layers.Of.Tok.Pos
		}
		return out, nil
	}
	out := &ShowTensors{Pos: pos, EndPos: end}
	if s.Tensors.From != nil {
		name, err := b.model(s.Tensors.From.Tok, false)
		if err != nil {
			return nil, err
		}
		out.From, out.FromPos = name, s.Tensors.From.Tok.Pos
	}
	if s.Tensors.Where != nil {
		e, err := b.or(s.Tensors.Where)
		if err != nil {
			return nil, err
		}
		out.Where = e
	}
	return out, nil
}

func (b *builder) get(s *getStmt) (*Get, *Error) {
	pos, end := span(s.Tokens)
	sel, err := b.selector(s.Sel)
	if err != nil {
		return nil, err
	}
	return &Get{Pos: pos, EndPos: end, Sel: sel}, nil
}

func (b *builder) describe(s *describeStmt) (*Describe, *Error) {
	pos, end := span(s.Tokens)
	name, err := b.model(s.Model.Tok, false)
	if err != nil {
		return nil, err
	}
	return &Describe{Pos: pos, EndPos: end, Model: name, ModelPos: s.Model.Tok.Pos}, nil
}

func (b *builder) stats(s *statsStmt) (*Stats, *Error) {
	pos, end := span(s.Tokens)
	out := &Stats{Pos: pos, EndPos: end}
	if s.Model != nil {
		name, err := b.model(s.Model.Tok, false)
		if err != nil {
			return nil, err
		}
		out.Model, out.ModelPos = name, s.Model.Tok.Pos
	}
	return out, nil
}

func (b *builder) diff(s *diffStmt) (*Diff, *Error) {
	pos, end := span(s.Tokens)
	var sels []Selector
	for _, in := range s.Inputs {
		sel, err := b.selector(in)
		if err != nil {
			return nil, err
		}
		sels = append(sels, sel)
	}
	if len(sels) != 2 {
		at := sels[0].Pos
		if len(sels) > 2 {
			at = sels[2].Pos
		}
		return nil, errorAt(b.src, at, "DIFF compares exactly two inputs, got %d", len(sels))
	}
	return &Diff{Pos: pos, EndPos: end, Left: sels[0], Right: sels[1]}, nil
}

func (b *builder) deleteModel(s *deleteStmt) (*DeleteModel, *Error) {
	pos, end := span(s.Tokens)
	name, err := b.model(s.Model.Tok, false)
	if err != nil {
		return nil, err
	}
	return &DeleteModel{Pos: pos, EndPos: end, Model: name, ModelPos: s.Model.Tok.Pos}, nil
}

func (b *builder) ingest(s *ingestStmt) (*Ingest, *Error) {
	pos, end := span(s.Tokens)
	out := &Ingest{Pos: pos, EndPos: end, Path: tokenText(s.Path), PathPos: s.Path.Pos}
	if out.Path == "" {
		return nil, errorAt(b.src, s.Path.Pos, "empty path")
	}
	var err *Error
	if s.As != nil {
		if out.Model, err = b.model(s.As.Tok, false); err != nil {
			return nil, err
		}
		out.ModelPos = s.As.Tok.Pos
	}
	if s.Base != nil {
		if out.Base, err = b.model(s.Base.Tok, false); err != nil {
			return nil, err
		}
		out.BasePos = s.Base.Tok.Pos
	}
	if s.Codec != nil {
		if out.Codec, out.CodecPos, out.Options, err = b.codec(s.Codec); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// codec reads CODEC name [(options)], options as USING's.
func (b *builder) codec(c *codecClause) (string, lexer.Position, []Option, *Error) {
	tmp := &Fuse{}
	if err := b.using(&usingClause{Method: c.Name, Options: c.Options}, tmp); err != nil {
		return "", lexer.Position{}, nil, err
	}
	return tmp.Method, tmp.MethodPos, tmp.Options, nil
}

func (b *builder) export(s *exportStmt) (*Export, *Error) {
	pos, end := span(s.Tokens)
	name, err := b.model(s.Model.Tok, false)
	if err != nil {
		return nil, err
	}
	out := &Export{Pos: pos, EndPos: end, Model: name, ModelPos: s.Model.Tok.Pos, Path: tokenText(s.Path), PathPos: s.Path.Pos}
	if out.Path == "" {
		return nil, errorAt(b.src, s.Path.Pos, "empty path")
	}
	if out.Options, err = b.options(s.Options); err != nil {
		return nil, err
	}
	return out, nil
}

func (b *builder) compress(s *compressStmt) (*Compress, *Error) {
	pos, end := span(s.Tokens)
	out := &Compress{Pos: pos, EndPos: end}
	var err *Error
	if out.Model, err = b.model(s.Model.Tok, false); err != nil {
		return nil, err
	}
	out.ModelPos = s.Model.Tok.Pos
	if s.Base != nil {
		if out.Base, err = b.model(s.Base.Tok, false); err != nil {
			return nil, err
		}
		out.BasePos = s.Base.Tok.Pos
	}
	if out.Codec, out.CodecPos, out.Options, err = b.codec(s.Codec); err != nil {
		return nil, err
	}
	if out.Into, err = b.model(s.Into.Tok, false); err != nil {
		return nil, err
	}
	out.IntoPos = s.Into.Tok.Pos
	return out, nil
}

func (b *builder) attach(s *attachStmt) (*Attach, *Error) {
	pos, end := span(s.Tokens)
	out := &Attach{Pos: pos, EndPos: end}
	if s.Model != nil {
		name, err := b.model(s.Model.Tok, false)
		if err != nil {
			return nil, err
		}
		out.Model, out.ModelPos = name, s.Model.Tok.Pos
	}
	if s.From != nil {
		out.From, out.FromPos = tokenText(*s.From), s.From.Pos
		if out.From == "" {
			return nil, errorAt(b.src, s.From.Pos, "empty object store address (write FROM 's3://bucket/prefix', or leave FROM out)")
		}
	}
	return out, nil
}

func (b *builder) detach(s *detachStmt) (*Detach, *Error) {
	pos, end := span(s.Tokens)
	name, err := b.model(s.Model.Tok, false)
	if err != nil {
		return nil, err
	}
	return &Detach{Pos: pos, EndPos: end, Model: name, ModelPos: s.Model.Tok.Pos}, nil
}

func (b *builder) check(s *checkStmt) (*Check, *Error) {
	pos, end := span(s.Tokens)
	out := &Check{Pos: pos, EndPos: end}
	if s.Model != nil {
		name, err := b.model(s.Model.Tok, false)
		if err != nil {
			return nil, err
		}
		out.Model, out.ModelPos = name, s.Model.Tok.Pos
	}
	return out, nil
}

func (b *builder) selector(s *selectorExpr) (Selector, *Error) {
	pos, end := span(s.Tokens)
	model, err := b.model(s.Model.Tok, true)
	if err != nil {
		return Selector{}, err
	}
	sel := Selector{Pos: pos, EndPos: end, Model: model}
	if s.Path != nil {
		sel.Path = tokenText(*s.Path)
		if sel.Path == "" {
			return Selector{}, errorAt(b.src, s.Path.Pos,
				"empty tensor path (write %s alone to select the whole model)", msgName(model))
		}
	}
	return sel, nil
}

// model checks a model name token. inSelector adds a model:path hint to
// the error for a dotted name.
func (b *builder) model(t lexer.Token, inSelector bool) (string, *Error) {
	name := tokenText(t)
	switch {
	case name == "":
		return "", errorAt(b.src, t.Pos, "empty model name")
	case t.Type == typeIdent && strings.Contains(name, "."):
		if inSelector {
			head, tail, _ := strings.Cut(name, ".")
			return "", errorAt(b.src, t.Pos,
				"model name %q cannot contain '.' (to select a tensor write model:path, e.g. %s:%s)", name, head, tail)
		}
		return "", errorAt(b.src, t.Pos,
			"model name %q cannot contain '.' (quote it if that is its name: %s)", name, quoteString(name))
	}
	return name, nil
}

// or builds a disjunction, folding it to the left.
func (b *builder) or(e *orExpr) (Expr, *Error) {
	var out Expr
	for i, t := range e.Terms {
		x, err := b.and(t)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			out = x
			continue
		}
		pos, _ := span(e.Terms[0].Tokens)
		_, end := span(t.Tokens)
		out = &Or{Pos: pos, EndPos: end, L: out, R: x}
	}
	return out, nil
}

// and builds a conjunction, folding it to the left.
func (b *builder) and(e *andExpr) (Expr, *Error) {
	var out Expr
	for i, f := range e.Factors {
		x, err := b.not(f)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			out = x
			continue
		}
		pos, _ := span(e.Factors[0].Tokens)
		_, end := span(f.Tokens)
		out = &And{Pos: pos, EndPos: end, L: out, R: x}
	}
	return out, nil
}

func (b *builder) not(e *notExpr) (Expr, *Error) {
	if e.Not != nil {
		x, err := b.not(e.Not)
		if err != nil {
			return nil, err
		}
		pos, end := span(e.Tokens)
		return &Not{Pos: pos, EndPos: end, X: x}, nil
	}
	if e.Primary.Paren != nil {
		return b.or(e.Primary.Paren)
	}
	c, err := b.compare(e.Primary.Compare)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// compare builds a comparison and checks that its field, operator and
// value go together.
func (b *builder) compare(c *compareExpr) (*Compare, *Error) {
	pos, end := span(c.Tokens)
	field := strings.ToLower(c.Field.Value)
	if !isKeyword(field, exprFields...) {
		hint := ""
		if s := suggest(field, exprFields); s != "" {
			hint = "; did you mean " + s + "?"
		}
		return nil, errorAt(b.src, c.Field.Pos,
			"unknown field %q (expected %s%s)", c.Field.Value, orList(exprFields), hint)
	}
	op := strings.ToUpper(c.Op.Op)
	if op == "NOTLIKE" {
		op = OpNotLike
	}
	ops, kind := stringOps, ", a string field"
	switch {
	case isKeyword(field, numberFields...):
		ops, kind = numberOps, ", a number field"
	case field == FieldTier:
		ops, kind = tierOps, ""
	}
	if !isKeyword(op, ops...) {
		return nil, errorAt(b.src, c.Op.Tokens[0].Pos,
			"operator %s does not apply to %s%s (use %s)", op, field, kind, orList(ops))
	}
	out := &Compare{Pos: pos, EndPos: end, ValuePos: c.Value.Pos, Field: field, Op: op}
	v := c.Value
	switch {
	case field == FieldTier:
		want := quotedList(tiers)
		if v.Type != typeString {
			return nil, errorAt(b.src, v.Pos, "tier is %s, got %s", want, describeToken(v))
		}
		s := strings.ToLower(tokenText(v))
		if !isKeyword(s, tiers...) {
			hint := ""
			if sg := suggest(s, tiers); sg != "" {
				hint = "; did you mean " + quoteString(sg) + "?"
			}
			return nil, errorAt(b.src, v.Pos, "tier is %s, got %s%s", want, describeToken(v), hint)
		}
		out.Str = s
	case isKeyword(field, stringFields...):
		if v.Type != typeString {
			return nil, errorAt(b.src, v.Pos, "%s takes a quoted string, got %s (write %s)",
				field, describeToken(v), quoteString(v.Value))
		}
		out.Str = tokenText(v)
	default:
		n, err := b.number(field, v)
		if err != nil {
			return nil, err
		}
		out.Num, out.IsNum = n, true
	}
	return out, nil
}

// Size units, by lower-case spelling, and their canonical spellings in
// the order messages name them.
var (
	sizeUnits = map[string]float64{
		"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
	}
	sizeUnitNames = []string{"B", "KB", "MB", "GB", "KiB", "MiB", "GiB"}
)

// number reads the value of a number field; size may carry a unit.
func (b *builder) number(field string, v lexer.Token) (float64, *Error) {
	switch v.Type {
	case typeNumber:
		return b.finite(v, "number")
	case typeSize:
		if field != FieldSize {
			return 0, errorAt(b.src, v.Pos, "%s takes a plain number, got %s (units go with size only)",
				field, v.Value)
		}
		num, unit := splitUnit(v.Value)
		mult, ok := sizeUnits[strings.ToLower(unit)]
		if !ok {
			hint := ""
			if s := suggestUnique(unit, sizeUnitNames); s != "" {
				hint = "; did you mean " + s + "?"
			}
			return 0, errorAt(b.src, v.Pos, "unknown size unit %q in %s (expected %s%s)",
				unit, v.Value, orList(sizeUnitNames), hint)
		}
		f, err := strconv.ParseFloat(num, 64)
		if f *= mult; err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, errorAt(b.src, v.Pos, "size %s is not a finite number", v.Value)
		}
		return f, nil
	}
	hint := ""
	if s := tokenText(v); s != "" && (numberRE.MatchString(s) || (field == FieldSize && sizeRE.MatchString(s))) {
		hint = fmt.Sprintf(" (write it without quotes: %s)", s)
	}
	what := "a number"
	if field == FieldSize {
		what = "a number of bytes, optionally with a unit like 10MB"
	}
	return 0, errorAt(b.src, v.Pos, "%s takes %s, got %s%s", field, what, describeToken(v), hint)
}

// splitUnit splits a size token into its number and its unit. The
// number is the longest prefix that reads as one, as in the lexer.
func splitUnit(s string) (num, unit string) {
	m := splitUnitRE.FindStringSubmatch(s)
	if m == nil {
		return s, ""
	}
	return m[1], m[2]
}

// quotedList lists values as quoted strings: 'a', 'b' or 'c'.
func quotedList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = quoteString(v)
	}
	return orList(q)
}

// msgName formats a model name for an error message: as it would be
// written in a query, or Go-quoted if it holds control characters.
func msgName(name string) string {
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return strconv.Quote(name)
	}
	return formatModel(name)
}

// tokenText returns an identifier, path or number as written and a string
// literal unquoted ('it”s' becomes it's).
func tokenText(t lexer.Token) string {
	if t.Type != typeString {
		return t.Value
	}
	v := t.Value[1 : len(t.Value)-1]
	return strings.ReplaceAll(v, "''", "'")
}

// span returns the position of the first token and the position just past
// the last one.
func span(toks []lexer.Token) (pos, end lexer.Position) {
	if len(toks) == 0 {
		return pos, end
	}
	return toks[0].Pos, endOf(toks[len(toks)-1])
}
