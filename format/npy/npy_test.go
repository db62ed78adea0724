package npy

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/internal/allocbound"

	"github.com/vsdb/vsdb/format/internal/casedir"
	"github.com/vsdb/vsdb/tensor"
)

// npyFile assembles an .npy file of the given version.
func npyFile(major byte, dict string, data []byte) []byte {
	b := []byte(magic)
	b = append(b, major, 0)
	if major == 1 {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(dict)))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(dict)))
	}
	b = append(b, dict...)
	return append(b, data...)
}

func parseBytes(b []byte) (*File, error) {
	return Parse(bytes.NewReader(b), int64(len(b)), "dir/arr.npy")
}

func readAll(t *testing.T, f *File) []byte {
	t.Helper()
	r, err := f.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "vsdb: ") || strings.ContainsAny(msg, "\r\n") {
		t.Errorf("error %q: want one line starting with \"vsdb: \"", msg)
	}
	if !strings.Contains(msg, want) {
		t.Errorf("error %q does not contain %q", msg, want)
	}
}

func le32(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func be32(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.BigEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func TestHeaders(t *testing.T) {
	two := le32(1, 2)
	for _, tc := range []struct {
		name, dict string
		data       []byte
		err        string // "" when valid
		shape      tensor.Shape
		dtype      tensor.DType
	}{
		{"numpy style", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }          \n", two, "", tensor.Shape{2}, tensor.F32},
		{"double quotes, no trailing comma", `{"shape": (2,), "fortran_order": False, "descr": "<f4"}`, two, "", tensor.Shape{2}, tensor.F32},
		{"python 2 longs", "{'descr': '<f4', 'fortran_order': False, 'shape': (1L, 2L), }", two, "", tensor.Shape{1, 2}, tensor.F32},
		{"scalar", "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", le32(3), "", tensor.Shape{}, tensor.F32},
		{"zero size", "{'descr': '<f8', 'fortran_order': True, 'shape': (3, 0), }", nil, "", tensor.Shape{3, 0}, tensor.F64},
		{"bool", "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", []byte{1, 0}, "", tensor.Shape{2}, tensor.Bool},
		{"u1 with order", "{'descr': '<u1', 'fortran_order': False, 'shape': (2,), }", []byte{1, 0}, "", tensor.Shape{2}, tensor.U8},
		{"half", "{'descr': '>f2', 'fortran_order': False, 'shape': (1,), }", []byte{0x3c, 0}, "", tensor.Shape{1}, tensor.F16},

		{"object", "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", two, `dir/arr.npy: object arrays are refused (they need unpickling)`, nil, 0},
		{"object with order", "{'descr': '<O8', 'fortran_order': False, 'shape': (1,), }", two, `object arrays are refused`, nil, 0},
		{"structured", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", two, `dir/arr.npy: object arrays are refused (they need unpickling)`, nil, 0},
		{"unicode", "{'descr': '<U5', 'fortran_order': False, 'shape': (2,), }", two, "string and void arrays are refused", nil, 0},
		{"bytes", "{'descr': '|S4', 'fortran_order': False, 'shape': (2,), }", two, "string and void arrays are refused", nil, 0},
		{"void", "{'descr': '|V8', 'fortran_order': False, 'shape': (1,), }", two, "string and void arrays are refused", nil, 0},
		{"complex", "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", two, "complex arrays are not supported", nil, 0},
		{"datetime", "{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (1,), }", two, "datetime", nil, 0},
		{"float128", "{'descr': '<f16', 'fortran_order': False, 'shape': (1,), }", two, `descr "<f16": unsupported dtype`, nil, 0},
		{"no order multi-byte", "{'descr': '|f4', 'fortran_order': False, 'shape': (2,), }", two, "'|' (no byte order) is invalid", nil, 0},
		{"native order", "{'descr': '=f4', 'fortran_order': False, 'shape': (2,), }", two, "byte order must be given", nil, 0},
		{"empty descr", "{'descr': '', 'fortran_order': False, 'shape': (2,), }", two, "empty dtype", nil, 0},
		{"missing key", "{'descr': '<f4', 'shape': (2,), }", two, `missing key "fortran_order"`, nil, 0},
		{"extra key", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", two, `unexpected key "x"`, nil, 0},
		{"duplicate key", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", two, `key "descr" given twice`, nil, 0},
		{"not a tuple", "{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", two, "is not a tuple", nil, 0},
		{"list shape", "{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", two, "shape must be a tuple", nil, 0},
		{"lone comma", "{'descr': '<f4', 'fortran_order': False, 'shape': (,), }", two, "shape must hold non-negative integers", nil, 0},
		{"negative", "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", two, "non-negative integers", nil, 0},
		{"huge dim", "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", two, "too large", nil, 0},
		{"too many elements", "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", two, "more than 2^48 elements", nil, 0},
		{"missing comma", "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }", two, "expected ',' or ')'", nil, 0},
		{"bad bool", "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", two, "True or False", nil, 0},
		{"escape", `{'descr': '<f\x34', 'fortran_order': False, 'shape': (2,), }`, two, "escapes", nil, 0},
		{"unterminated", `{'descr': '<f4`, two, "unterminated", nil, 0},
		{"code", "__import__('os').system('touch x')", two, "expected a dict literal", nil, 0},
		{"text after", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x", two, "unexpected text after the dict", nil, 0},
		{"no close", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", two, "expected ',' or '}'", nil, 0},
		{"truncated data", "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", two, `tensor "arr": 8 bytes of data, but F32 [3] needs 12`, nil, 0},
		{"trailing data", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", two, `tensor "arr": 4 trailing bytes`, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseBytes(npyFile(1, tc.dict, tc.data))
			if tc.err != "" {
				checkErr(t, err, tc.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			e := f.Entries()[0]
			if e.Name != "arr" || e.DType != tc.dtype || !e.Shape.Equal(tc.shape) || e.Shape == nil {
				t.Errorf("entry %+v, want arr %s %s", e, tc.dtype, tc.shape)
			}
			if got := readAll(t, f); int64(len(got)) != e.Size {
				t.Errorf("read %d bytes, want %d", len(got), e.Size)
			}
		})
	}
}

func TestFileLevelErrors(t *testing.T) {
	ok := "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }"
	_, err := parseBytes([]byte("\x93NUMP"))
	checkErr(t, err, "no \\x93NUMPY magic")
	_, err = parseBytes([]byte("PK\x03\x04 not npy"))
	checkErr(t, err, "no \\x93NUMPY magic")
	_, err = parseBytes([]byte(magic + "\x01\x00\x05"))
	checkErr(t, err, "too short")
	b := npyFile(2, ok, le32(1))
	_, err = parseBytes(b[:11])
	checkErr(t, err, "too short for an .npy 2.0 header")
	b = npyFile(1, ok, le32(1))
	b[6] = 4
	_, err = parseBytes(b)
	checkErr(t, err, "unsupported .npy format version 4.0")
	b[6], b[7] = 1, 1
	_, err = parseBytes(b)
	checkErr(t, err, "version 1.1")
	// Header lengths checked against the limit and the file before allocating.
	b = []byte(magic + "\x02\x00\xff\xff\xff\xff{")
	_, err = parseBytes(b)
	checkErr(t, err, "header length 4294967295 exceeds the 65535-byte limit")
	b = []byte(magic + "\x01\x00\xff\x00{")
	_, err = parseBytes(b)
	checkErr(t, err, "header length 255 runs past the end of the file")
	// Version 3.0 headers must be UTF-8; 1.0 headers are latin-1.
	_, err = parseBytes(npyFile(3, "{'descr': '<f4\xff', 'fortran_order': False, 'shape': (1,), }", le32(1)))
	checkErr(t, err, "not valid UTF-8")
	_, err = parseBytes(npyFile(1, "{'descr': '<f4\xff', 'fortran_order': False, 'shape': (1,), }", le32(1)))
	checkErr(t, err, "unsupported dtype")
	_, err = parseBytes([]byte("version https://git-lfs.github.com/spec/v1\n"))
	checkErr(t, err, "dir/arr.npy: is a Git LFS pointer, not the weights (run git lfs pull)")
	for _, v := range []byte{2, 3} {
		f, err := parseBytes(npyFile(v, ok, le32(5)))
		if err != nil {
			t.Fatalf("version %d.0: %v", v, err)
		}
		if !bytes.Equal(readAll(t, f), le32(5)) {
			t.Errorf("version %d.0: wrong bytes", v)
		}
	}
}

// fortranLayout lays out the values 0..n-1, given in C order for shape,
// in Fortran order.
func fortranLayout(shape []int, c []float32) []float32 {
	n := len(c)
	out := make([]float32, n)
	idx := make([]int, len(shape))
	for j := 0; j < n; j++ { // j walks Fortran order
		q := 0
		for k := range shape {
			q = q*shape[k] + idx[k]
		}
		out[j] = c[q]
		for k := 0; k < len(shape); k++ {
			idx[k]++
			if idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return out
}

func TestFortranOrder(t *testing.T) {
	for _, shape := range [][]int{{3, 2}, {2, 3, 4}, {1, 5, 1, 3}, {4, 1, 2, 3, 2}, {7}, {1, 1, 6}} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		c := make([]float32, n)
		for i := range c {
			c[i] = float32(i)
		}
		fo := fortranLayout(shape, c)
		tuple := pyTuple(shape)
		for _, big := range []bool{false, true} {
			descr, data := "<f4", le32(fo...)
			if big {
				descr, data = ">f4", be32(fo...)
			}
			dict := "{'descr': '" + descr + "', 'fortran_order': True, 'shape': (" + tuple + "), }"
			f, err := parseBytes(npyFile(1, dict, data))
			if err != nil {
				t.Fatal(err)
			}
			for _, budget := range []int64{64 << 20, 4, 12, 20} { // 1 element, 3, 5 per pass
				old := fortranBudget
				fortranBudget = budget
				got := readAll(t, f)
				fortranBudget = old
				if !bytes.Equal(got, le32(c...)) {
					t.Errorf("shape %v big-endian %v budget %d: got %v", shape, big, budget, floats(got))
				}
			}
		}
	}
}

// pyTuple formats a shape as numpy does: (3,) or (2, 3).
func pyTuple(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	s := strings.Join(parts, ", ")
	if len(shape) == 1 {
		s += ","
	}
	return s
}

func floats(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	tensor.ToFloat32(tensor.F32, b, out)
	return out
}

func TestByteSwapAcrossChunks(t *testing.T) {
	for _, tc := range []struct {
		descr string
		es    int
	}{{">f8", 8}, {">i4", 4}, {">u2", 2}, {">i1", 1}} {
		n := chunk/tc.es + 1001 // more than one chunk
		be := make([]byte, n*tc.es)
		for i := range be {
			be[i] = byte(i*7 + i/tc.es)
		}
		want := bytes.Clone(be)
		for i := 0; i < len(want); i += tc.es {
			for a, b := i, i+tc.es-1; a < b; a, b = a+1, b-1 {
				want[a], want[b] = want[b], want[a]
			}
		}
		dict := "{'descr': '" + tc.descr + "', 'fortran_order': False, 'shape': (" + pyTuple([]int{n}) + "), }"
		f, err := parseBytes(npyFile(1, dict, be))
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, f); !bytes.Equal(got, want) {
			t.Errorf("%s: byte swap wrong", tc.descr)
		}
	}
}

func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "weights.layer.0.npy")
	os.WriteFile(path, npyFile(1, "{'descr': '>f4', 'fortran_order': True, 'shape': (2, 2), }", be32(1, 3, 2, 4)), 0o644)
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if e := f.Entries()[0]; e.Name != "weights.layer.0" || f.Path() != path || len(f.Metadata()) != 0 || f.Metadata() == nil {
		t.Errorf("entry %+v path %s metadata %v", e, f.Path(), f.Metadata())
	}
	if got := floats(readAll(t, f)); !equal(got, []float32{1, 2, 3, 4}) {
		t.Errorf("got %v", got)
	}
	_, err = f.Open(1)
	checkErr(t, err, "no tensor number 1")

	r, _ := f.Open(0)
	os.Truncate(path, 10+64)
	_, err = io.ReadAll(r)
	checkErr(t, err, path+`: tensor "weights.layer.0"`)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("%v is not ErrUnexpectedEOF", err)
	}
	f.Close()
	_, err = f.Open(0)
	checkErr(t, err, "file is closed")
	_, err = Open(filepath.Join(dir, "nope.npy"))
	checkErr(t, err, "cannot open")
	_, err = Open(dir)
	checkErr(t, err, "is a directory, not an .npy file")
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzNpy: no input panics; errors are one line starting "vsdb: "; an
// accepted file streams exactly its size.
func FuzzNpy(f *testing.F) {
	for _, p := range casedir.Files("npy_*.npy") {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add(npyFile(3, "{'descr': '>f8', 'fortran_order': True, 'shape': (2, 1, 2), }", make([]byte, 32)))
	f.Add(npyFile(2, "{'descr': '|b1', 'fortran_order': False, 'shape': (), }", []byte{1}))
	f.Fuzz(func(t *testing.T, data []byte) {
		var (
			nf  *File
			err error
		)
		// A small input may not cost more than a bounded multiple of its size.
		allocbound.Check(t, "parse", len(data), 1<<20+64*uint64(len(data)), func() { nf, err = parseBytes(data) })
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "vsdb: dir/arr.npy: ") || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("bad error message %q", msg)
			}
			return
		}
		old := fortranBudget
		fortranBudget = 16
		defer func() { fortranBudget = old }()
		if got := readAll(t, nf); int64(len(got)) != nf.Entries()[0].Size {
			t.Fatalf("read %d bytes, want %d", len(got), nf.Entries()[0].Size)
		}
	})
}

// Files written by numpy (every version, byte order and layout) stream the
// bytes numpy holds in C order, little-endian.
func TestPythonNumpy(t *testing.T) {
	py := os.Getenv("VSDB_PYTHON")
	if py == "" {
		t.Skip("VSDB_PYTHON is not set (a python with numpy)")
	}
	dir := t.TempDir()
	script := `
import json, os, sys
import numpy as np
from numpy.lib import format as npf
d = sys.argv[1]
rng = np.random.default_rng(7)
arrays = {}
for code in ["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"]:
    a = (rng.standard_normal((3, 4)) * 50).astype(code)
    arrays["le_" + code] = a.astype("<" + code)
    arrays["be_" + code] = a.astype(">" + code)
arrays["bool"] = rng.standard_normal(5) > 0
arrays["scalar"] = np.array(2.5, dtype="<f4")
arrays["empty"] = np.zeros((2, 0, 3), dtype="<f4")
base = np.arange(2 * 3 * 4 * 5, dtype="<f4").reshape(2, 3, 4, 5)
arrays["fortran2"] = np.asfortranarray(base[0, 0])
arrays["fortran4"] = np.asfortranarray(base)
arrays["fortran4_be"] = np.asfortranarray(base.astype(">f8"))
arrays["transposed"] = base.T
spec = {}
for i, (name, a) in enumerate(arrays.items()):
    version = [(1, 0), (2, 0), (3, 0)][i % 3]
    with open(os.path.join(d, name + ".npy"), "wb") as f:
        npf.write_array(f, a, version=version)
    c = np.ascontiguousarray(a)
    c = c.astype(c.dtype.newbyteorder("<"))
    open(os.path.join(d, name + ".raw"), "wb").write(c.tobytes())
    spec[name] = list(a.shape)
json.dump(spec, open(os.path.join(d, "spec.json"), "w"))
`
	if out, err := exec.Command(py, "-c", script, dir).CombinedOutput(); err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	var spec map[string][]int64
	b, _ := os.ReadFile(filepath.Join(dir, "spec.json"))
	if err := json.Unmarshal(b, &spec); err != nil || len(spec) == 0 {
		t.Fatalf("spec: %v", err)
	}
	for name, shape := range spec {
		f, err := Open(filepath.Join(dir, name+".npy"))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		want, _ := os.ReadFile(filepath.Join(dir, name+".raw"))
		if e := f.Entries()[0]; !e.Shape.Equal(shape) || e.Name != name {
			t.Errorf("%s: entry %+v, want shape %v", name, e, shape)
		}
		for _, budget := range []int64{64 << 20, 40} {
			fortranBudget = budget
			if got := readAll(t, f); !bytes.Equal(got, want) {
				t.Errorf("%s (budget %d): bytes differ from numpy's C-order little-endian bytes", name, budget)
			}
		}
		fortranBudget = 64 << 20
		f.Close()
	}
}

// countingSource serves data from its beginning on every open, counting
// opens and closes.
type countingSource struct {
	data          []byte
	opens, closes int
}

func (c *countingSource) open() (io.ReadCloser, error) {
	c.opens++
	return &countingReader{Reader: bytes.NewReader(c.data), c: c}, nil
}

type countingReader struct {
	*bytes.Reader
	c *countingSource
}

func (r *countingReader) Close() error { r.c.closes++; return nil }

// ParseHeader reads exactly the header from a stream and names the tensor
// in its errors; Stream converts byte order and Fortran order from a
// source it may open several times, closing each.
func TestParseHeaderAndStream(t *testing.T) {
	shape := []int{3, 4, 5}
	c := make([]float32, 60)
	for i := range c {
		c[i] = float32(i)
	}
	file := npyFile(2, "{'descr': '>f4', 'fortran_order': True, 'shape': (3, 4, 5), }", be32(fortranLayout(shape, c)...))
	r := bytes.NewReader(file)
	h, err := ParseHeader(r, int64(len(file)), "a.npz", "x")
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "x" || h.DType != tensor.F32 || !h.Shape.Equal(tensor.Shape{3, 4, 5}) || h.Size != 240 ||
		!h.Fortran || !h.BigEndian || h.DataOffset != int64(len(file))-240 || r.Len() != 240 {
		t.Fatalf("header %+v, %d bytes left", h, r.Len())
	}
	for _, budget := range []int64{64 << 20, 40} { // one pass; six passes
		fortranBudget = budget
		src := &countingSource{data: file[h.DataOffset:]}
		s := Stream(h, src.open)
		got, err := io.ReadAll(s)
		s.Close()
		fortranBudget = 64 << 20
		if err != nil || !equal(floats(got), c) {
			t.Errorf("budget %d: %v %v", budget, floats(got), err)
		}
		if want := int((240 + budget - 1) / budget); src.opens != want || src.closes != want {
			t.Errorf("budget %d: %d opens, %d closes, want %d", budget, src.opens, src.closes, want)
		}
	}
	// Byte order only: one open, closed by Close.
	file = npyFile(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", be32(1, 2))
	h, err = ParseHeader(bytes.NewReader(file), int64(len(file)), "a.npz", "y")
	if err != nil || h.Fortran || !h.BigEndian {
		t.Fatalf("%+v %v", h, err)
	}
	src := &countingSource{data: file[h.DataOffset:]}
	s := Stream(h, src.open)
	if got, err := io.ReadAll(s); err != nil || !equal(floats(got), []float32{1, 2}) {
		t.Errorf("swapped: %v %v", floats(got), err)
	}
	s.Close()
	if src.opens != 1 || src.closes != 1 {
		t.Errorf("%d opens, %d closes", src.opens, src.closes)
	}
	// A short source is an error, not a short read.
	src = &countingSource{data: file[h.DataOffset : h.DataOffset+5]}
	if _, err := io.ReadAll(Stream(h, src.open)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short source: %v", err)
	}

	for _, tc := range []struct {
		data []byte
		size int64
		want string
	}{
		{[]byte("hello"), 5, `vsdb: a.npz: tensor "z": not an .npy file`},
		{[]byte(magic + "\x01\x00\xff\x00{"), 11, `vsdb: a.npz: tensor "z": header length 255 runs past the end of the stream (11 bytes; truncated?)`},
		{npyFile(1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", nil), 200, `vsdb: a.npz: tensor "z": object arrays are refused`},
		{npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", nil)[:40], 200, `vsdb: a.npz: tensor "z": read header: unexpected EOF`},
		{npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", nil), 200, `vsdb: a.npz: tensor "z": shape [4294967296, 4294967296]: invalid shape`},
		{[]byte(magic + "\x02\x00"), 8, `vsdb: a.npz: tensor "z": stream is 8 bytes, too short for an .npy header`},
		{[]byte(magic + "\x02\x00\x01\x00"), 10, `vsdb: a.npz: tensor "z": stream is 10 bytes, too short for an .npy 2.0 header`},
	} {
		_, err := ParseHeader(bytes.NewReader(tc.data), tc.size, "a.npz", "z")
		checkErr(t, err, tc.want)
		if err != nil && !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("error %q does not start with %q", err, tc.want)
		}
	}
}
