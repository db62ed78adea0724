// Package layering holds the test that keeps vsdb's dependencies pointing
// downward, as drawn in docs/ARCHITECTURE.md.
package layering

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/vsdb/vsdb"

// allowed lists, for each package (by path prefix inside the module), the
// vsdb packages it may import. Anything not listed is forbidden.
var allowed = map[string][]string{
	"tensor":   {},
	"codec":    {},
	"query":    {},
	"kernel":   {},
	"merge":    {},
	"chart":    {},
	"format":   {"tensor", "format"},
	"lsm":      {"codec", "tensor", "objstore"},
	"objstore": {},
	"planner":  {"query", "tensor", "kernel", "merge"},
	"engine":   {"planner", "query", "lsm", "codec", "format", "tensor", "kernel", "merge", "objstore"},
	"repl":     {"engine", "planner", "query", "lsm", "codec", "format", "tensor", "kernel", "merge", "internal"},
	"server":   {"engine", "planner", "query", "format", "tensor"},
	"cmd":      {"repl", "server", "engine", "planner", "query", "lsm", "codec", "format", "tensor", "kernel", "merge", "chart", "internal", "objstore"},
	"bench":    {"kernel", "tensor", "codec", "format", "engine", "planner", "query", "lsm", "merge", "server", "internal", "objstore"},
	"internal": {},
}

func top(pkg string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	return strings.SplitN(rel, "/", 2)[0]
}

func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || !strings.HasPrefix(fields[0], module) {
			continue
		}
		from := top(fields[0])
		rules, known := allowed[from]
		if !known {
			t.Errorf("package %s is in no layer: add its folder to the layering table", fields[0])
			continue
		}
		checked++
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			to := top(imp)
			if to == from {
				continue
			}
			ok := false
			for _, a := range rules {
				ok = ok || a == to
			}
			if !ok {
				t.Errorf("%s imports %s: %s may not depend on %s", fields[0], imp, from, to)
			}
		}
	}
	if checked < 8 {
		t.Fatalf("checked only %d packages; is go list working?", checked)
	}
}
