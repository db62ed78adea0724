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

	// FUSE with gradients, USING, BASE and WHERE
	{"FUSE a, b WEIGHTS [0, 0.5, 1], [1, .5, 0]", "FUSE a, b WEIGHTS [0, 0.5, 1], [1, 0.5, 0]"},
	{"FUSE a, b WEIGHTS [ 0 , 1 ] , 1", "FUSE a, b WEIGHTS [0, 1], 1"},
	{"fuse a, b using SLERP (T = .3)", "FUSE a, b USING slerp (t = 0.3)"},
	{"FUSE a, b, c USING model_stock BASE a", "FUSE a, b, c USING model_stock BASE a"},
	{"FUSE a, b WEIGHTS 0.7, 0.3 USING linear", "FUSE a, b WEIGHTS 0.7, 0.3 USING linear"},
	{"FUSE base, ft1, ft2 WEIGHTS 1, 0.5, 0.5 USING ties (density = 0.5, normalize = true, int8_mask = FALSE, tag = 'x''y', seed = 1e6) BASE base INTO out",
		"FUSE base, ft1, ft2 WEIGHTS 1, 0.5, 0.5 USING ties (density = 0.5, normalize = TRUE, int8_mask = FALSE, tag = 'x''y', seed = 1000000) BASE base INTO out"},
	{"FUSE a, b USING dare_ties(density=-0.25,lambda=1)", "FUSE a, b USING dare_ties (density = -0.25, lambda = 1)"},
	{"FUSE a, b WEIGHTS 1, 1 WHERE layer LIKE 'model.layers.%' AND param != 'lm_head.weight' INTO c",
		"FUSE a, b WEIGHTS 1, 1 WHERE layer LIKE 'model.layers.%' AND param != 'lm_head.weight' INTO c"},
	{"FUSE a, b USING task_arithmetic BASE 'odd base' WHERE NOT name like '%norm%'",
		"FUSE a, b USING task_arithmetic BASE 'odd base' WHERE NOT name LIKE '%norm%'"},
	// Keywords are not reserved: they may name models, methods and options.
	{"FUSE using, base USING using (using = 1, where = 'x') BASE where WHERE model = 'into' INTO into",
		"FUSE using, base USING using (using = 1, where = 'x') BASE where WHERE model = 'into' INTO into"},

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
	{"show layers", "SHOW LAYERS"},
	{"SHOW LAYERS OF bert;", "SHOW LAYERS OF bert"},
	{"SHOW LAYERS OF of", "SHOW LAYERS OF of"},
	{"SHOW LAYERS OF 'my model'", "SHOW LAYERS OF 'my model'"},

	// WHERE expressions: precedence, parentheses, NOT, operators, types.
	{"SHOW TENSORS WHERE layer = 'a' OR layer = 'b' AND dtype = 'f16'",
		"SHOW TENSORS WHERE layer = 'a' OR layer = 'b' AND dtype = 'f16'"},
	{"SHOW TENSORS WHERE (layer = 'a' OR layer = 'b') AND dtype = 'f16'",
		"SHOW TENSORS WHERE (layer = 'a' OR layer = 'b') AND dtype = 'f16'"},
	{"SHOW TENSORS WHERE ((layer = 'a')) AND (dtype = 'f16')", "SHOW TENSORS WHERE layer = 'a' AND dtype = 'f16'"},
	{"SHOW TENSORS WHERE (layer = 'a' AND dtype = 'f16') AND codec = 'zstd'",
		"SHOW TENSORS WHERE layer = 'a' AND dtype = 'f16' AND codec = 'zstd'"},
	{"SHOW TENSORS WHERE layer = 'a' AND (dtype = 'f16' AND codec = 'zstd')",
		"SHOW TENSORS WHERE layer = 'a' AND (dtype = 'f16' AND codec = 'zstd')"},
	{"SHOW TENSORS WHERE layer = 'a' OR (dtype = 'f16' OR codec = 'zstd')",
		"SHOW TENSORS WHERE layer = 'a' OR (dtype = 'f16' OR codec = 'zstd')"},
	{"SHOW TENSORS WHERE (layer = 'a' AND dtype = 'f16') OR (codec = 'zstd' AND name = 'x')",
		"SHOW TENSORS WHERE layer = 'a' AND dtype = 'f16' OR codec = 'zstd' AND name = 'x'"},
	{"SHOW TENSORS WHERE not (layer = 'a' or model = 'b')", "SHOW TENSORS WHERE NOT (layer = 'a' OR model = 'b')"},
	{"SHOW TENSORS WHERE NOT layer = 'a' AND NOT NOT model = 'b'", "SHOW TENSORS WHERE NOT layer = 'a' AND NOT NOT model = 'b'"},
	{"SHOW TENSORS WHERE (NOT layer = 'a') OR name NOT LIKE '%.bias'", "SHOW TENSORS WHERE NOT layer = 'a' OR name NOT LIKE '%.bias'"},
	{"SHOW TENSORS WHERE name not like 'x%'", "SHOW TENSORS WHERE name NOT LIKE 'x%'"},
	{"SHOW TENSORS WHERE size > 10MB", "SHOW TENSORS WHERE size > 10MB"},
	{"SHOW TENSORS WHERE size >= 1.5gib AND size < 512KiB AND size <= 100b AND size != 1024",
		"SHOW TENSORS WHERE size >= 1.5GiB AND size < 512KiB AND size <= 100 AND size != 1KiB"},
	{"SHOW TENSORS WHERE size > 1e3 AND size > 1536 AND size = 0 AND size > 2000kb", "SHOW TENSORS WHERE size > 1KB AND size > 1536 AND size = 0 AND size > 2MB"},
	{"SHOW TENSORS WHERE elements>=1e6 AND reads<3 AND reads=0.5", "SHOW TENSORS WHERE elements >= 1000000 AND reads < 3 AND reads = 0.5"},
	{"SHOW TENSORS WHERE tier = 'HOT' OR tier != 'Cold'", "SHOW TENSORS WHERE tier = 'hot' OR tier != 'cold'"},
	{"SHOW TENSORS FROM m WHERE model = 'm' AND Tier = 'warm'", "SHOW TENSORS FROM m WHERE model = 'm' AND tier = 'warm'"},

	// DESCRIBE, STATS, DIFF, DELETE MODEL, CHECK
	{"describe bert;", "DESCRIBE bert"},
	{"DESCRIBE 'my model'", "DESCRIBE 'my model'"},
	{"STATS", "STATS"},
	{"stats bert", "STATS bert"},
	{"STATS stats", "STATS stats"},
	{"DIFF bert, bert_ft", "DIFF bert, bert_ft"},
	{"diff a:encoder.layer.3,b:'x y'", "DIFF a:encoder.layer.3, b:'x y'"},
	{"DELETE MODEL bert", "DELETE MODEL bert"},
	{"delete model model;", "DELETE MODEL model"},
	{"CHECK", "CHECK"},
	{"check 'my model'", "CHECK 'my model'"},
	{"ingest 'm.safetensors'", "INGEST 'm.safetensors'"},
	{"INGEST '/w/ft.safetensors' as ft base llama codec q8", "INGEST '/w/ft.safetensors' AS ft BASE llama CODEC q8"},
	{"INGEST 'x' CODEC auto(budget = 0.01)", "INGEST 'x' CODEC auto(budget = 0.01)"},
	{"export m to 'o''k.safetensors'", "EXPORT m TO 'o''k.safetensors'"},
	{"COMPRESS m BASE b CODEC lossless INTO m2", "COMPRESS m BASE b CODEC lossless INTO m2"},

	// ATTACH, DETACH, VACUUM
	{"attach model llama", "ATTACH MODEL llama"},
	{"ATTACH MODEL 'my model' FROM 's3://models/zoo';", "ATTACH MODEL 'my model' FROM 's3://models/zoo'"},
	{"attach all", "ATTACH ALL"},
	{"ATTACH ALL from 's3://it''s/zoo?endpoint=http://localhost:9000'", "ATTACH ALL FROM 's3://it''s/zoo?endpoint=http://localhost:9000'"},
	{"ATTACH MODEL all", "ATTACH MODEL all"},
	{"ATTACH MODEL from FROM 's3://b'", "ATTACH MODEL from FROM 's3://b'"},
	{"detach model llama;", "DETACH MODEL llama"},
	{"DETACH MODEL vacuum", "DETACH MODEL vacuum"},
	{"vacuum", "VACUUM"},
	{"VACUUM;", "VACUUM"},
	// The new keywords stay usable as names.
	{"STATS all", "STATS all"},
	{"DESCRIBE vacuum", "DESCRIBE vacuum"},
	{"DELETE MODEL attach", "DELETE MODEL attach"},
	{"SHOW TENSORS FROM detach", "SHOW TENSORS FROM detach"},
	{"FUSE attach, detach WEIGHTS 1, 1 INTO all", "FUSE attach, detach WEIGHTS 1, 1 INTO all"},

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
	{"explain analyze fuse a, b weights 1, 1", "EXPLAIN ANALYZE FUSE a, b WEIGHTS 1, 1"},
	{"EXPLAIN ANALYZE STATS analyze", "EXPLAIN ANALYZE STATS analyze"},
	{"EXPLAIN DIFF a, b", "EXPLAIN DIFF a, b"},
	{"EXPLAIN DELETE MODEL m", "EXPLAIN DELETE MODEL m"},
	{"EXPLAIN CHECK", "EXPLAIN CHECK"},
	{"EXPLAIN SHOW LAYERS OF m", "EXPLAIN SHOW LAYERS OF m"},
	{"EXPLAIN DESCRIBE m", "EXPLAIN DESCRIBE m"},
	{"EXPLAIN ATTACH ALL", "EXPLAIN ATTACH ALL"},
	{"explain analyze attach model m from 's3://b/p'", "EXPLAIN ANALYZE ATTACH MODEL m FROM 's3://b/p'"},
	{"EXPLAIN DETACH MODEL m", "EXPLAIN DETACH MODEL m"},
	{"EXPLAIN VACUUM", "EXPLAIN VACUUM"},
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
		Where: &And{
			Pos: pos(26, 1, 27), EndPos: pos(64, 1, 65),
			L: &Compare{Pos: pos(26, 1, 27), EndPos: pos(43, 1, 44), ValuePos: pos(37, 1, 38), Field: FieldLayer, Op: OpLike, Str: "enc%"},
			R: &Compare{Pos: pos(48, 1, 49), EndPos: pos(64, 1, 65), ValuePos: pos(57, 1, 58), Field: FieldDType, Op: OpNe, Str: "it's"},
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
		"SHOW LAYERS":                 &ShowLayers{},
		"SHOW LAYERS OF m":            &ShowLayers{Of: "m"},
		"SHOW TENSORS WHERE size > 1": &ShowTensors{Where: &Compare{Field: FieldSize, Op: OpGt, Num: 1, IsNum: true}},
		"DESCRIBE m":                  &Describe{Model: "m"},
		"STATS":                       &Stats{},
		"STATS m":                     &Stats{Model: "m"},
		"DIFF a, b:x":                 &Diff{Left: Selector{Model: "a"}, Right: Selector{Model: "b", Path: "x"}},
		"DELETE MODEL m":              &DeleteModel{Model: "m"},
		"CHECK":                       &Check{},
		"CHECK m":                     &Check{Model: "m"},
		"INGEST 'p' AS m CODEC q4":    &Ingest{Path: "p", Model: "m", Codec: "q4"},
		"EXPORT m TO 'p'":             &Export{Model: "m", Path: "p"},
		"COMPRESS m CODEC q8 INTO n":  &Compress{Model: "m", Codec: "q8", Into: "n"},
		"EXPLAIN ANALYZE CHECK":       &Explain{Analyze: true, Stmt: &Check{}},
		"ATTACH MODEL m":              &Attach{Model: "m"},
		"ATTACH ALL FROM 's3://b/p'":  &Attach{From: "s3://b/p"},
		"DETACH MODEL m":              &Detach{Model: "m"},
		"EXPLAIN VACUUM":              &Explain{Stmt: &Vacuum{}},
		"FUSE a, b USING slerp":       &Fuse{Inputs: []Selector{{Model: "a"}, {Model: "b"}}, Method: "slerp"},
		"FUSE a, b WEIGHTS [0, 1], 1": &Fuse{Inputs: []Selector{{Model: "a"}, {Model: "b"}}, Weights: []Weight{{Gradient: []float64{0, 1}}, {Value: 1}}},
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

func TestParseFuseUsingTree(t *testing.T) {
	src := "FUSE a, b:x WEIGHTS [0, 1], 2\n USING Ties (Density = 0.5, tag = 'v', norm = true) BASE a WHERE NOT size > 1KiB"
	stmt, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	want := &Fuse{
		Pos:    pos(0, 1, 1),
		EndPos: pos(110, 2, 81),
		Inputs: []Selector{
			{Pos: pos(5, 1, 6), EndPos: pos(6, 1, 7), Model: "a"},
			{Pos: pos(8, 1, 9), EndPos: pos(11, 1, 12), Model: "b", Path: "x"},
		},
		WeightsPos: pos(12, 1, 13),
		Weights: []Weight{
			{Pos: pos(20, 1, 21), EndPos: pos(26, 1, 27), Gradient: []float64{0, 1}},
			{Pos: pos(28, 1, 29), EndPos: pos(29, 1, 30), Value: 2},
		},
		Method:    "ties",
		MethodPos: pos(37, 2, 8),
		Options: []Option{
			{Pos: pos(43, 2, 14), EndPos: pos(56, 2, 27), ValuePos: pos(53, 2, 24), Key: "density", Kind: OptNumber, Number: 0.5},
			{Pos: pos(58, 2, 29), EndPos: pos(67, 2, 38), ValuePos: pos(64, 2, 35), Key: "tag", Kind: OptString, Str: "v"},
			{Pos: pos(69, 2, 40), EndPos: pos(80, 2, 51), ValuePos: pos(76, 2, 47), Key: "norm", Kind: OptBool, Bool: true},
		},
		Base:    "a",
		BasePos: pos(87, 2, 58),
		Where: &Not{
			Pos: pos(95, 2, 66), EndPos: pos(110, 2, 81),
			X: &Compare{Pos: pos(99, 2, 70), EndPos: pos(110, 2, 81), ValuePos: pos(106, 2, 77), Field: FieldSize, Op: OpGt, Num: 1024, IsNum: true},
		},
	}
	if !reflect.DeepEqual(stmt, Statement(want)) {
		t.Fatalf("got  %#v\nwant %#v", stmt, want)
	}
	f := stmt.(*Fuse)
	if o, ok := f.Option("tag"); !ok || o.Str != "v" {
		t.Errorf("Option(tag) = %v, %v", o, ok)
	}
	if _, ok := f.Option("missing"); ok {
		t.Error("Option(missing) found")
	}
}

// ATTACH, DETACH and VACUUM record the positions of their parts.
func TestParseTierPositions(t *testing.T) {
	for src, want := range map[string]Statement{
		"ATTACH MODEL m FROM 's3://b'": &Attach{Pos: pos(0, 1, 1), EndPos: pos(28, 1, 29), Model: "m", ModelPos: pos(13, 1, 14),
			From: "s3://b", FromPos: pos(20, 1, 21)},
		"ATTACH ALL":     &Attach{Pos: pos(0, 1, 1), EndPos: pos(10, 1, 11)},
		"DETACH MODEL m": &Detach{Pos: pos(0, 1, 1), EndPos: pos(14, 1, 15), Model: "m", ModelPos: pos(13, 1, 14)},
		" VACUUM ;":      &Vacuum{Pos: pos(1, 1, 2), EndPos: pos(7, 1, 8)},
	} {
		got, err := Parse(src)
		if err != nil {
			t.Fatalf("Parse(%q): %v", src, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%q) =\n %#v\nwant\n %#v", src, got, want)
		}
	}
	a, _ := Parse("ATTACH ALL")
	if !a.(*Attach).All() {
		t.Error("ATTACH ALL: All() = false")
	}
	a, _ = Parse("ATTACH MODEL all")
	if a.(*Attach).All() {
		t.Error("ATTACH MODEL all: All() = true")
	}
}
