package pytorch

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// torchPython returns $VSDB_PYTHON when it can import torch, or skips;
// with VSDB_REQUIRE_TORCH set (scripts/test.sh), it fails instead.
func torchPython(t *testing.T) string {
	t.Helper()
	skip := t.Skipf
	if os.Getenv("VSDB_REQUIRE_TORCH") != "" {
		skip = t.Fatalf
	}
	py := os.Getenv("VSDB_PYTHON")
	if py == "" {
		skip("VSDB_PYTHON is not set (a python with torch, e.g. .venv/bin/python)")
		return ""
	}
	if out, err := exec.Command(py, "-c", "import torch").CombinedOutput(); err != nil {
		skip("VSDB_PYTHON=%s cannot import torch (%v): %s", py, err, firstLine(out))
	}
	return py
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

func runPy(t *testing.T, py string, args ...string) string {
	t.Helper()
	out, err := exec.Command(py, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("python %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

type expTensor struct {
	DType string  `json:"dtype"`
	Shape []int64 `json:"shape"`
	Hex   string  `json:"hex"`
}

type expFile struct {
	Tensors map[string]expTensor `json:"tensors"`
	Meta    map[string]string    `json:"meta"`
}

// checkExpected opens every checkpoint listed in dir/expected.json and
// compares names, dtypes, shapes and bytes with what torch holds.
func checkExpected(t *testing.T, dir string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp map[string]expFile
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(exp))
	for n := range exp {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, file := range names {
		want := exp[file]
		t.Run(file, func(t *testing.T) {
			f, err := Open(filepath.Join(dir, file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			es := f.Entries()
			if len(es) != len(want.Tensors) {
				var got []string
				for _, e := range es {
					got = append(got, e.Name)
				}
				t.Fatalf("%d tensors %v, want %d", len(es), got, len(want.Tensors))
			}
			for i, e := range es {
				w, ok := want.Tensors[e.Name]
				if !ok {
					t.Errorf("unexpected tensor %q", e.Name)
					continue
				}
				if e.DType.String() != w.DType || !slices.Equal([]int64(e.Shape), w.Shape) {
					t.Errorf("%s: %s %v, want %s %v", e.Name, e.DType, e.Shape, w.DType, w.Shape)
				}
				if e.Shape == nil {
					t.Errorf("%s: nil shape", e.Name)
				}
				r, err := f.Open(i)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(r)
				r.Close()
				if err != nil {
					t.Fatalf("%s: %v", e.Name, err)
				}
				wb, _ := hex.DecodeString(w.Hex)
				if int64(len(got)) != e.Size || !bytes.Equal(got, wb) {
					t.Errorf("%s: bytes %x, want %x (size %d)", e.Name, head(got), head(wb), e.Size)
				}
			}
			for k, v := range want.Meta {
				if f.Metadata()[k] != v {
					t.Errorf("metadata %s = %q, want %q", k, f.Metadata()[k], v)
				}
			}
		})
	}
}

func head(b []byte) []byte { return b[:min(len(b), 32)] }

// The checkpoints kept in testdata (written by testdata/gen.py small):
// views with offsets and strides, shared and expanded storages, every
// common dtype, zip and legacy layouts.
func TestTestdata(t *testing.T) {
	checkExpected(t, "testdata")
}

// Checkpoints written by torch now: every case of testdata/gen.py, read
// back with the bytes torch holds.
func TestTorchSave(t *testing.T) {
	py := torchPython(t)
	dir := t.TempDir()
	t.Log(runPy(t, py, "testdata/gen.py", dir))
	checkExpected(t, dir)
	// Storage order: a file's entries follow its storage records.
	f, err := Open(filepath.Join(dir, "views.pt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var last [2]int64
	for i, p := range f.plans {
		at := [2]int64{p.blob.order, p.lo}
		if i > 0 && (at[0] < last[0] || (at[0] == last[0] && at[1] < last[1])) {
			t.Errorf("entry %d (%s) is out of storage order", i, f.entries[i].Name)
		}
		last = at
	}
}

// Malicious pickles written by torch.save and pickle: each is refused
// naming the global, and the command it carries never runs.
func TestTorchMalicious(t *testing.T) {
	py := torchPython(t)
	dir := t.TempDir()
	marker := filepath.Join(dir, "vsdb_pickle_executed")
	script := `
import os, pickle, subprocess, sys, builtins, collections
import torch
d, marker = sys.argv[1], sys.argv[2]
cmd = "touch " + marker

class System:
    def __reduce__(self):
        return (os.system, (cmd,))

class Eval:
    def __reduce__(self):
        return (builtins.eval, ("__import__('os').system(%r)" % cmd,))

class Popen:
    def __reduce__(self):
        return (subprocess.Popen, (["touch", marker],))

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 2)

for name, obj in [("system", System()), ("eval", Eval()), ("popen", Popen())]:
    sd = collections.OrderedDict(w=torch.ones(2), evil=obj)
    torch.save(sd, os.path.join(d, name + ".pt"))
    torch.save(sd, os.path.join(d, name + "_legacy.pt"), _use_new_zipfile_serialization=False)
    with open(os.path.join(d, name + ".pkl"), "wb") as f:
        pickle.dump(obj, f, protocol=2)
    with open(os.path.join(d, name + "_p0.pkl"), "wb") as f:
        pickle.dump(obj, f, protocol=0)
    with open(os.path.join(d, name + "_p4.pkl"), "wb") as f:
        pickle.dump(obj, f, protocol=4)
torch.save(Net(), os.path.join(d, "whole_model.pt"))
torch.save(Net(), os.path.join(d, "whole_model_legacy.pt"), _use_new_zipfile_serialization=False)
# A plain pickle of a tensor (not torch.save): its storage pickles through
# torch.storage._load_from_bytes, which would run torch.load.
with open(os.path.join(d, "plain_tensor.pkl"), "wb") as f:
    pickle.dump({"w": torch.ones(2)}, f, protocol=2)
assert not os.path.exists(marker)
`
	runPy(t, py, "-c", script, dir, marker)
	want := map[string]string{
		"system": "posix.system", "eval": "builtins.eval",
		"whole_model": "__main__.Net", "plain_tensor": "torch.storage._load_from_bytes",
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, de := range ents {
		path := filepath.Join(dir, de.Name())
		base := strings.TrimSuffix(strings.TrimSuffix(de.Name(), filepath.Ext(de.Name())), "_legacy")
		base = strings.TrimSuffix(strings.TrimSuffix(base, "_p0"), "_p4")
		f, err := Open(path)
		if err == nil {
			f.Close()
			t.Errorf("%s: accepted", de.Name())
			continue
		}
		n++
		msg := err.Error()
		g := want[base]
		if base == "popen" { // protocols 0 to 2 write Python 2's name
			g = "subprocess.Popen"
			if !strings.Contains(msg, g) {
				g = "commands.Popen"
			}
		}
		if base == "system" && strings.Contains(msg, "os.system") {
			g = "os.system" // the name depends on the platform
		}
		if !strings.HasPrefix(msg, "vsdb: "+path+": refuses to load global "+g+" (only tensor data is read; nothing is executed)") {
			t.Errorf("%s: %s", de.Name(), msg)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("%s: the marker file appeared", de.Name())
		}
	}
	if n < 18 {
		t.Errorf("only %d malicious files", n)
	}
}

// A real PyTorch checkpoint, when VSDB_REAL_PYTORCH names one (see
// bench/pytorch_real.sh): every tensor has the name, shape and bytes
// torch.load(weights_only=True) gives.
func TestRealCheckpoint(t *testing.T) {
	path := os.Getenv("VSDB_REAL_PYTORCH")
	if path == "" {
		t.Skip("VSDB_REAL_PYTORCH is not set")
	}
	py := torchPython(t)
	dir := t.TempDir()
	runPy(t, py, "-c", `
import json, os, sys
import torch
src, d = sys.argv[1], sys.argv[2]
obj = torch.load(src, weights_only=True, map_location="cpu")
for k in ("state_dict", "model_state_dict", "model", "module"):
    if isinstance(obj, dict) and not any(isinstance(v, torch.Tensor) for v in obj.values()) and isinstance(obj.get(k), dict):
        obj = obj[k]
def flat(o, p, acc):
    if isinstance(o, torch.Tensor):
        acc[p] = o
    elif isinstance(o, dict):
        for k, v in o.items():
            flat(v, (p + "." if p else "") + str(k), acc)
    elif isinstance(o, (list, tuple)):
        for i, v in enumerate(o):
            flat(v, (p + "." if p else "") + str(i), acc)
    return acc
ts = flat(obj, "", {})
index = {}
for i, (k, t) in enumerate(ts.items()):
    fn = "%d.bin" % i
    open(os.path.join(d, fn), "wb").write(t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    index[k] = {"file": fn, "shape": list(t.shape), "dtype": str(t.dtype)}
json.dump(index, open(os.path.join(d, "index.json"), "w"))
`, path, dir)
	var index map[string]struct {
		File  string  `json:"file"`
		Shape []int64 `json:"shape"`
		DType string  `json:"dtype"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	if err := json.Unmarshal(b, &index); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if len(f.Entries()) != len(index) {
		t.Fatalf("%d tensors, torch.load finds %d", len(f.Entries()), len(index))
	}
	var total int64
	for i, e := range f.Entries() {
		w, ok := index[e.Name]
		if !ok {
			t.Fatalf("tensor %q unknown to torch.load", e.Name)
		}
		r, _ := f.Open(i)
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := os.ReadFile(filepath.Join(dir, w.File))
		if !bytes.Equal(got, want) || !slices.Equal([]int64(e.Shape), w.Shape) {
			t.Fatalf("tensor %q (%s %v) differs from torch.load (%s %v)", e.Name, e.DType, e.Shape, w.DType, w.Shape)
		}
		total += e.Size
	}
	t.Logf("%s: %d tensors, %d bytes, metadata %v: identical to torch.load(weights_only=True)", path, len(index), total, f.Metadata())
}
