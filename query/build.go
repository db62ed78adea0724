package query

import (
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
		return &Explain{Pos: pos, EndPos: end, Stmt: inner}, nil
	}
	return b.plain(s.Plain)
}

func (b *builder) plain(s *plainStmt) (Statement, *Error) {
	// Return nil interfaces, not typed nil pointers, on error.
	switch {
	case s.Fuse != nil:
		f, err := b.fuse(s.Fuse)
		if err != nil {
			return nil, err
		}
		return f, nil
	case s.Show != nil:
		return b.show(s.Show)
	default:
		g, err := b.get(s.Get)
		if err != nil {
			return nil, err
		}
		return g, nil
	}
}

func (b *builder) fuse(s *fuseStmt) (*Fuse, *Error) {
	pos, end := span(s.Tokens)
	out := &Fuse{Pos: pos, EndPos: end, WeightsPos: s.WeightsKw.Pos}
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
	if len(s.Weights) != len(s.Inputs) {
		return nil, errorAt(b.src, s.WeightsKw.Pos,
			"FUSE has %d inputs but %d weights (expected one weight per input)",
			len(s.Inputs), len(s.Weights))
	}
	for _, w := range s.Weights {
		v, err := strconv.ParseFloat(w.Tok.Value, 64)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, errorAt(b.src, w.Tok.Pos, "weight %s is not a finite number", w.Tok.Value)
		}
		out.Weights = append(out.Weights, Weight{Pos: w.Tok.Pos, EndPos: endOf(w.Tok), Value: v})
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

func (b *builder) show(s *showStmt) (Statement, *Error) {
	pos, end := span(s.Tokens)
	if s.Models {
		return &ShowModels{Pos: pos, EndPos: end}, nil
	}
	out := &ShowTensors{Pos: pos, EndPos: end}
	if s.Tensors.From != nil {
		name, err := b.model(s.Tensors.From.Tok, false)
		if err != nil {
			return nil, err
		}
		out.From, out.FromPos = name, s.Tensors.From.Tok.Pos
	}
	for _, p := range s.Tensors.Where {
		pred, err := b.predicate(p)
		if err != nil {
			return nil, err
		}
		out.Where = append(out.Where, pred)
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

func (b *builder) predicate(p *predicateExpr) (Predicate, *Error) {
	pos, end := span(p.Tokens)
	field := strings.ToLower(p.Field.Value)
	if !isKeyword(field, predicateFields...) {
		hint := ""
		if s := suggest(field, predicateFields); s != "" {
			hint = "; did you mean " + s + "?"
		}
		return Predicate{}, errorAt(b.src, p.Field.Pos,
			"unknown field %q (expected %s%s)", p.Field.Value, orList(predicateFields), hint)
	}
	return Predicate{
		Pos:    pos,
		EndPos: end,
		Field:  field,
		Op:     strings.ToUpper(p.Op),
		Value:  tokenText(p.Value),
	}, nil
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
