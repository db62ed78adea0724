package query

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/alecthomas/participle/v2/lexer"
)

// validCases are statements that must parse; want is their canonical
// String(). They also seed FuzzParse.
var validCases = []struct {
	in, want string
}{
	// FUSE
	{"FUSE a:x, b:y WEIGHTS 0.5, 0.5", "FUSE a:x, b:y WEIGHTS 0.5, 0.5"},
	{"fuse a:x,b:y weights .5,.5 into c;", "FUSE a:x, b:y WEIGHTS 0.5, 0.5 INTO c"},
	{"FUSE bert:encoder.layer.3, roberta:encoder.layer.3 WEIGHTS 2, -1 INTO merged",
		"FUSE bert:encoder.layer.3, roberta:encoder.layer.3 WEIGHTS 2, -1 INTO merged"},
	{"FUSE m1:encoder.layer.0.attention.self.query.weight, m2:encoder.layer.0.attention.self.query.weight WEIGHTS 1e-3, 0.999",
		"FUSE m1:encoder.layer.0.attention.self.query.weight, m2:encoder.layer.0.attention.self.query.weight WEIGHTS 0.001, 0.999"},
	{"FUSE a, b, c WEIGHTS 1, 1, 1", "FUSE a, b, c WEIGHTS 1, 1, 1"},
	{"FUSE seq:0.weight, seq:1.weight WEIGHTS +1, -0.25E+1", "FUSE seq:0.weight, seq:1.weight WEIGHTS 1, -2.5"},
	{"FUSE 'my model':'a/b c', other:x WEIGHTS 1., 2 INTO 'out model'",
		"FUSE 'my model':'a/b c', other:x WEIGHTS 1, 2 INTO 'out model'"},
	{"FUSE a:'it''s', b:x WEIGHTS 1, 1", "FUSE a:'it''s', b:x WEIGHTS 1, 1"},
	{"FUSE my-model_2:x-y, _m:z WEIGHTS 1e21, 1e-7", "FUSE my-model_2:x-y, _m:z WEIGHTS 1e+21, 1e-07"},
	{"FUSE a : x , b :\n  y WEIGHTS 1 , 2", "FUSE a:x, b:y WEIGHTS 1, 2"},
	{"-- merge two\nFUSE a:x, -- first\n b:y -- second\n WEIGHTS 1, 2 -- weights\n;", "FUSE a:x, b:y WEIGHTS 1, 2"},
	// Keywords are not reserved: they may name models and paths.
	{"FUSE weights:into, from:where WEIGHTS 1, 2 INTO fuse", "FUSE weights:into, from:where WEIGHTS 1, 2 INTO fuse"},
	{"FUSE a:x, b:'--y' WEIGHTS 1, 2", "FUSE a:x, b:'--y' WEIGHTS 1, 2"},

	// SHOW
	{"SHOW MODELS", "SHOW MODELS"},
	{"show models ;", "SHOW MODELS"},
	{"SHOW TENSORS", "SHOW TENSORS"},
	{"SHOW TENSORS FROM bert", "SHOW TENSORS FROM bert"},
	{"SHOW TENSORS FROM 'odd name'", "SHOW TENSORS FROM 'odd name'"},
	{"SHOW TENSORS WHERE layer = 'encoder.layer.3'", "SHOW TENSORS WHERE layer = 'encoder.layer.3'"},
	{"show tensors from bert where Name like 'enc%' and DTYPE != 'f16' AND codec = 'it''s' and param='weight'",
		"SHOW TENSORS FROM bert WHERE name LIKE 'enc%' AND dtype != 'f16' AND codec = 'it''s' AND param = 'weight'"},
	{"SHOW TENSORS WHERE name = ''", "SHOW TENSORS WHERE name = ''"},
	{"SHOW TENSORS FROM where WHERE layer = 'x'", "SHOW TENSORS FROM where WHERE layer = 'x'"},

	// GET
	{"GET bert:encoder.layer.0.attention.self.query.weight", "GET bert:encoder.layer.0.attention.self.query.weight"},
	{"get m:0.weight;", "GET m:0.weight"},
	{"GET m:3", "GET m:3"},
	{"GET m", "GET m"},
	{"GET m:'a/b c'", "GET m:'a/b c'"},
	{"GET 'a.b':c", "GET 'a.b':c"},

	// EXPLAIN
	{"EXPLAIN GET m:x", "EXPLAIN GET m:x"},
	{"explain show models;", "EXPLAIN SHOW MODELS"},
	{"EXPLAIN FUSE a:x, b:y WEIGHTS 0.5, 0.5 INTO c", "EXPLAIN FUSE a:x, b:y WEIGHTS 0.5, 0.5 INTO c"},
	{"EXPLAIN SHOW TENSORS FROM m WHERE param LIKE '%bias'", "EXPLAIN SHOW TENSORS FROM m WHERE param LIKE '%bias'"},
}

