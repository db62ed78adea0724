package planner

import (
	"math"
	"strconv"

	"github.com/vsdb/vsdb/tensor"
)

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

// JSONRows returns the rows with every non-finite float (a relative error
// of +Inf: see lsm.TensorRecord) as the string "+Inf", "-Inf" or "NaN",
// which JSON can hold; rows without one are returned as they are.
func (r *Result) JSONRows() [][]any {
	out := r.Rows
	for i, row := range r.Rows {
		copied := false
		for j, v := range row {
			f, ok := v.(float64)
			if !ok || (!math.IsInf(f, 0) && !math.IsNaN(f)) {
				continue
			}
			if !copied {
				if len(out) > 0 && &out[0] == &r.Rows[0] {
					out = append([][]any(nil), r.Rows...)
				}
				out[i], copied = append([]any(nil), row...), true
			}
			out[i][j] = strconv.FormatFloat(f, 'g', -1, 64)
		}
	}
	return out
}
