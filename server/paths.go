package server

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/vsdb/vsdb/query"
)

// needsRoot reports whether stmt (or the statement EXPLAIN wraps) names a
// file: INGEST and EXPORT. Their paths are resolved under the root when the
// engine runs them (engine.WithPathResolver), so the statement text, and
// every error position in it, stays as the client sent it.
func needsRoot(stmt query.Statement) bool {
	if e, ok := stmt.(*query.Explain); ok {
		stmt = e.Stmt
	}
	switch stmt.(type) {
	case *query.Ingest, *query.Export:
		return true
	}
	return false
}

// resolve maps a statement's path to an absolute path inside the root.
func (s *Server) resolve(p string) (string, error) {
	root := s.opts.Root
	if root == "" {
		return "", fail(http.StatusForbidden, "vsdb: INGEST and EXPORT through the server need a root folder (vsdb serve --root DIR)")
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(root, p)
	}
	p = filepath.Clean(p)
	real := p
	// Follow links in the longest existing prefix (an EXPORT target does
	// not exist yet).
	for dir, rest := p, ""; ; {
		if r, err := filepath.EvalSymlinks(dir); err == nil {
			real = filepath.Join(r, rest)
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		rest = filepath.Join(filepath.Base(dir), rest)
		dir = parent
	}
	if !inside(root, p) || !inside(root, real) {
		return "", fail(http.StatusForbidden, fmt.Sprintf("vsdb: path %q is outside the server's root folder", s.relative(p)))
	}
	return p, nil
}

func inside(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(os.PathSeparator)) && !filepath.IsAbs(rel)
}

// CleanRoot returns root as an absolute path with its links resolved.
func CleanRoot(root string) (string, error) {
	if root == "" {
		return "", nil
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("vsdb: root folder %q: %v", root, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("vsdb: root folder %q: %v", root, err)
	}
	if st, err := os.Stat(real); err != nil || !st.IsDir() {
		return "", fmt.Errorf("vsdb: root %q is not a folder", root)
	}
	return real, nil
}

// relative shows a path relative to the root (clients need not learn
// where the root is): "root/a/b" becomes "a/b".
func (s *Server) relative(p string) string {
	if s.opts.Root != "" && inside(s.opts.Root, p) {
		if rel, err := filepath.Rel(s.opts.Root, p); err == nil {
			return rel
		}
	}
	return p
}

// hideRoot removes the root folder from an error message.
func (s *Server) hideRoot(msg string) string {
	if s.opts.Root == "" {
		return msg
	}
	return strings.ReplaceAll(msg, s.opts.Root+string(os.PathSeparator), "")
}
