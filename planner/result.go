package planner

import "github.com/vsdb/vsdb/tensor"

// Result is what a statement returns: a table, tensors, or both.
type Result struct {
	// Columns names the table's columns; Rows holds its rows.
	Columns []string
	Rows    [][]any
	// Tensors holds tensors returned by GET and by FUSE without INTO.
	Tensors []*tensor.Tensor
}

func table(cols ...string) *Result { return &Result{Columns: cols} }

func (r *Result) add(row ...any) { r.Rows = append(r.Rows, row) }
