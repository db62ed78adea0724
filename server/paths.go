package server

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/vsdb/vsdb/query"
)

// confine resolves the file path of INGEST and EXPORT (also inside
// EXPLAIN) under the server's root and refuses paths outside it, following
// symbolic links. It returns the statement to run: src itself, or the
// canonical text of the statement with the resolved path.
func (s *Server) confine(stmt query.Statement, src string) (string, error) {
	inner := stmt
	if e, ok := stmt.(*query.Explain); ok {
		inner = e.Stmt
	}
	var path *string
	switch x := inner.(type) {
	case *query.Ingest:
		path = &x.Path
	case *query.Export:
		path = &x.Path
	default:
		return src, nil
	}
	if s.opts.Root == "" {
		return "", fail(http.StatusForbidden, "vsdb: INGEST and EXPORT through the server need a root folder (vsdb serve --root DIR)")
	}
	p, err := s.resolve(*path)
	if err != nil {
		return "", err
	}
	*path = p
	return stmt.String(), nil
}

// resolve maps a statement's path to an absolute path inside the root.
func (s *Server) resolve(p string) (string, error) {
	root := s.opts.Root
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
		return "", fail(http.StatusForbidden, fmt.Sprintf("vsdb: path %q is outside the server's root folder", p))
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
