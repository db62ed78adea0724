package query

import (
	"reflect"
	"testing"
)

// where parses SHOW TENSORS WHERE src and returns the expression.
func where(t *testing.T, src string) Expr {
	t.Helper()
	stmt, err := Parse("SHOW TENSORS WHERE " + src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return stmt.(*ShowTensors).Where
}

func TestParseExprTree(t *testing.T) {
	// Offsets count from the start of "SHOW TENSORS WHERE " (19 bytes).
	got := where(t, "(layer = 'a' OR NOT tier = 'hot') AND size <= 2KB")
	cmp := func(off int, end int, valueOff int, field, op, str string, num float64) *Compare {
		return &Compare{Pos: pos(19+off, 1, 20+off), EndPos: pos(19+end, 1, 20+end), ValuePos: pos(19+valueOff, 1, 20+valueOff),
			Field: field, Op: op, Str: str, Num: num, IsNum: str == ""}
	}
	want := &And{
		Pos: pos(19, 1, 20), EndPos: pos(68, 1, 69),
		L: &Or{
			Pos: pos(20, 1, 21), EndPos: pos(51, 1, 52),
			L: cmp(1, 12, 9, FieldLayer, OpEq, "a", 0),
			R: &Not{
				Pos: pos(35, 1, 36), EndPos: pos(51, 1, 52),
				X: cmp(20, 32, 27, FieldTier, OpEq, "hot", 0),
			},
		},
		R: cmp(38, 49, 46, FieldSize, OpLe, "", 2000),
	}
	if !reflect.DeepEqual(got, Expr(want)) {
		t.Fatalf("got  %s\nwant %s", dumpExpr(got), dumpExpr(want))
	}
	if got.Position() != want.Pos {
		t.Errorf("Position() = %v", got.Position())
	}
}

// dumpExpr prints an expression with positions, for failure messages.
func dumpExpr(e Expr) string {
	switch e := e.(type) {
	case *Or:
		return "Or@" + e.Pos.String() + "-" + e.EndPos.String() + "{" + dumpExpr(e.L) + ", " + dumpExpr(e.R) + "}"
	case *And:
		return "And@" + e.Pos.String() + "-" + e.EndPos.String() + "{" + dumpExpr(e.L) + ", " + dumpExpr(e.R) + "}"
	case *Not:
		return "Not@" + e.Pos.String() + "-" + e.EndPos.String() + "{" + dumpExpr(e.X) + "}"
	case *Compare:
		return "Compare@" + e.Pos.String() + "-" + e.EndPos.String() + "/" + e.ValuePos.String() + "{" + e.String() + "}"
	}
	return "nil"
}

func TestParseExprAssociativity(t *testing.T) {
	a := &Compare{Field: FieldLayer, Op: OpEq, Str: "a"}
	b := &Compare{Field: FieldLayer, Op: OpEq, Str: "b"}
	c := &Compare{Field: FieldLayer, Op: OpEq, Str: "c"}
	for src, want := range map[string]Expr{
		"layer = 'a' AND layer = 'b' AND layer = 'c'":   &And{L: &And{L: a, R: b}, R: c},
		"layer = 'a' AND (layer = 'b' AND layer = 'c')": &And{L: a, R: &And{L: b, R: c}},
		"layer = 'a' OR layer = 'b' AND layer = 'c'":    &Or{L: a, R: &And{L: b, R: c}},
		"layer = 'a' AND layer = 'b' OR layer = 'c'":    &Or{L: &And{L: a, R: b}, R: c},
		"NOT layer = 'a' AND layer = 'b'":               &And{L: &Not{X: a}, R: b},
		"NOT (layer = 'a' AND layer = 'b')":             &Not{X: &And{L: a, R: b}},
		"layer = 'a' OR layer = 'b' OR layer = 'c'":     &Or{L: &Or{L: a, R: b}, R: c},
	} {
		if got := where(t, src); !reflect.DeepEqual(stripPositions(got), stripPositions(want)) {
			t.Errorf("%s: got %s", src, dumpExpr(got))
		}
	}
}

// TestExprStringParens checks minimal parenthesisation on trees built by
// hand, including right-nested ones that Parse only produces from
// parenthesised input.
func TestExprStringParens(t *testing.T) {
	a := &Compare{Field: FieldLayer, Op: OpEq, Str: "a"}
	b := &Compare{Field: FieldSize, Op: OpGt, Num: 1 << 20, IsNum: true}
	c := &Compare{Field: FieldReads, Op: OpGe, Num: 3, IsNum: true}
	for _, tc := range []struct {
		e    Expr
		want string
	}{
		{&And{L: &And{L: a, R: b}, R: c}, "layer = 'a' AND size > 1MiB AND reads >= 3"},
		{&And{L: a, R: &And{L: b, R: c}}, "layer = 'a' AND (size > 1MiB AND reads >= 3)"},
		{&Or{L: a, R: &Or{L: b, R: c}}, "layer = 'a' OR (size > 1MiB OR reads >= 3)"},
		{&And{L: &Or{L: a, R: b}, R: c}, "(layer = 'a' OR size > 1MiB) AND reads >= 3"},
		{&And{L: a, R: &Or{L: b, R: c}}, "layer = 'a' AND (size > 1MiB OR reads >= 3)"},
		{&Or{L: &And{L: a, R: b}, R: &And{L: b, R: c}}, "layer = 'a' AND size > 1MiB OR size > 1MiB AND reads >= 3"},
		{&Not{X: &Not{X: a}}, "NOT NOT layer = 'a'"},
		{&Not{X: &Or{L: a, R: b}}, "NOT (layer = 'a' OR size > 1MiB)"},
		{&And{L: &Not{X: a}, R: &Not{X: &And{L: b, R: c}}}, "NOT layer = 'a' AND NOT (size > 1MiB AND reads >= 3)"},
		{&Compare{Field: FieldName, Op: OpNotLike, Str: "it's%"}, "name NOT LIKE 'it''s%'"},
	} {
		got := tc.e.String()
		if got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
			continue
		}
		if back := where(t, got); !reflect.DeepEqual(stripPositions(back), stripPositions(tc.e)) {
			t.Errorf("%q parses to %s", got, dumpExpr(back))
		}
	}
}

