package query

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Canonical printing. Every String method produces text that Parse accepts
// and that parses back to an equal node (for nodes Parse can produce).

var (
	bareModelRE = regexp.MustCompile(`^` + identPattern + `$`)
	barePathRE  = regexp.MustCompile(`^` + pathPattern + `$`)
	numberRE    = regexp.MustCompile(`^` + numberPattern + `$`)
	sizeRE      = regexp.MustCompile(`^` + sizePattern + `$`)
	splitUnitRE = regexp.MustCompile(`^(` + numberPattern + `)(.*)$`)
)

// quoteString returns s as a single-quoted string literal, doubling quotes.
func quoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// formatModel writes a model name bare if it is an identifier, else quoted.
func formatModel(name string) string {
	if bareModelRE.MatchString(name) {
		return name
	}
	return quoteString(name)
}

// formatPath writes a tensor path bare if the lexer reads it back as one
// path token, else quoted. A leading "--" would start a comment.
func formatPath(path string) string {
	if barePathRE.MatchString(path) && !strings.HasPrefix(path, "--") {
		return path
	}
	return quoteString(path)
}

// formatWeight writes a weight as the shortest decimal that reads back as
// the same float64 (0.5, -1, 0.001, 1e-07).
func formatWeight(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// formatNumber writes an option or WHERE number: integers below 1e21 in
// full (1000000, not 1e+06), anything else as formatWeight does.
func formatNumber(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e21 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return formatWeight(v)
}

// sizeUnitsLargestFirst are the units formatSize tries, largest first so
// that a tie goes to the larger unit (1KiB rather than 1024).
var sizeUnitsLargestFirst = []string{"GiB", "GB", "MiB", "MB", "KiB", "KB"}

// formatSize writes a byte count in its shortest form among a plain
// number and a number of at least 1 with a unit that reads back as
// exactly the same value: 10000000 is 10MB, 1610612736 is 1.5GiB, 524288
// is 512KiB (not 0.5MiB), 1536 stays 1536.
func formatSize(v float64) string {
	best := ""
	for _, u := range sizeUnitsLargestFirst {
		mult := sizeUnits[strings.ToLower(u)]
		if math.Abs(v/mult) < 1 {
			continue
		}
		s := formatNumber(v / mult)
		if back, err := strconv.ParseFloat(s, 64); err != nil || back*mult != v {
			continue
		}
		if s += u; best == "" || len(s) < len(best) {
			best = s
		}
	}
	if plain := formatNumber(v); best == "" || len(plain) < len(best) {
		best = plain
	}
	return best
}

// String returns the selector as model or model:path.
func (s Selector) String() string {
	if s.Path == "" {
		return formatModel(s.Model)
	}
	return formatModel(s.Model) + ":" + formatPath(s.Path)
}

// String returns the weight as the shortest decimal that reads back as
// the same float64 (0.5, -1, 0.001, 1e-07), or a gradient as [0, 0.5, 1].
func (w Weight) String() string {
	if w.Gradient == nil {
		return formatWeight(w.Value)
	}
	parts := make([]string, len(w.Gradient))
	for i, v := range w.Gradient {
		parts[i] = formatWeight(v)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// String returns the kind's name: number, string or bool.
func (k OptionKind) String() string {
	switch k {
	case OptNumber:
		return "number"
	case OptString:
		return "string"
	case OptBool:
		return "bool"
	}
	return "OptionKind(" + strconv.Itoa(int(k)) + ")"
}

// String returns the option as key = value.
func (o Option) String() string {
	return o.Key + " = " + o.ValueString()
}

// ValueString returns the option's value as written in canonical form:
// a number, a quoted string, TRUE or FALSE.
func (o Option) ValueString() string {
	switch o.Kind {
	case OptString:
		return quoteString(o.Str)
	case OptBool:
		if o.Bool {
			return "TRUE"
		}
		return "FALSE"
	}
	return formatNumber(o.Number)
}

// Binding strength of expressions, for printing parentheses.
const (
	precOr = iota + 1
	precAnd
	precNot
	precCompare
)

func precedence(e Expr) int {
	switch e.(type) {
	case *Or:
		return precOr
	case *And:
		return precAnd
	case *Not:
		return precNot
	}
	return precCompare
}

// operand prints e, in parentheses if it binds less tightly than min.
func operand(e Expr, min int) string {
	if e == nil {
		return "()"
	}
	if precedence(e) < min {
		return "(" + e.String() + ")"
	}
	return e.String()
}

// String implements Expr. The right operand is parenthesised when it is
// itself an OR, since OR associates to the left.
func (e *Or) String() string {
	return operand(e.L, precOr) + " OR " + operand(e.R, precOr+1)
}

// String implements Expr. The right operand is parenthesised when it is
// itself an AND (or an OR), since AND associates to the left.
func (e *And) String() string {
	return operand(e.L, precAnd) + " AND " + operand(e.R, precAnd+1)
}

// String implements Expr.
func (e *Not) String() string { return "NOT " + operand(e.X, precNot) }

// String implements Expr: field op value, with strings quoted and sizes
// written with a unit where that is shorter (size > 10MB).
func (e *Compare) String() string {
	v := quoteString(e.Str)
	switch {
	case e.IsNum && e.Field == FieldSize:
		v = formatSize(e.Num)
	case e.IsNum:
		v = formatNumber(e.Num)
	}
	return e.Field + " " + e.Op + " " + v
}

// String implements Statement.
func (s *Fuse) String() string {
	var b strings.Builder
	b.WriteString("FUSE ")
	for i, in := range s.Inputs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(in.String())
	}
	if s.Weights != nil {
		b.WriteString(" WEIGHTS ")
		for i, w := range s.Weights {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(w.String())
		}
	}
	if s.Method != "" {
		b.WriteString(" USING ")
		b.WriteString(s.Method)
		for i, o := range s.Options {
			if i == 0 {
				b.WriteString(" (")
			} else {
				b.WriteString(", ")
			}
			b.WriteString(o.String())
		}
		if len(s.Options) > 0 {
			b.WriteString(")")
		}
	}
	if s.Base != "" {
		b.WriteString(" BASE ")
		b.WriteString(formatModel(s.Base))
	}
	if s.Where != nil {
		b.WriteString(" WHERE ")
		b.WriteString(s.Where.String())
	}
	if s.Into != "" {
		b.WriteString(" INTO ")
		b.WriteString(formatModel(s.Into))
	}
	return b.String()
}

// String implements Statement.
func (s *ShowModels) String() string { return "SHOW MODELS" }

// String implements Statement.
func (s *ShowLayers) String() string {
	if s.Of == "" {
		return "SHOW LAYERS"
	}
	return "SHOW LAYERS OF " + formatModel(s.Of)
}

// String implements Statement.
func (s *ShowTensors) String() string {
	var b strings.Builder
	b.WriteString("SHOW TENSORS")
	if s.From != "" {
		b.WriteString(" FROM ")
		b.WriteString(formatModel(s.From))
	}
	if s.Where != nil {
		b.WriteString(" WHERE ")
		b.WriteString(s.Where.String())
	}
	return b.String()
}

// String implements Statement.
func (s *Get) String() string { return "GET " + s.Sel.String() }

// String implements Statement.
func (s *Describe) String() string { return "DESCRIBE " + formatModel(s.Model) }

// String implements Statement.
func (s *Stats) String() string { return withOptionalModel("STATS", s.Model) }

// String implements Statement.
func (s *Diff) String() string { return "DIFF " + s.Left.String() + ", " + s.Right.String() }

// String implements Statement.
func (s *DeleteModel) String() string { return "DELETE MODEL " + formatModel(s.Model) }

// String implements Statement.
func (s *Check) String() string { return withOptionalModel("CHECK", s.Model) }

// String implements Statement.
func (s *Attach) String() string {
	out := "ATTACH ALL"
	if s.Model != "" {
		out = "ATTACH MODEL " + formatModel(s.Model)
	}
	if s.From != "" {
		out += " FROM " + quoteString(s.From)
	}
	return out
}

// String implements Statement.
func (s *Detach) String() string { return "DETACH MODEL " + formatModel(s.Model) }

// String implements Statement.
func (s *Vacuum) String() string { return "VACUUM" }

// withOptionalModel writes keyword, followed by model if there is one.
func withOptionalModel(keyword, model string) string {
	if model == "" {
		return keyword
	}
	return keyword + " " + formatModel(model)
}

// String implements Statement.
func (s *Explain) String() string {
	kw := "EXPLAIN"
	if s.Analyze {
		kw = "EXPLAIN ANALYZE"
	}
	if s.Stmt == nil {
		return kw
	}
	return kw + " " + s.Stmt.String()
}

// codecText prints CODEC name [(options)].
func codecText(name string, opts []Option) string {
	out := " CODEC " + name
	if len(opts) > 0 {
		parts := make([]string, len(opts))
		for i, o := range opts {
			parts[i] = o.String()
		}
		out += "(" + strings.Join(parts, ", ") + ")"
	}
	return out
}

// String implements Statement.
func (s *Ingest) String() string {
	out := "INGEST " + quoteString(s.Path)
	if s.Model != "" {
		out += " AS " + formatModel(s.Model)
	}
	if s.Base != "" {
		out += " BASE " + formatModel(s.Base)
	}
	if s.Codec != "" {
		out += codecText(s.Codec, s.Options)
	}
	return out
}

// String implements Statement.
func (s *Export) String() string {
	out := "EXPORT " + formatModel(s.Model) + " TO " + quoteString(s.Path)
	if len(s.Options) > 0 {
		parts := make([]string, len(s.Options))
		for i, o := range s.Options {
			parts[i] = o.String()
		}
		out += " (" + strings.Join(parts, ", ") + ")"
	}
	return out
}

// String implements Statement.
func (s *Compress) String() string {
	out := "COMPRESS " + formatModel(s.Model)
	if s.Base != "" {
		out += " BASE " + formatModel(s.Base)
	}
	return out + codecText(s.Codec, s.Options) + " INTO " + formatModel(s.Into)
}

// QuoteModel writes a model name as a statement needs it: bare when it is
// an identifier, else single-quoted.
func QuoteModel(name string) string { return formatModel(name) }
