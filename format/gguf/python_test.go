package gguf

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vsdb/vsdb/tensor"
)

// python returns $VSDB_PYTHON when it can import gguf (llama.cpp's Python
// package, pip install gguf), or skips the test.
func python(t *testing.T) string {
	t.Helper()
	py := os.Getenv("VSDB_PYTHON")
	if py == "" {
		t.Skip("VSDB_PYTHON is not set (a python with numpy and gguf)")
	}
	if out, err := exec.Command(py, "-c", "import gguf, numpy").CombinedOutput(); err != nil {
		t.Skipf("VSDB_PYTHON (%s) cannot import gguf (pip install gguf): %v %s", py, err, bytes.TrimSpace(out))
	}
	return py
}

// The script writes m.gguf with gguf.GGUFWriter (alignment 32) and
// a64.gguf (alignment 64), and for each tensor NAME.raw: the values numpy
// holds (quantised tensors: gguf.quants.dequantize of the blocks) in C
// order, and spec.json: name -> [dtype, shape].
const writeScript = `
import json, os, sys
import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
d = sys.argv[1]
spec = {}
def write(path, align=None):
    rng = np.random.default_rng(11)  # the same values in both files
    w = gguf.GGUFWriter(os.path.join(d, path), arch="llama")
    if align:
        w.add_custom_alignment(align)
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -5)
    w.add_uint16("test.u16", 65535)
    w.add_int16("test.i16", -300)
    w.add_uint32("test.u32", 4000000000)
    w.add_int32("test.i32", -7)
    w.add_float32("test.f32", 0.1)
    w.add_uint64("test.u64", 2**64 - 1)
    w.add_int64("test.i64", -2**63)
    w.add_float64("test.f64", 3.141592653589793)
    w.add_bool("test.bool", True)
    w.add_string("test.str", "héllo wörld")
    w.add_array("test.ints", [1, 2, 3])
    w.add_array("test.strs", ["a", "b"])
    w.add_array("tokenizer.ggml.tokens", ["tok%d" % i for i in range(32000)])
    w.add_array("tokenizer.ggml.scores", [float(i) for i in range(1000)])
    w.add_array("test.nested", [[1, 2], [3, 4, 5]])
    def plain(name, a):
        w.add_tensor(name, a)
        spec[name] = [str(a.dtype), list(a.shape)]
        a.astype(a.dtype.newbyteorder("<")).tofile(os.path.join(d, name + ".raw"))
    def quant(name, a, qt):
        q = gguf.quants.quantize(a, qt)
        w.add_tensor(name, q, raw_dtype=qt)
        deq = gguf.quants.dequantize(q, qt)
        assert deq.shape == a.shape, (deq.shape, a.shape)
        if qt == Q.BF16:
            spec[name] = ["bfloat16", list(a.shape)]
            q.tofile(os.path.join(d, name + ".raw"))  # the bf16 bits as stored
        else:
            spec[name] = ["float32", list(a.shape)]
            deq.astype("<f4").tofile(os.path.join(d, name + ".raw"))
    plain("f32.1d", rng.standard_normal(7).astype(np.float32))
    plain("f32.2d", rng.standard_normal((3, 5)).astype(np.float32))
    plain("f32.3d", rng.standard_normal((2, 3, 4)).astype(np.float32))
    plain("f32.4d", rng.standard_normal((2, 1, 3, 2)).astype(np.float32))
    plain("f16.2d", (rng.standard_normal((4, 8)) * 100).astype(np.float16))
    plain("f16.1d", np.array([0, -0.0, 65504, 6e-8, np.inf, -np.inf], dtype=np.float16))
    plain("f64", rng.standard_normal((2, 2)))
    plain("i8", np.array([-128, 0, 127], dtype=np.int8))
    plain("i16", np.array([[-32768, 1], [2, 32767]], dtype=np.int16))
    plain("i32", np.arange(6, dtype=np.int32).reshape(2, 3) - 3)
    plain("i64", np.array([-2**63, 2**63 - 1], dtype=np.int64))
    quant("bf16.2d", (rng.standard_normal((3, 16)) * 1e3).astype(np.float32), Q.BF16)
    quant("bf16.1d", np.array([1.0, -2.5, 3e38, 1e-30], dtype=np.float32), Q.BF16)
    quant("q8_0.1d", rng.standard_normal(96).astype(np.float32), Q.Q8_0)
    quant("q8_0.2d", rng.standard_normal((5, 64)).astype(np.float32), Q.Q8_0)
    quant("q8_0.3d", (rng.standard_normal((2, 3, 32)) * 40).astype(np.float32), Q.Q8_0)
    quant("q4_0.1d", rng.standard_normal(32).astype(np.float32), Q.Q4_0)
    quant("q4_0.2d", rng.standard_normal((7, 128)).astype(np.float32), Q.Q4_0)
    quant("q4_0.3d", (rng.standard_normal((3, 2, 64)) * 1e-3).astype(np.float32), Q.Q4_0)
    quant("q8_0.zeros", np.zeros((2, 32), dtype=np.float32), Q.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
write("m.gguf")
write("a64.gguf", 64)
# gguf's own reader agrees with the tensor shapes it wrote.
r = gguf.GGUFReader(os.path.join(d, "m.gguf"))
assert len(r.tensors) == len(spec)
json.dump(spec, open(os.path.join(d, "spec.json"), "w"))
`

