package engine

import (
	"context"
	"time"

	"github.com/vsdb/vsdb/planner"
	"github.com/vsdb/vsdb/query"
)

// Result is what a statement returns: a table (Columns, Rows) and, for GET
// and FUSE without INTO, tensors.
type Result = planner.Result

// Query parses, plans and runs one statement. Errors in the statement are
// *query.Error values carrying line and column.
// With Options.Logger set, every statement is logged.
func (db *DB) Query(ctx context.Context, src string) (res *Result, err error) {
	defer func(start time.Time) { db.logStatement(ctx, src, start, res, err) }(time.Now())
	stmt, err := query.Parse(src)
	if err != nil {
		return nil, err
	}
	s := db.snapshotCtx(ctx)
	defer s.Close()
	p, err := planner.Build(src, stmt, s)
	if err != nil {
		return nil, err
	}
	return planner.Run(ctx, p, s)
}

// Explain returns the plan of a statement as text without running it.
func (db *DB) Explain(src string) (string, error) {
	stmt, err := query.Parse(src)
	if err != nil {
		return "", err
	}
	s := db.snapshot()
	defer s.Close()
	p, err := planner.Build(src, stmt, s)
	if err != nil {
		return "", err
	}
	return planner.Explain(p), nil
}
