package format_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/format"
	"github.com/vsdb/vsdb/format/internal/casedir"
	"github.com/vsdb/vsdb/format/safetensors"
	"github.com/vsdb/vsdb/tensor"
)

type manifestCase struct {
	Expect  string `json:"expect"`
	Note    string `json:"note"`
	Tensors map[string]struct {
		Shape  []int64   `json:"shape"`
		Values []float64 `json:"values"`
	} `json:"tensors"`
}

// same compares like the shared check.py: equal, both NaN, or within 1e-6
// relative (absolute below 1).
func same(x, y float64) bool {
	if x == y {
		return true
	}
	if math.IsNaN(x) || math.IsNaN(y) {
		return math.IsNaN(x) && math.IsNaN(y)
	}
	return math.Abs(x-y) <= 1e-6*math.Max(1, math.Abs(y))
}

// TestCases opens every case of ../shared/cases with Open and checks it
// against MANIFEST.json.
func TestCases(t *testing.T) {
	dir := casedir.Require(t)
	raw, err := os.ReadFile(filepath.Join(dir, "MANIFEST.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest map[string]manifestCase
	if err := json.Unmarshal(raw, &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest) == 0 {
		t.Fatal("empty manifest")
	}
	for name, want := range manifest {
		t.Run(name, func(t *testing.T) {
			work := t.TempDir()
			t.Chdir(work) // a pickle that ran would leave a file here
			path := filepath.Join(dir, name)
			src, err := open(path)
			if _, statErr := os.Stat(filepath.Join(work, "vsdb_pickle_executed")); statErr == nil {
				t.Fatal("code from a pickle ran")
			}
			switch want.Expect {
			case "error":
				if err == nil {
					src.Close()
					t.Fatalf("accepted a bad input (%s)", want.Note)
				}
				msg := err.Error()
				if !strings.HasPrefix(msg, "vsdb: "+path) || strings.ContainsAny(msg, "\r\n") {
					t.Errorf("error %q: want one line starting with \"vsdb: %s\"", msg, path)
				}
				t.Logf("refused: %s", msg)
				return
			case "either":
				if err != nil {
					t.Logf("refused: %v", err)
					return
				}
			case "ok":
				if err != nil {
					t.Fatalf("refused a valid input (%s): %v", want.Note, err)
				}
			default:
				t.Fatalf("unknown expectation %q", want.Expect)
			}
			defer src.Close()
			got := map[string]format.Entry{}
			index := map[string]int{}
			for i, e := range src.Entries() {
				got[e.Name], index[e.Name] = e, i
			}
			if want.Expect == "either" {
				return
			}
			if len(got) != len(want.Tensors) {
				t.Fatalf("%d tensors, want %d", len(got), len(want.Tensors))
			}
			for wname, wt := range want.Tensors {
				gname := wname
				if len(want.Tensors) == 1 { // one tensor is matched whatever its name
					for n := range got {
						gname = n
					}
				}
				e, ok := got[gname]
				if !ok {
					t.Fatalf("tensor %s missing", wname)
				}
				if !e.Shape.Equal(wt.Shape) || e.Shape == nil {
					t.Errorf("tensor %s: shape %v, want %v", wname, e.Shape, wt.Shape)
				}
				r, err := src.Open(index[gname])
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(r)
				r.Close()
				if err != nil || int64(len(b)) != e.Size {
					t.Fatalf("tensor %s: read %d bytes (%v), want %d", wname, len(b), err, e.Size)
				}
				vals := make([]float32, e.Size/int64(e.DType.Size()))
				if err := tensor.ToFloat32(e.DType, b, vals); err != nil {
					t.Fatal(err)
				}
				if len(vals) != len(wt.Values) {
					t.Fatalf("tensor %s: %d values, want %d", wname, len(vals), len(wt.Values))
				}
				for i, v := range vals {
					if !same(float64(v), wt.Values[i]) {
						t.Errorf("tensor %s: values %v, want %v", wname, vals, wt.Values)
						break
					}
				}
			}
		})
	}
}

// open calls format.Open and turns a panic into a test failure message.
func open(path string) (s format.Source, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("PANIC: %v", r)
		}
	}()
	return format.Open(path)
}