func TestPythonGGUF(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	if out, err := exec.Command(py, "-c", writeScript, dir).CombinedOutput(); err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	var spec map[string][2]json.RawMessage
	b, err := os.ReadFile(filepath.Join(dir, "spec.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	dtypes := map[string]tensor.DType{
		"float32": tensor.F32, "float16": tensor.F16, "bfloat16": tensor.BF16, "float64": tensor.F64,
		"int8": tensor.I8, "int16": tensor.I16, "int32": tensor.I32, "int64": tensor.I64,
	}
	for _, file := range []string{"m.gguf", "a64.gguf"} {
		f, err := Open(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Entries()) != len(spec) {
			t.Errorf("%s: %d tensors, want %d", file, len(f.Entries()), len(spec))
		}
		for i, e := range f.Entries() {
			s, ok := spec[e.Name]
			if !ok {
				t.Errorf("%s: unexpected tensor %q", file, e.Name)
				continue
			}
			var dt string
			var shape tensor.Shape
			json.Unmarshal(s[0], &dt)
			json.Unmarshal(s[1], &shape)
			if e.DType != dtypes[dt] || !e.Shape.Equal(shape) {
				t.Errorf("%s: %s: %s %s, want %s %s", file, e.Name, e.DType, e.Shape, dt, shape)
			}
			want, err := os.ReadFile(filepath.Join(dir, e.Name+".raw"))
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, f, i); !bytes.Equal(got, want) {
				t.Errorf("%s: %s (%s): bytes differ from numpy's", file, e.Name, f.Type(i))
			}
			if f.Offset(i)%f.Alignment() != 0 {
				t.Errorf("%s: %s: offset %d not aligned", file, e.Name, f.Offset(i))
			}
		}
		want := map[string]string{
			"general.architecture": "llama", "test.u8": "200", "test.i8": "-5", "test.u16": "65535",
			"test.i16": "-300", "test.u32": "4000000000", "test.i32": "-7", "test.f32": "0.1",
			"test.u64": "18446744073709551615", "test.i64": "-9223372036854775808",
			"test.f64": "3.141592653589793", "test.bool": "true", "test.str": "héllo wörld",
			"test.ints": "[1, 2, 3]", "test.strs": `["a", "b"]`,
			"tokenizer.ggml.tokens": "array of 32000 strings",
			"tokenizer.ggml.scores": "array of 1000 float32 values",
			"test.nested":           "array of 2 arrays",
		}
		if file == "a64.gguf" {
			want["general.alignment"] = "64"
		}
		m := f.Metadata()
		for k, v := range want {
			if m[k] != v {
				t.Errorf("%s: metadata %s = %q, want %q", file, k, m[k], v)
			}
		}
		if len(m) != len(want) {
			t.Errorf("%s: metadata %v, want %d keys", file, m, len(want))
		}
		if a := f.Alignment(); file == "a64.gguf" && a != 64 || file == "m.gguf" && a != 32 {
			t.Errorf("%s: alignment %d", file, a)
		}
		f.Close()
	}
}
