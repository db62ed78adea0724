package merge

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

// TestReferenceUpToDate regenerates testdata/cases.json with
// scripts/merge_reference.py and checks that it equals the committed file,
// so that the reference and the golden file cannot drift apart. It needs
// VSDB_PYTHON, a python with numpy; it is skipped when that is unset.
//
// The files must be byte-identical, except that a want value may differ by
// 1e-12 relative (another platform's libm may round sin or acos
// differently); anything else, including every input, must match exactly.
func TestReferenceUpToDate(t *testing.T) {
	py := os.Getenv("VSDB_PYTHON")
	if py == "" {
		t.Skip("VSDB_PYTHON is not set (a python with numpy)")
	}
	fresh := filepath.Join(t.TempDir(), "cases.json")
	cmd := exec.Command(py, filepath.Join("..", "scripts", "merge_reference.py"), "--out", fresh)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s scripts/merge_reference.py: %v\n%s", py, err, out)
	}
	committed, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	regenerated, err := os.ReadFile(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(committed, regenerated) {
		return
	}
	const hint = "; rerun scripts/merge_reference.py and commit testdata/cases.json"
	a, b := loadCases(t, "testdata/cases.json"), loadCases(t, fresh)
	if len(a) != len(b) {
		t.Fatalf("committed file has %d cases, the script writes %d%s", len(a), len(b), hint)
	}
	for i := range a {
		x, y := a[i], b[i]
		wx, wy := x.Want, y.Want
		x.Want, y.Want = nil, nil
		if !reflect.DeepEqual(x, y) {
			t.Fatalf("case %d (%s) differs from the script's (%s)%s", i, x.Name, y.Name, hint)
		}
		if len(wx) != len(wy) {
			t.Fatalf("case %s: want has %d elements, the script writes %d%s", x.Name, len(wx), len(wy), hint)
		}
		for j := range wx {
			if d := math.Abs(wx[j] - wy[j]); d > 1e-12*max(1, math.Abs(wy[j])) {
				t.Fatalf("case %s: want[%d] is %v, the script writes %v%s", x.Name, j, wx[j], wy[j], hint)
			}
		}
	}
	t.Logf("cases.json matches the script only within 1e-12 (platform rounding)")
}