// ptBytes is a real torch.save archive (23 tensors) kept by package
// format/pytorch.
func ptBytes(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("pytorch", "testdata", "views.pt"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func stBytes(t *testing.T, names ...string) []byte {
	t.Helper()
	var entries []format.Entry
	for _, n := range names {
		entries = append(entries, format.Entry{Name: n, DType: tensor.F32, Shape: tensor.Shape{1}, Size: 4})
	}
	var buf bytes.Buffer
	err := safetensors.Write(&buf, entries, nil, func(int) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(make([]byte, 4))), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipBytes(t *testing.T, name string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create(name)
	w.Write([]byte("\x80\x02cos\nsystem\n."))
	zw.Close()
	return buf.Bytes()
}

func TestDetection(t *testing.T) {
	npy := []byte("\x93NUMPY\x01\x00\x3a\x00{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n\x00\x00\x80\x3f")
	gguf := append([]byte("GGUF\x03\x00\x00\x00"), binary.LittleEndian.AppendUint64(nil, 123)...) // '{' at byte 8
	lfs := []byte("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n")
	pickle := []byte("\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.\x80\x02}q\x00(X\x10\x00\x00\x00")
	pt := ptBytes(t)
	for _, tc := range []struct {
		file string
		data []byte
		ok   bool
		err  string
	}{
		{"m.safetensors", stBytes(t, "a"), true, ""},
		{"weights.bin", stBytes(t, "a"), true, ""}, // content first
		{"noext", stBytes(t, "a"), true, ""},
		{"arr.npy", npy, true, ""},
		{"arr.data", npy, true, ""},
		{"model.pt", zipBytes(t, "archive/data.pkl"), false, "refuses to load global os.system (only tensor data is read; nothing is executed)"},
		{"pytorch_model.bin", zipBytes(t, "archive/data.pkl"), false, "refuses to load global os.system"},
		{"model.ckpt", zipBytes(t, "any/inner/name/data.pkl"), false, "refuses to load global os.system"},
		{"model.zip", zipBytes(t, "notes.txt"), false, "zip archive without a data.pkl record: not a PyTorch checkpoint"},
		{"model.pt", pt, true, ""},
		{"model.weights", pt, true, ""}, // content first
		{"model.npz", pt, true, ""},
		{"arrays.npz", zipBytes(t, "a.npy"), false, `tensor "a": not an .npy file`},
		{"legacy.bin", pickle, false, "truncated"},
		{"legacy", pickle, false, "truncated"},
		{"x.pth", []byte("garbage"), false, "not a PyTorch checkpoint (neither a zip archive nor a pickle)"},
		{"x.ckpt", []byte("garbage"), false, "not a PyTorch checkpoint"},
		{"x.pkl", []byte("(dp0\nS'a'\np1\nI1\ns."), false, "a plain pickle (of a dict), not a torch.save checkpoint"}, // protocol 0
		{"m.gguf", gguf, false, "header: file ends at byte 16"},
		{"m.safetensors", gguf, false, "header: file ends at byte 16"}, // content first
		{"m.gguf", []byte("garbage"), false, "not a GGUF file"},
		{"m.safetensors", lfs, false, "is a Git LFS pointer, not the weights (run git lfs pull)"},
		{"pytorch_model.bin", lfs, false, "is a Git LFS pointer, not the weights (run git lfs pull)"},
		{"m.safetensors", []byte("garbage garbage"), false, "header length"},
		{"m.npy", []byte("garbage"), false, "not an .npy file"},
		{"m.txt", []byte("hello, world"), false, "unrecognised checkpoint format"},
		{"empty.safetensors", nil, false, "empty file"},
		{"pytorch_model.bin.index.json", []byte(`{"weight_map":{}}`), false, "weight_map lists no tensors"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.file)
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := open(path)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				want := 1
				if bytes.Equal(tc.data, pt) {
					want = 23
				}
				if s.Path() != path || len(s.Entries()) != want || s.Metadata() == nil {
					t.Errorf("source %s: %v %v", s.Path(), s.Entries(), s.Metadata())
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("opened; want error %q", tc.err)
			}
			if want := "vsdb: " + path + ": "; !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %q, want %q...%q", err, want, tc.err)
			}
		})
	}
	_, err := open(filepath.Join(t.TempDir(), "missing.safetensors"))
	if err == nil || !strings.Contains(err.Error(), "missing.safetensors: cannot open: no such file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestFolders(t *testing.T) {
	write := func(t *testing.T, dir, name string, data []byte) {
		t.Helper()
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("one safetensors", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "model.safetensors", stBytes(t, "a", "b"))
		write(t, dir, "config.json", []byte("{}"))
		s, err := format.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if s.Path() != filepath.Join(dir, "model.safetensors") || len(s.Entries()) != 2 {
			t.Errorf("opened %s with %d tensors", s.Path(), len(s.Entries()))
		}
	})
	t.Run("index", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "model-1.safetensors", stBytes(t, "a"))
		write(t, dir, "model-2.safetensors", stBytes(t, "b"))
		write(t, dir, "other.safetensors.index.json", []byte(`{"weight_map":{"zzz":"nope"}}`))
		write(t, dir, "model.safetensors.index.json", []byte(`{"weight_map":{"a":"model-1.safetensors","b":"model-2.safetensors"}}`))
		s, err := format.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if len(s.Entries()) != 2 || s.Entries()[1].Name != "b" {
			t.Errorf("entries %v", s.Entries())
		}
	})
	t.Run("one other index", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "model-1.safetensors", stBytes(t, "a"))
		write(t, dir, "model-2.safetensors", stBytes(t, "b"))
		write(t, dir, "diffusion.safetensors.index.json", []byte(`{"weight_map":{"a":"model-1.safetensors","b":"model-2.safetensors"}}`))
		s, err := format.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	})
	t.Run("pytorch only", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "pytorch_model.bin", ptBytes(t))
		write(t, dir, "config.json", []byte("{}"))
		s, err := format.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if s.Path() != filepath.Join(dir, "pytorch_model.bin") || len(s.Entries()) != 23 {
			t.Errorf("opened %s with %d tensors", s.Path(), len(s.Entries()))
		}
	})
	t.Run("safetensors before pytorch", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "pytorch_model.bin", ptBytes(t))
		write(t, dir, "model.safetensors", stBytes(t, "a"))
		s, err := format.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if s.Path() != filepath.Join(dir, "model.safetensors") {
			t.Errorf("opened %s", s.Path())
		}
	})
	t.Run("pytorch index", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "pytorch_model-00001-of-00001.bin", ptBytes(t))
		write(t, dir, "pytorch_model.bin", []byte("stale"))
		var m []string
		for _, n := range []string{"a", "b", "bf16", "bf16_t", "c", "col", "empty", "expand", "f16", "f64", "i16", "i32", "i64", "i64_step", "i8", "mask", "param", "row", "scalar", "scalar_expand", "slice", "t", "u8"} {
			m = append(m, fmt.Sprintf("%q:%q", n, "pytorch_model-00001-of-00001.bin"))
		}
		write(t, dir, "pytorch_model.bin.index.json", []byte(`{"weight_map":{`+strings.Join(m, ",")+`}}`))
		s, err := format.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if s.Path() != filepath.Join(dir, "pytorch_model.bin.index.json") || len(s.Entries()) != 23 {
			t.Errorf("opened %s with %d tensors", s.Path(), len(s.Entries()))
		}
	})
	for _, tc := range []struct {
		name  string
		files []string
		err   string
	}{
		{"two shards no index", []string{"a.safetensors", "b.safetensors", "README.md"}, "2 safetensors weight files and no model.safetensors.index.json (a.safetensors, b.safetensors): open one file, or add an index"},
		{"two indexes", []string{"a.safetensors.index.json", "b.safetensors.index.json"}, "several safetensors indexes"},
		{"two pytorch files", []string{"config.json", "a.bin", "b.pt"}, "2 PyTorch weight files and no pytorch_model.bin.index.json (a.bin, b.pt)"},
		{"two pytorch indexes", []string{"a.bin.index.json", "b.pt.index.json"}, "several PyTorch indexes"},
		{"no weights", []string{"config.json", "README.md"}, "no safetensors or PyTorch checkpoint found (found: README.md, config.json)"},
		{"many files", []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}, "and 2 more"},
		{"empty", nil, "no checkpoint found: the folder holds no files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				write(t, dir, f, stBytes(t, "a"))
			}
			os.Mkdir(filepath.Join(dir, "sub.safetensors"), 0o755) // folders do not count
			_, err := format.Open(dir)
			if err == nil || !strings.HasPrefix(err.Error(), "vsdb: "+dir+": ") || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
	}
}

// TestImports keeps the layering: format/... imports only the standard
// library, package tensor, its own packages and klauspost's flate (and,
// in tests, internal/allocbound).
func TestImports(t *testing.T) {
	const mod = "github.com/vsdb/vsdb/"
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(p, "/")
			switch {
			case !strings.Contains(first, "."): // standard library
			case p == mod+"tensor", p == mod+"format", strings.HasPrefix(p, mod+"format/"):
			case p == "github.com/klauspost/compress/flate": // npz: a faster inflater
			case p == mod+"internal/allocbound" && strings.HasSuffix(path, "_test.go"): // fuzz budgets
			default:
				t.Errorf("%s imports %s: format may import only the standard library, tensor and klauspost/compress/flate", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
