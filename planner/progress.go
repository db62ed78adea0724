package planner

import "context"

// progressKey is the context key of the function WithProgress attaches.
type progressKey struct{}

// WithProgress returns a context carrying report, which statements that
// write (FUSE, COMPRESS, INGEST, EXPORT) call as they go with the bytes
// done and the total: FUSE per window of output, the others per tensor or
// per read. report is called from the goroutine running the statement and
// must be cheap (internal/progress's Bar.Update stores two integers).
func WithProgress(ctx context.Context, report func(done, total int64)) context.Context {
	return context.WithValue(ctx, progressKey{}, report)
}

// ProgressFrom returns the function ctx carries (see WithProgress), or nil.
func ProgressFrom(ctx context.Context) func(done, total int64) {
	report, _ := ctx.Value(progressKey{}).(func(done, total int64))
	return report
}