func TestFormatSize(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0", 1: "1", 100: "100", 999: "999", 1000: "1KB", 1024: "1KiB", 1536: "1536", 1500: "1500", 1.5e6: "1.5MB",
		1e7: "10MB", 1 << 20: "1MiB", 1 << 19: "512KiB", 3 << 29: "1.5GiB", 1e9: "1GB", 1e12: "1000GB",
		0.5: "0.5", -2048: "-2KiB", 1e22: "1e+22",
	} {
		if got := formatSize(v); got != want {
			t.Errorf("formatSize(%g) = %q, want %q", v, got, want)
		}
	}
}

func TestSplitUnit(t *testing.T) {
	for in, want := range map[string][2]string{
		"10MB": {"10", "MB"}, "1.5GiB": {"1.5", "GiB"}, "1e3KB": {"1e3", "KB"}, "1ex": {"1", "ex"},
		"-2kib": {"-2", "kib"}, ".5B": {".5", "B"},
	} {
		if num, unit := splitUnit(in); num != want[0] || unit != want[1] {
			t.Errorf("splitUnit(%q) = %q, %q", in, num, unit)
		}
	}
}

func TestConjuncts(t *testing.T) {
	e := where(t, "layer = 'a' AND (name = 'b' OR name = 'c') AND NOT dtype = 'f16' AND size > 1")
	var got []string
	for _, c := range Conjuncts(e) {
		got = append(got, c.String())
	}
	want := []string{"layer = 'a'", "name = 'b' OR name = 'c'", "NOT dtype = 'f16'", "size > 1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Conjuncts = %q", got)
	}
	if Conjuncts(nil) != nil {
		t.Error("Conjuncts(nil) != nil")
	}
	if _, ok := Compares(e); ok {
		t.Error("Compares accepted an OR")
	}
	cs, ok := Compares(where(t, "layer = 'a' AND (dtype = 'f16' AND size > 1)"))
	if !ok || len(cs) != 3 || cs[0].Field != FieldLayer || cs[1].Field != FieldDType || cs[2].Field != FieldSize {
		t.Errorf("Compares = %v, %v", cs, ok)
	}
	if cs, ok := Compares(nil); !ok || cs != nil {
		t.Errorf("Compares(nil) = %v, %v", cs, ok)
	}
}

func TestWalk(t *testing.T) {
	e := where(t, "NOT (layer = 'a' OR name = 'b') AND size > 1")
	var all []string
	Walk(e, func(x Expr) bool {
		all = append(all, reflect.TypeOf(x).Elem().Name())
		return true
	})
	if want := []string{"And", "Not", "Or", "Compare", "Compare", "Compare"}; !reflect.DeepEqual(all, want) {
		t.Errorf("Walk visited %v, want %v", all, want)
	}
	n := 0
	Walk(e, func(x Expr) bool {
		n++
		_, isNot := x.(*Not)
		return !isNot // do not descend below NOT
	})
	if n != 3 {
		t.Errorf("Walk with pruning visited %d nodes, want 3", n)
	}
	Walk(nil, func(Expr) bool { t.Error("visited nil"); return true })
}

func TestOptionKindString(t *testing.T) {
	for k, want := range map[OptionKind]string{OptNumber: "number", OptString: "string", OptBool: "bool", 0: "OptionKind(0)"} {
		if got := k.String(); got != want {
			t.Errorf("%d.String() = %q", int(k), got)
		}
	}
}