func TestParseValid(t *testing.T) {
	for _, tc := range validCases {
		t.Run(tc.in, func(t *testing.T) {
			stmt, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got := stmt.String(); got != tc.want {
				t.Fatalf("String() = %q, want %q", got, tc.want)
			}
			// Round trip: the canonical form parses to the same tree,
			// positions aside, and prints identically.
			again, err := Parse(tc.want)
			if err != nil {
				t.Fatalf("Parse(String()) = %v", err)
			}
			if again.String() != tc.want {
				t.Fatalf("String() not stable: %q then %q", tc.want, again.String())
			}
			if a, b := stripPositions(stmt), stripPositions(again); !reflect.DeepEqual(a, b) {
				t.Fatalf("round trip changed the tree:\n%#v\n%#v", a, b)
			}
		})
	}
}

// stripPositions returns a copy of v with every lexer.Position zeroed.
func stripPositions(v any) any {
	rv := reflect.ValueOf(v)
	out := reflect.New(rv.Type()).Elem()
	zeroPositions(out, rv)
	return out.Interface()
}

var positionType = reflect.TypeOf(lexer.Position{})

func zeroPositions(dst, src reflect.Value) {
	switch {
	case src.Type() == positionType:
		return // leave dst zero
	case src.Kind() == reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		zeroPositions(p.Elem(), src.Elem())
		dst.Set(p)
	case src.Kind() == reflect.Interface:
		if src.IsNil() {
			return
		}
		inner := reflect.New(src.Elem().Type()).Elem()
		zeroPositions(inner, src.Elem())
		dst.Set(inner)
	case src.Kind() == reflect.Struct:
		for i := 0; i < src.NumField(); i++ {
			zeroPositions(dst.Field(i), src.Field(i))
		}
	case src.Kind() == reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := 0; i < src.Len(); i++ {
			zeroPositions(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	default:
		dst.Set(src)
	}
}

func pos(off, line, col int) lexer.Position {
	return lexer.Position{Offset: off, Line: line, Column: col}
}

func TestParseFuseTree(t *testing.T) {
	src := "FUSE a:x.y, 'b c':'p/q'\n  WEIGHTS 0.25, -1e-3 INTO out;"
	stmt, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	want := &Fuse{
		Pos:    pos(0, 1, 1),
		EndPos: pos(54, 2, 31),
		Inputs: []Selector{
			{Pos: pos(5, 1, 6), EndPos: pos(10, 1, 11), Model: "a", Path: "x.y"},
			{Pos: pos(12, 1, 13), EndPos: pos(23, 1, 24), Model: "b c", Path: "p/q"},
		},
		WeightsPos: pos(26, 2, 3),
		Weights: []Weight{
			{Pos: pos(34, 2, 11), EndPos: pos(38, 2, 15), Value: 0.25},
			{Pos: pos(40, 2, 17), EndPos: pos(45, 2, 22), Value: -0.001},
		},
		Into:    "out",
		IntoPos: pos(51, 2, 28),
	}
	if !reflect.DeepEqual(stmt, Statement(want)) {
		t.Fatalf("got  %#v\nwant %#v", stmt, want)
	}
	if stmt.Position() != want.Pos {
		t.Fatalf("Position() = %v", stmt.Position())
	}
}

func TestParseShowTensorsTree(t *testing.T) {
	stmt, err := Parse("SHOW TENSORS FROM m WHERE Layer LIKE 'enc%' AND dtype != 'it''s'")
	if err != nil {
		t.Fatal(err)
	}
	want := &ShowTensors{
		Pos:     pos(0, 1, 1),
		EndPos:  pos(64, 1, 65),
		From:    "m",
		FromPos: pos(18, 1, 19),
		Where: []Predicate{
			{Pos: pos(26, 1, 27), EndPos: pos(43, 1, 44), Field: FieldLayer, Op: OpLike, Value: "enc%"},
			{Pos: pos(48, 1, 49), EndPos: pos(64, 1, 65), Field: FieldDType, Op: OpNe, Value: "it's"},
		},
	}
	if !reflect.DeepEqual(stmt, Statement(want)) {
		t.Fatalf("got  %#v\nwant %#v", stmt, want)
	}
}

func TestParseStatementTypes(t *testing.T) {
	for src, want := range map[string]Statement{
		"SHOW MODELS":                 &ShowModels{},
		"SHOW TENSORS":                &ShowTensors{},
		"GET m:x":                     &Get{Sel: Selector{Model: "m", Path: "x"}},
		"GET m":                       &Get{Sel: Selector{Model: "m"}},
		"EXPLAIN GET m":               &Explain{Stmt: &Get{Sel: Selector{Model: "m"}}},
		"FUSE a, b WEIGHTS 1, 2":      &Fuse{Inputs: []Selector{{Model: "a"}, {Model: "b"}}, Weights: []Weight{{Value: 1}, {Value: 2}}},
		"EXPLAIN SHOW TENSORS FROM m": &Explain{Stmt: &ShowTensors{From: "m"}},
	} {
		got, err := Parse(src)
		if err != nil {
			t.Fatalf("Parse(%q): %v", src, err)
		}
		if !reflect.DeepEqual(stripPositions(got), stripPositions(want)) {
			t.Errorf("Parse(%q) = %#v, want %#v", src, got, want)
		}
	}
	get, _ := Parse("GET m")
	if !get.(*Get).Sel.WholeModel() {
		t.Error("GET m: WholeModel() = false")
	}
	get, _ = Parse("GET m:x")
	if get.(*Get).Sel.WholeModel() {
		t.Error("GET m:x: WholeModel() = true")
	}
}

func TestStringQuotesWhereNeeded(t *testing.T) {
	for _, tc := range []struct {
		sel  Selector
		want string
	}{
		{Selector{Model: "m", Path: "a.b.0"}, "m:a.b.0"},
		{Selector{Model: "m", Path: "0"}, "m:0"},
		{Selector{Model: "m"}, "m"},
		{Selector{Model: "m.n", Path: "x"}, "'m.n':x"},
		{Selector{Model: "9m", Path: "x"}, "'9m':x"},
		{Selector{Model: "m", Path: "a..b"}, "m:'a..b'"},
		{Selector{Model: "m", Path: "a.b."}, "m:'a.b.'"},
		{Selector{Model: "m", Path: "--x"}, "m:'--x'"},
		{Selector{Model: "m", Path: "o'clock"}, "m:'o''clock'"},
		{Selector{Model: "", Path: "x"}, "'':x"},
	} {
		if got := tc.sel.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.sel, got, tc.want)
		}
	}
	if got := (&Explain{}).String(); got != "EXPLAIN" {
		t.Errorf("empty Explain = %q", got)
	}
	if got := (Weight{Value: math.Inf(1)}).String(); got != "+Inf" {
		t.Errorf("Inf weight = %q", got)
	}
}

func TestEBNFHasEveryStatement(t *testing.T) {
	g := EBNF()
	for _, kw := range allKeywords {
		if !strings.Contains(g, `"`+kw+`"`) {
			t.Errorf("EBNF() lacks keyword %s:\n%s", kw, g)
		}
	}
}
