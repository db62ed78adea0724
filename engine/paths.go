package engine

import "context"

type pathResolverKey struct{}

// WithPathResolver returns a context under which the file paths of INGEST
// and EXPORT statements run by Query go through resolve first: a server
// confines them to a folder this way, while the statement text (and so
// every error position) stays as the user wrote it.
func WithPathResolver(ctx context.Context, resolve func(path string) (string, error)) context.Context {
	return context.WithValue(ctx, pathResolverKey{}, resolve)
}

// resolvePath applies the context's path resolver, if any.
func resolvePath(ctx context.Context, path string) (string, error) {
	if f, ok := ctx.Value(pathResolverKey{}).(func(string) (string, error)); ok {
		return f(path)
	}
	return path, nil
}
