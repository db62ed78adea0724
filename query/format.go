package query

import (
	"regexp"
	"strconv"
	"strings"
)

// Canonical printing. Every String method produces text that Parse accepts
// and that parses back to an equal node (for nodes Parse can produce).

var (
	bareModelRE = regexp.MustCompile(`^` + identPattern + `$`)
	barePathRE  = regexp.MustCompile(`^` + pathPattern + `$`)
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

// String returns the selector as model or model:path.
func (s Selector) String() string {
	if s.Path == "" {
		return formatModel(s.Model)
	}
	return formatModel(s.Model) + ":" + formatPath(s.Path)
}

// String returns the weight as the shortest decimal that reads back as
// the same float64 (0.5, -1, 0.001, 1e-07).
func (w Weight) String() string {
	return strconv.FormatFloat(w.Value, 'g', -1, 64)
}

// String returns the predicate as field op 'value'.
func (p Predicate) String() string {
	return p.Field + " " + p.Op + " " + quoteString(p.Value)
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
	b.WriteString(" WEIGHTS ")
	for i, w := range s.Weights {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(w.String())
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
func (s *ShowTensors) String() string {
	var b strings.Builder
	b.WriteString("SHOW TENSORS")
	if s.From != "" {
		b.WriteString(" FROM ")
		b.WriteString(formatModel(s.From))
	}
	for i, p := range s.Where {
		if i == 0 {
			b.WriteString(" WHERE ")
		} else {
			b.WriteString(" AND ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// String implements Statement.
func (s *Get) String() string { return "GET " + s.Sel.String() }

// String implements Statement.
func (s *Explain) String() string {
	if s.Stmt == nil {
		return "EXPLAIN"
	}
	return "EXPLAIN " + s.Stmt.String()
}
