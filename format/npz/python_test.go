package npz

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Archives written by numpy.savez and numpy.savez_compressed stream the
// bytes numpy holds, in C order and little-endian; object arrays are
// refused.
func TestPythonNumpy(t *testing.T) {
	py := os.Getenv("VSDB_PYTHON")
	if py == "" {
		t.Skip("VSDB_PYTHON is not set (a python with numpy)")
	}
	dir := t.TempDir()
	script := `
import json, os, sys
import numpy as np
d = sys.argv[1]
rng = np.random.default_rng(5)
arrays = {}
for code in ["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"]:
    a = (rng.standard_normal((3, 4)) * 50).astype(code)
    arrays["le_" + code] = a.astype("<" + code)
    arrays["be_" + code] = a.astype(">" + code)
arrays["bool"] = rng.standard_normal(5) > 0
arrays["scalar"] = np.array(2.5, dtype="<f4")
arrays["empty"] = np.zeros((2, 0, 3), dtype="<f4")
base = np.arange(2 * 3 * 4 * 5, dtype="<f4").reshape(2, 3, 4, 5)
arrays["fortran4"] = np.asfortranarray(base)
arrays["fortran4_be"] = np.asfortranarray(base.astype(">f8"))
arrays["transposed"] = rng.standard_normal((300, 200)).astype("<f4").T
arrays["big"] = rng.standard_normal(600_000).astype("<f4")
arrays["zeros"] = np.zeros((1000, 1000), dtype="<f4")
arrays["model/layers.0/weight"] = rng.standard_normal((8, 4)).astype("<f2")
np.savez(os.path.join(d, "stored.npz"), **arrays)
np.savez_compressed(os.path.join(d, "deflated.npz"), **arrays)
spec = {}
for name, a in arrays.items():
    c = np.ascontiguousarray(a)
    c = c.astype(c.dtype.newbyteorder("<"))
    fn = name.replace("/", "_")
    open(os.path.join(d, fn + ".raw"), "wb").write(c.tobytes())
    spec[name] = [fn, list(a.shape)]
json.dump(spec, open(os.path.join(d, "spec.json"), "w"))
np.savez(os.path.join(d, "object.npz"), ok=np.ones(2), bad=np.array([{"a": 1}, None], dtype=object))
np.savez_compressed(os.path.join(d, "empty.npz"))
`
	if out, err := exec.Command(py, "-c", script, dir).CombinedOutput(); err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	type arrSpec struct {
		File  string
		Shape []int64
	}
	var raw map[string][2]json.RawMessage
	b, _ := os.ReadFile(filepath.Join(dir, "spec.json"))
	if err := json.Unmarshal(b, &raw); err != nil || len(raw) == 0 {
		t.Fatalf("spec: %v", err)
	}
	spec := map[string]arrSpec{}
	for k, v := range raw {
		var s arrSpec
		json.Unmarshal(v[0], &s.File)
		json.Unmarshal(v[1], &s.Shape)
		spec[k] = s
	}
	for _, archive := range []string{"stored.npz", "deflated.npz"} {
		f, err := Open(filepath.Join(dir, archive))
		if err != nil {
			t.Fatal(err)
		}
		es := f.Entries()
		if len(es) != len(spec) {
			t.Errorf("%s: %d entries, want %d", archive, len(es), len(spec))
		}
		for i, e := range es {
			s, ok := spec[e.Name]
			if !ok {
				t.Errorf("%s: unexpected tensor %q", archive, e.Name)
				continue
			}
			if !e.Shape.Equal(s.Shape) {
				t.Errorf("%s: %s: shape %s, want %v", archive, e.Name, e.Shape, s.Shape)
			}
			want, _ := os.ReadFile(filepath.Join(dir, s.File+".raw"))
			if got := mustRead(t, f, i); !bytes.Equal(got, want) {
				t.Errorf("%s: %s: bytes differ from numpy's C-order little-endian bytes", archive, e.Name)
			}
			if f.Compressed(i) != (archive == "deflated.npz") {
				t.Errorf("%s: %s: Compressed = %v", archive, e.Name, f.Compressed(i))
			}
		}
		f.Close()
	}
	_, err := Open(filepath.Join(dir, "object.npz"))
	checkErr(t, err, `object.npz: tensor "bad": object arrays are refused (they need unpickling)`)
	f, err := Open(filepath.Join(dir, "empty.npz"))
	if err != nil || len(f.Entries()) != 0 {
		t.Errorf("empty.npz: %v", err)
	}
}
