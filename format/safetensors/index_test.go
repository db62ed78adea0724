package safetensors

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/tensor"
)

// shard writes a safetensors file of F32 [1] tensors named names, the
// k-th holding value base+k.
func shard(t *testing.T, path string, meta map[string]string, base float32, names ...string) {
	t.Helper()
	var entries []Entry
	var data [][]byte
	for k, n := range names {
		entries = append(entries, Entry{Name: n, DType: tensor.F32, Shape: tensor.Shape{1}, Size: 4})
		data = append(data, f32s(base+float32(k)))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, entries, meta, bytesOpener(data)); err != nil {
		t.Fatal(err)
	}
}

func index(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "model.safetensors.index.json")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSharded(t *testing.T) {
	dir := t.TempDir()
	shard(t, filepath.Join(dir, "m-00002.safetensors"), map[string]string{"format": "pt"}, 10, "c")
	shard(t, filepath.Join(dir, "m-00001.safetensors"), map[string]string{"format": "pt", "x": "1"}, 1, "a", "b")
	shard(t, filepath.Join(dir, "sub", "m-00003.safetensors"), nil, 20, "d")
	p := index(t, dir, `{"metadata": {"total_size": 16, "format": "ignored", "who": "me"},
	  "weight_map": {"c": "m-00002.safetensors", "b": "./m-00001.safetensors", "a": "m-00001.safetensors", "d": "sub/m-00003.safetensors"}}`)
	s, err := OpenIndex(p)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var names []string
	for _, e := range s.Entries() {
		names = append(names, e.Name)
	}
	if got := strings.Join(names, ","); got != "a,b,c,d" {
		t.Errorf("entries %s, want a,b,c,d (shard by shard)", got)
	}
	for i, want := range []float32{1, 2, 10, 20} {
		if !bytes.Equal(readAll(t, s, i), f32s(want)) {
			t.Errorf("tensor %d: wrong bytes", i)
		}
	}
	if !strings.HasSuffix(s.Shard(2), "m-00002.safetensors") {
		t.Errorf("Shard(2) = %s", s.Shard(2))
	}
	m := s.Metadata()
	if m["format"] != "pt" || m["x"] != "1" || m["total_size"] != "16" || m["who"] != "me" || len(m) != 4 {
		t.Errorf("metadata %v", m)
	}
	if s.Path() != p {
		t.Errorf("Path() = %s", s.Path())
	}
	_, err = s.Open(4)
	checkErr(t, err, "no tensor number 4")
}

func TestShardedErrors(t *testing.T) {
	for _, tc := range []struct {
		name, index, err string
	}{
		{"missing tensor", `{"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors", "c": "s2.safetensors"}}`,
			`: tensor "c" is listed in weight_map for shard s2.safetensors but s2.safetensors does not contain it`},
		{"unlisted tensor", `{"weight_map": {"a": "s1.safetensors"}}`,
			`shard s1.safetensors contains tensor "x", which weight_map does not list`},
		{"wrong shard", `{"weight_map": {"a": "s1.safetensors", "x": "s2.safetensors", "b": "s2.safetensors"}}`,
			`tensor "x" is listed in weight_map for shard s2.safetensors but s2.safetensors does not contain it`},
		{"escapes up", `{"weight_map": {"a": "../s1.safetensors"}}`, `tensor "a": shard path "../s1.safetensors" leaves the index's folder`},
		{"escapes inside", `{"weight_map": {"a": "sub/../../s1.safetensors"}}`, "leaves the index's folder"},
		{"absolute", `{"weight_map": {"a": "/etc/passwd"}}`, "leaves the index's folder"},
		{"empty shard name", `{"weight_map": {"a": ""}}`, "leaves the index's folder"},
		{"symlink out", `{"weight_map": {"a": "link.safetensors"}}`, "shard link.safetensors (listed in weight_map)"},
		{"missing shard", `{"weight_map": {"a": "nope.safetensors"}}`, "shard nope.safetensors (listed in weight_map): no such file"},
		{"shard is a folder", `{"weight_map": {"a": "sub"}}`, "is a directory"},
		{"no weight_map", `{"metadata": {}}`, "index has no weight_map"},
		{"empty weight_map", `{"weight_map": {}}`, "weight_map lists no tensors"},
		{"weight_map not object", `{"weight_map": ["a"]}`, "weight_map must be a JSON object"},
		{"shard not string", `{"weight_map": {"a": 1}}`, `weight_map["a"] must be a shard file name`},
		{"duplicate tensor", `{"weight_map": {"a": "s1.safetensors", "a": "s1.safetensors"}}`, `weight_map lists tensor "a" twice`},
		{"duplicate key", `{"weight_map": {"a": "s1.safetensors"}, "weight_map": {}}`, `index lists "weight_map" twice`},
		{"not json", `{"weight_map": `, "index is not valid JSON"},
		{"trailing", `{"weight_map": {"a": "s1.safetensors"}} x`, "index has data after its JSON object"},
		{"array", `[]`, "the index must be a JSON object"},
		{"lfs", "version https://git-lfs.github.com/spec/v1\n", "is a Git LFS pointer"},
		{"bad shard", `{"weight_map": {"a": "bad.safetensors"}}`, "bad.safetensors: header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top := t.TempDir()
			dir := filepath.Join(top, "model")
			shard(t, filepath.Join(dir, "s1.safetensors"), nil, 1, "a", "x")
			shard(t, filepath.Join(dir, "s2.safetensors"), nil, 2, "b")
			shard(t, filepath.Join(top, "outside.safetensors"), nil, 3, "a")
			os.Mkdir(filepath.Join(dir, "sub"), 0o755)
			os.WriteFile(filepath.Join(dir, "bad.safetensors"), stFile("{", nil), 0o644)
			if err := os.Symlink(filepath.Join(top, "outside.safetensors"), filepath.Join(dir, "link.safetensors")); err != nil {
				t.Skip("no symlinks:", err)
			}
			p := index(t, dir, tc.index)
			s, err := OpenIndex(p)
			if err == nil {
				s.Close()
			}
			checkErr(t, err, tc.err)
			if !strings.HasPrefix(err.Error(), "vsdb: "+dir) {
				t.Errorf("error %q does not name a file of %s", err, dir)
			}
		})
	}
}
