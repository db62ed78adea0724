package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vsdb/vsdb/tensor"
)

// python returns $VSDB_PYTHON (a python with numpy and safetensors), or
// skips the test.
func python(t *testing.T) string {
	t.Helper()
	py := os.Getenv("VSDB_PYTHON")
	if py == "" {
		t.Skip("VSDB_PYTHON is not set (a python with numpy and safetensors)")
	}
	return py
}

func runPython(t *testing.T, py, script string, args ...string) {
	t.Helper()
	cmd := exec.Command(py, append([]string{"-c", script}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	t.Logf("python: %s", bytes.TrimSpace(out))
}

// Files from Write load in safetensors.numpy with the right dtype, shape
// and values.
func TestPythonLoadsWrite(t *testing.T) {
	py := python(t)
	type spec struct {
		Name   string    `json:"name"`
		DType  string    `json:"dtype"` // numpy name
		Shape  []int64   `json:"shape"`
		Values []float64 `json:"values"`
	}
	numpyName := map[tensor.DType]string{
		tensor.F64: "float64", tensor.F32: "float32", tensor.F16: "float16",
		tensor.I64: "int64", tensor.I32: "int32", tensor.I16: "int16", tensor.I8: "int8",
		tensor.U64: "uint64", tensor.U32: "uint32", tensor.U16: "uint16", tensor.U8: "uint8",
		tensor.Bool: "bool",
	}
	var entries []Entry
	var data [][]byte
	var specs []spec
	add := func(name string, dt tensor.DType, shape tensor.Shape, vals ...float32) {
		size, err := shape.Bytes(dt)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, size)
		if err := tensor.FromFloat32(dt, vals, b); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, Entry{Name: name, DType: dt, Shape: shape, Size: size})
		data = append(data, b)
		fv := make([]float64, len(vals))
		for i, v := range vals {
			fv[i] = float64(v)
		}
		specs = append(specs, spec{name, numpyName[dt], shape, fv})
	}
	add("w", tensor.F32, tensor.Shape{2, 3}, 1, -2, 3.5, 3e38, 0, 1e-30)
	add("h", tensor.F16, tensor.Shape{3}, 1, -0.5, 65504)
	add("d", tensor.F64, tensor.Shape{1, 1, 2}, math.Pi, -1)
	add("scalar", tensor.F32, tensor.Shape{}, 42)
	add("empty", tensor.F32, tensor.Shape{3, 0})
	for _, dt := range []tensor.DType{tensor.I64, tensor.I32, tensor.I16, tensor.I8, tensor.U64, tensor.U32, tensor.U16, tensor.U8} {
		add("int."+dt.String(), dt, tensor.Shape{2, 2}, 0, 1, 7, 100)
	}
	add("mask", tensor.Bool, tensor.Shape{3}, 1, 0, 1)

	dir := t.TempDir()
	path := filepath.Join(dir, "go.safetensors")
	if err := WriteFile(path, entries, map[string]string{"format": "pt", "by": "vsdb"}, bytesOpener(data)); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(specs)
	if err != nil {
		t.Fatal(err)
	}
	runPython(t, py, `
import json, sys
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file
path, specs = sys.argv[1], json.loads(sys.argv[2])
got = load_file(path)
assert len(got) == len(specs), (sorted(got), len(specs))
for s in specs:
    a = got[s["name"]]
    assert str(a.dtype) == s["dtype"], (s["name"], a.dtype, s["dtype"])
    assert list(a.shape) == s["shape"], (s["name"], a.shape, s["shape"])
    want = np.array(s["values"], dtype=np.float64).astype(a.dtype).reshape(s["shape"])
    assert np.array_equal(a, want), (s["name"], a, want)
with safe_open(path, framework="numpy") as f:
    assert f.metadata() == {"format": "pt", "by": "vsdb"}, f.metadata()
    assert list(f.keys()) == sorted(s["name"] for s in specs)
print("loaded", len(got), "tensors")
`, path, string(js))
}

// Files from safetensors.numpy.save_file read back with the bytes numpy
// holds.
func TestReadPythonSave(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	runPython(t, py, `
import json, os, sys
import numpy as np
from safetensors.numpy import save_file
d = sys.argv[1]
rng = np.random.default_rng(1)
ts = {
    "f32": rng.standard_normal((3, 4)).astype(np.float32),
    "f16": rng.standard_normal((5,)).astype(np.float16),
    "f64": rng.standard_normal((2, 2, 2)),
    "i8": np.arange(-3, 3, dtype=np.int8),
    "u16": np.arange(6, dtype=np.uint16).reshape(2, 3),
    "i64": np.array([-(2**62), 2**62], dtype=np.int64),
    "b": np.array([True, False, True]),
    "scalar": np.array(3.0, dtype=np.float32),
    "empty": np.zeros((0, 4), dtype=np.float32),
}
# Not tested: a Fortran-ordered input. safetensors 0.8.0's numpy save_file
# writes such an array's memory as is under a C-order shape, so the file
# itself is scrambled (its own load_file returns the wrong values).
save_file(ts, os.path.join(d, "py.safetensors"), metadata={"format": "np"})
spec = {}
for k, a in ts.items():
    open(os.path.join(d, k + ".raw"), "wb").write(np.ascontiguousarray(a).tobytes())
    spec[k] = list(a.shape)
json.dump(spec, open(os.path.join(d, "spec.json"), "w"))
`, dir)
	f, err := Open(filepath.Join(dir, "py.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var spec map[string][]int64
	b, _ := os.ReadFile(filepath.Join(dir, "spec.json"))
	json.Unmarshal(b, &spec)
	if len(f.Entries()) != len(spec) || f.Metadata()["format"] != "np" {
		t.Fatalf("%d entries (want %d), metadata %v", len(f.Entries()), len(spec), f.Metadata())
	}
	for i, e := range f.Entries() {
		want, err := os.ReadFile(filepath.Join(dir, e.Name+".raw"))
		if err != nil {
			t.Fatal(err)
		}
		if !e.Shape.Equal(spec[e.Name]) {
			t.Errorf("%s: shape %v, want %v", e.Name, e.Shape, spec[e.Name])
		}
		r, _ := f.Open(i)
		got, _ := io.ReadAll(r)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: bytes differ", e.Name)
		}
	}
	if hdr := binary.LittleEndian.Uint64(mustRead(t, filepath.Join(dir, "py.safetensors"))[:8]); hdr%8 != 0 {
		t.Logf("python's header length %d is not 8-aligned", hdr)
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A real model, when VSDB_REAL_SAFETENSORS names one: it opens, every
// tensor streams, and writing it back reproduces the tensors' bytes.
func TestRealModel(t *testing.T) {
	path := os.Getenv("VSDB_REAL_SAFETENSORS")
	if path == "" {
		t.Skip("VSDB_REAL_SAFETENSORS is not set")
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := filepath.Join(t.TempDir(), "copy.safetensors")
	if err := WriteFile(out, f.Entries(), f.Metadata(), f.Open); err != nil {
		t.Fatal(err)
	}
	g, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	t.Logf("%d tensors, metadata %v", len(f.Entries()), f.Metadata())
	for i, e := range f.Entries() {
		a, b := readAll(t, f, i), readAll(t, g, i)
		if !bytes.Equal(a, b) || g.Entries()[i].Name != e.Name {
			t.Fatalf("tensor %q differs after a round trip", e.Name)
		}
	}
}
