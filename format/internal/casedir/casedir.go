// Package casedir locates the shared bad/edge-case checkpoint files
// (../shared/cases next to the repository root) for tests.
package casedir

import (
	"os"
	"path/filepath"
	"testing"
)

// Path returns the cases folder and whether it exists.
func Path() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			cases := filepath.Join(dir, "..", "shared", "cases")
			fi, err := os.Stat(cases)
			return cases, err == nil && fi.IsDir()
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// Require returns the cases folder; when it is missing the test fails if
// the environment variable CI is set and is skipped otherwise.
func Require(tb testing.TB) string {
	tb.Helper()
	dir, ok := Path()
	if !ok {
		if os.Getenv("CI") != "" {
			tb.Fatalf("shared cases folder not found (looked for ../shared/cases next to go.mod: %q)", dir)
		}
		tb.Skipf("shared cases folder not found (%q); set CI to make this fatal", dir)
	}
	return dir
}

// Files returns the regular files of the cases folder whose names match
// the glob pattern (nil when the folder is missing).
func Files(pattern string) []string {
	dir, ok := Path()
	if !ok {
		return nil
	}
	m, _ := filepath.Glob(filepath.Join(dir, pattern))
	return m
}
