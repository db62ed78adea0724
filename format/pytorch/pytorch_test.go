package pytorch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vsdb/vsdb/format/internal/ckpt"
	"github.com/vsdb/vsdb/tensor"
)

func readAll(t *testing.T, f *File, i int) []byte {
	t.Helper()
	r, err := f.Open(i)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != f.entries[i].Size {
		t.Fatalf("%s: read %d bytes, want %d", f.entries[i].Name, len(b), f.entries[i].Size)
	}
	return b
}

func checkMsg(t *testing.T, err error, path string) {
	t.Helper()
	if err == nil {
		return
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "vsdb: "+path+": ") || strings.ContainsAny(msg, "\r\n") {
		t.Fatalf("bad error message %q", msg)
	}
}

// gatherF32 is the reference view of an arange storage.
func gatherF32(offset int64, size, stride []int64) []byte {
	var out []float32
	n := int64(1)
	for _, d := range size {
		n *= d
	}
	idx := make([]int64, len(size))
	for e := int64(0); e < n; e++ {
		at := offset
		for k := range size {
			at += idx[k] * stride[k]
		}
		out = append(out, float32(at))
		for k := len(size) - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < size[k] {
				break
			}
			idx[k] = 0
		}
	}
	return f32s(out...)
}

// Views with offsets and strides over one storage of 12 floats (0..11)
// read the elements torch would show.
func TestViews(t *testing.T) {
	cases := []struct {
		name         string
		offset       int64
		size, stride []int64
		contig       bool
	}{
		{"whole", 0, []int64{12}, []int64{1}, true},
		{"matrix", 0, []int64{3, 4}, []int64{4, 1}, true},
		{"transpose", 0, []int64{4, 3}, []int64{1, 4}, false},
		{"slice", 8, []int64{2}, []int64{1}, true},
		{"row", 4, []int64{4}, []int64{1}, true},
		{"column", 2, []int64{3}, []int64{4}, false},
		{"step", 1, []int64{4}, []int64{3}, false},
		{"expand", 5, []int64{3, 4}, []int64{0, 0}, false},
		{"expand_row", 0, []int64{2, 4}, []int64{0, 1}, false},
		{"ones", 7, []int64{1, 1, 1}, []int64{99, 5, 0}, true},
		{"size1_any_stride", 3, []int64{2, 1}, []int64{1, 1000}, true},
		{"scalar", 11, []int64{}, []int64{}, true},
		{"empty", 0, []int64{0, 5}, []int64{5, 1}, true},
		{"empty_far", 1000, []int64{3, 0}, []int64{1, 1}, true},
		{"3d", 1, []int64{2, 2, 2}, []int64{1, 5, 2}, false},
		{"last", 11, []int64{1}, []int64{1}, true},
	}
	var specs []tspec
	for _, c := range cases {
		specs = append(specs, tspec{c.name, "FloatStorage", "0", 12, c.offset, c.size, c.stride})
	}
	data := ckptZip(t, stateDict(specs...), arange(12))
	f, err := parseBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if len(f.Entries()) != len(cases) {
		t.Fatalf("%d entries", len(f.Entries()))
	}
	for i, e := range f.Entries() {
		var c = cases[0]
		for _, cc := range cases {
			if cc.name == e.Name {
				c = cc
			}
		}
		if e.DType != tensor.F32 || !e.Shape.Equal(c.size) || e.Shape == nil {
			t.Errorf("%s: %s %v", e.Name, e.DType, e.Shape)
		}
		if f.plans[i].contig != c.contig {
			t.Errorf("%s: contiguous %v, want %v", e.Name, f.plans[i].contig, c.contig)
		}
		got := readAll(t, f, i)
		if want := gatherF32(c.offset, c.size, c.stride); !bytes.Equal(got, want) {
			t.Errorf("%s: %v, want %v", e.Name, got, want)
		}
	}
}

// Views that do not fit their storage, or would be too big to
// materialise, are refused naming the tensor.
func TestBadViews(t *testing.T) {
	big := int64(1) << 40
	cases := []struct {
		s    tspec
		want string
	}{
		{tspec{"past", "FloatStorage", "0", 12, 10, []int64{3}, []int64{1}}, `tensor "past": view (offset 10, size [3], stride [1]) reaches element 12 of a storage of 12 F32 elements`},
		{tspec{"stride", "FloatStorage", "0", 12, 0, []int64{3, 4}, []int64{5, 1}}, `tensor "stride": view`},
		{tspec{"overflow", "FloatStorage", "0", 12, 0, []int64{3, 3}, []int64{math.MaxInt64 / 2, 1}}, `tensor "overflow": offset 0, size [3 3] and stride`},
		{tspec{"huge", "FloatStorage", "0", 12, 0, []int64{big, big}, []int64{0, 0}}, `tensor "huge": shape [1099511627776, 1099511627776]: invalid shape`},
		{tspec{"repeat", "FloatStorage", "0", 12, 0, []int64{1 << 20}, []int64{0}}, `tensor "repeat": expanded view (size [1048576], stride [0]) repeats 4 bytes of storage into 4194304`},
		{tspec{"materialise", "FloatStorage", "0", 12, 0, []int64{1 << 16, 1 << 13, 12}, []int64{0, 0, 1}}, `tensor "materialise": non-contiguous view (size [65536 8192 12], stride [0 0 1]) is 25769803776 bytes; materialising more than 1073741824 is refused`},
		{tspec{"storage", "FloatStorage", "0", 13, 0, []int64{1}, []int64{1}}, `storage "0": 13 FloatStorage elements need more than the 48 bytes of archive/data/0`},
		{tspec{"missing", "FloatStorage", "7", 1, 0, []int64{1}, []int64{1}}, `storage "7": the archive has no record archive/data/7`},
		{tspec{"complex", "ComplexFloatStorage", "0", 6, 0, []int64{6}, []int64{1}}, `tensor "complex": dtype ComplexFloatStorage is not supported`},
		{tspec{"", "FloatStorage", "0", 12, 0, []int64{1}, []int64{1}}, `a tensor has an empty name`},
	}
	for _, c := range cases {
		t.Run(c.s.name, func(t *testing.T) {
			_, err := parseBytes(ckptZip(t, stateDict(c.s), arange(12)))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			checkMsg(t, err, "mem.pt")
		})
	}
}

// Several tensors sharing one storage each read their own range, and a
// big-endian archive is converted.
func TestSharedAndBigEndian(t *testing.T) {
	specs := []tspec{
		{"a", "FloatStorage", "0", 12, 0, []int64{2, 4}, []int64{4, 1}},
		{"b", "FloatStorage", "0", 12, 8, []int64{2}, []int64{1}},
		{"c", "FloatStorage", "0", 12, 2, []int64{4, 2}, []int64{1, 4}},
	}
	le := arange(12)
	be := bytes.Clone(le)
	for i := 0; i < len(be); i += 4 {
		binary.BigEndian.PutUint32(be[i:], binary.LittleEndian.Uint32(le[i:]))
	}
	for _, order := range []string{"little", "big"} {
		st := le
		if order == "big" {
			st = be
		}
		data := zipFile(t, rec{"weird prefix/data.pkl", stateDict(specs...)}, rec{"weird prefix/byteorder", []byte(order)}, rec{"weird prefix/data/0", st})
		f, err := parseBytes(data)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range f.Entries() {
			s := specs[[]int{0, 2, 1}[i]] // by offset in the storage
			if e.Name != s.name {
				t.Fatalf("entry %d is %s, want %s (storage order)", i, e.Name, s.name)
			}
			if got, want := readAll(t, f, i), gatherF32(s.offset, s.size, s.stride); !bytes.Equal(got, want) {
				t.Errorf("%s %s: %v, want %v", order, e.Name, got, want)
			}
		}
	}
}

// Globals outside the allow-list are refused by name and never run.
func TestRefusedGlobals(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "vsdb_pickle_executed")
	cmd := "touch " + marker
	call := func(mod, name string, args ...string) []byte {
		p := newPk().global(mod, name).op('(')
		for _, a := range args {
			p.str(a)
		}
		return p.op('t', 'R', '.').Bytes()
	}
	stackGlobal := newPk().str("subprocess").str("Popen").op(0x93).op('(').str("touch").str(marker).op('l').op(0x85, 'R', '.').Bytes()
	inst := []byte("(S'" + cmd + "'\nios\nsystem\n.")
	obj := newPk().op('(').global("posix", "system").str(cmd).op('o', '.').Bytes()
	nested := newPk().op('}').str("hook").global("builtins", "exec").str("import os; os.system('"+cmd+"')").op(0x85, 'R', 's').
		str("w").tensor(tspec{"w", "FloatStorage", "0", 1, 0, []int64{1}, []int64{1}}).op('s', '.').Bytes()
	cases := []struct {
		name   string
		pickle []byte
		global string
	}{
		{"os.system", call("os", "system", cmd), "os.system"},
		{"posix.system", call("posix", "system", cmd), "posix.system"},
		{"nt.system", call("nt", "system", cmd), "nt.system"},
		{"eval", call("builtins", "eval", "__import__('os').system('"+cmd+"')"), "builtins.eval"},
		{"py2 eval", call("__builtin__", "eval", "1"), "builtins.eval"},
		{"getattr", call("builtins", "getattr", "x"), "builtins.getattr"},
		{"subprocess", call("subprocess", "check_output", "id"), "subprocess.check_output"},
		{"stack global", stackGlobal, "subprocess.Popen"},
		{"inst", inst, "os.system"},
		{"obj", obj, "posix.system"},
		{"inside a state_dict", nested, "builtins.exec"},
		{"torch.load", call("torch", "load", "x"), "torch.load"},
		{"storage from bytes", call("torch.storage", "_load_from_bytes", "x"), "torch.storage._load_from_bytes"},
		{"copyreg", call("copy_reg", "_reconstructor"), "copy_reg._reconstructor"},
		{"numpy", call("numpy.core.multiarray", "_reconstruct"), "numpy.core.multiarray._reconstruct"},
		{"module", call("torch.nn.modules.linear", "Linear"), "torch.nn.modules.linear.Linear"},
		{"main", call("__main__", "Net"), "__main__.Net"},
	}
	for _, c := range cases {
		for _, layout := range []string{"zip", "pickle"} {
			t.Run(c.name+"/"+layout, func(t *testing.T) {
				data := c.pickle
				if layout == "zip" {
					data = ckptZip(t, c.pickle, make([]byte, 4))
				}
				_, err := parseBytes(data)
				want := "vsdb: mem.pt: refuses to load global " + c.global + " (only tensor data is read; nothing is executed)"
				if err == nil || !strings.HasPrefix(err.Error(), want) {
					t.Fatalf("got %v, want %q", err, want)
				}
				checkMsg(t, err, "mem.pt")
				if _, err := os.Stat(marker); err == nil {
					t.Fatal("the marker file appeared")
				}
			})
		}
	}
}

// Malformed pickles and hostile sizes give errors, never panics or huge
// allocations.
func TestHostilePickles(t *testing.T) {
	deep := newPk()
	for range 300 {
		deep.op(']')
	}
	for range 299 {
		deep.op('a')
	}
	deep.op('.')
	cycle := newPk().op(']', 'q', 0, 'h', 0, 'a', '.')
	// A DAG whose paths double at every level: L(i) = [L(i-1), L(i-1)].
	dag := newPk().op(']', 'K', 1, 'a')
	for range 40 {
		dag.op('q', 0, '0', ']', 'h', 0, 'a', 'h', 0, 'a')
	}
	dag.op('.')
	// Copies of a long list, again and again: bounded by MaxWork.
	bomb := newPk().op('(')
	for range 1000 {
		bomb.op('N')
	}
	bomb.op('l', 'q', 0, '0')
	for range 200000 {
		bomb.global("builtins", "tuple").op('h', 0, 0x85, 'R', '0')
	}
	bomb.op('N', '.')
	stack := newPk()
	for range MaxStack + 1 {
		stack.op('N')
	}
	long := newPk().op('X', 0xff, 0xff, 0xff, 0x7f)
	bytes8 := newPk().op(0x8e, 0, 0, 0, 0, 0, 0, 0, 0x40)
	cases := []struct {
		name   string
		pickle []byte
		want   string
	}{
		{"deep", deep.Bytes(), "nested more than 100 deep"},
		{"cycle", cycle.Bytes(), "nested more than 100 deep (or a cycle)"},
		{"dag", dag.Bytes(), "values to walk"},
		{"bomb", bomb.Bytes(), "steps of work"},
		{"stack", stack.Bytes(), "stack exceeds"},
		{"long string", long.Bytes(), "length 2147483647 runs past the end of the pickle"},
		{"bytes8", bytes8.Bytes(), "runs past the end of the pickle"},
		{"empty", []byte("\x80\x02"), "pickle ends early"},
		{"no stop", newPk().op('N').Bytes(), "pickle ends early"},
		{"underflow", newPk().op('a', '.').Bytes(), "stack underflow"},
		{"two objects", newPk().op('N', 'N', '.').Bytes(), "STOP with 2 objects"},
		{"bad memo", newPk().op('h', 9, '.').Bytes(), "memo key 9 is not defined"},
		{"bad opcode", newPk().op(0xff, '.').Bytes(), "unknown opcode 0xff"},
		{"protocol 6", []byte("\x80\x06N."), "unsupported pickle protocol 6"},
		{"ext", newPk().op(0x82, 1, '.').Bytes(), "EXT1/2/4"},
		{"buffer", newPk().op(0x97, '.').Bytes(), "out-of-band"},
		{"persid text", newPk().op('P').Bytes(), ""},
		{"call int", newPk().int(3).op(')', 'R', '.').Bytes(), "cannot call a int"},
		{"call storage type", newPk().global("torch", "FloatStorage").op(')', 'R', '.').Bytes(), "cannot call a storage type"},
		{"call dtype", newPk().global("torch", "float32").op(')', 'R', '.').Bytes(), "cannot call a dtype"},
		{"long too large", newPk().op(0x8e, 0, 0, 0, 0, 0, 0, 0, 0x80).Bytes(), "length 9223372036854775808 is too large"},
		{"rebuild junk", newPk().global("torch._utils", "_rebuild_tensor_v2").op(')', 'R', '.').Bytes(), "takes 6 to 7 arguments"},
		{"unhashable", newPk().op('}', ']', 'N', 's', '.').Bytes(), "unhashable dict key (list)"},
		{"setitem on list", newPk().op(']', 'N', 'N', 's', '.').Bytes(), "SETITEM on a list"},
		{"bad persistent id", newPk().op('N', 'Q', '.').Bytes(), "unsupported persistent id of type None"},
		{"no tensors", newPk().op('}').str("epoch").int(3).op('s', '.').Bytes(), "no tensors in the checkpoint (it holds a dict; skipped 1 non-tensor values: epoch (int))"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseBytes(ckptZip(t, c.pickle))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			checkMsg(t, err, "mem.pt")
		})
	}
}

// Every prefix of a real file, and every single-byte corruption of it,
// is an error or a readable file; never a panic.
func TestTruncatedAndCorrupt(t *testing.T) {
	for _, name := range []string{"views.pt", "views_legacy.pt"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		for n := range len(data) {
			f, err := parseBytes(data[:n])
			if err == nil {
				// A legacy file cut inside trailing padding cannot exist:
				// storages end the file.
				t.Fatalf("%s cut at %d bytes: accepted (%d tensors)", name, n, len(f.entries))
			}
			checkMsg(t, err, "mem.pt")
		}
		for i := range data {
			for _, x := range []byte{[]byte{0xff, 0x01, 0x80}[i%3]} {
				b := bytes.Clone(data)
				b[i] ^= x
				f, err := parseBytes(b)
				if err != nil {
					checkMsg(t, err, "mem.pt")
					continue
				}
				for j, e := range f.Entries() {
					r, err := f.Open(j)
					if err != nil {
						t.Fatal(err)
					}
					got, err := io.ReadAll(r)
					if err == nil && int64(len(got)) != e.Size {
						t.Fatalf("%s byte %d ^ %#x: %s read %d bytes, want %d", name, i, x, e.Name, len(got), e.Size)
					}
					checkMsg(t, err, "mem.pt")
				}
			}
		}
	}
}

// Files that are not PyTorch checkpoints are refused with a reason.
func TestNotCheckpoints(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sd := stateDict(tspec{"w", "FloatStorage", "0", 1, 0, []int64{1}, []int64{1}})
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty.pt", nil, "empty file"},
		{"lfs.pt", []byte("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n"), "Git LFS pointer"},
		{"text.pt", []byte("hello world"), "not a PyTorch checkpoint (neither a zip archive nor a pickle)"},
		{"proto0.pt", []byte("(lp0\nI1\na."), "a plain pickle (of a list)"},
		{"npz.pt", zipFile(t, rec{"a.npy", []byte("x")}), "a zip archive of .npy files (.npz)"},
		{"nopkl.pt", zipFile(t, rec{"x/version", []byte("3")}), "zip archive without a data.pkl record"},
		{"two.pt", zipFile(t, rec{"a/data.pkl", sd}, rec{"a/data/0", make([]byte, 4)}, rec{"b/data.pkl", sd}, rec{"b/data/0", make([]byte, 4)}), "zip archive holds 2 checkpoints"},
		{"torchscript.pt", zipFile(t, rec{"m/data.pkl", sd}, rec{"m/constants.pkl", sd}, rec{"m/code/__torch__.py", nil}, rec{"m/data/0", make([]byte, 4)}), "a TorchScript archive"},
		{"byteorder.pt", zipFile(t, rec{"a/data.pkl", sd}, rec{"a/byteorder", []byte("middle")}, rec{"a/data/0", make([]byte, 4)}), `a/byteorder says "middle"`},
		{"cut.pt", ckptZip(t, sd, make([]byte, 4))[:100], "not a valid zip archive"},
		{"tar.pt", append(make([]byte, 257), []byte("ustar\x0000")...), "tar-format"},
		{"legacy_bad_proto.pt", append(append([]byte{}, legacyMagic...), []byte(".\x80\x02K\x07.")...), "legacy protocol version 7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := write(c.name, c.data)
			_, err := Open(p)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			checkMsg(t, err, p)
		})
	}
	if _, err := Open(filepath.Join(dir, "missing.pt")); err == nil || !strings.Contains(err.Error(), "cannot open") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
}

// Names: nested dicts are joined with ".", lists by index, wrappers
// unwrapped; a name given twice is an error; a lone tensor is named after
// the file.
func TestNames(t *testing.T) {
	w := tspec{"w", "FloatStorage", "0", 1, 0, []int64{1}, []int64{1}}
	nested := newPk().op('}', '(').str("model").op('}', '(').str("enc").op(']', '(')
	nested.tensor(w).tensor(w).op('e').int(7).op(']').tensor(w).op('a', 'u')
	nested.str("epoch").int(3).str("opt").op('}').op('u', '.')
	dup := newPk().op('}', '(').str("a.b").tensor(w).str("a").op('}').str("b").tensor(w).op('s', 'u', '.')
	lone := newPk().tensor(w).op('.')
	cases := []struct {
		name   string
		pickle []byte
		want   []string
		meta   map[string]string
		err    string
	}{
		{"nested", nested.Bytes(), []string{"enc.0", "enc.1", "7.0"},
			map[string]string{"pytorch.unwrapped": "model", "pytorch.skipped": "2 non-tensor values: epoch, opt"}, ""},
		{"dup", dup.Bytes(), nil, nil, `two tensors are named "a.b"`},
		{"lone", lone.Bytes(), []string{"mem"}, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := parseBytes(ckptZip(t, c.pickle, f32s(5)))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, e := range f.Entries() {
				got = append(got, e.Name)
				if b := readAll(t, f, i); !bytes.Equal(b, f32s(5)) {
					t.Errorf("%s: %v", e.Name, b)
				}
			}
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Errorf("names %v, want %v", got, c.want)
			}
			for k, v := range c.meta {
				if f.Metadata()[k] != v {
					t.Errorf("metadata %s = %q, want %q", k, f.Metadata()[k], v)
				}
			}
		})
	}
}

func TestSniff(t *testing.T) {
	views, _ := os.ReadFile("testdata/views.pt")
	legacy, _ := os.ReadFile("testdata/views_legacy.pt")
	for _, c := range []struct {
		head []byte
		want bool
	}{
		{views[:ckpt.SniffLen], true},
		{legacy[:ckpt.SniffLen], true},
		{zipFile(t, rec{"a.npy", nil})[:ckpt.SniffLen], false},
		{[]byte("\x80\x02}q\x00."), false},
		{[]byte("PK\x03\x04"), false},
		{nil, false},
	} {
		if got := Sniff(c.head); got != c.want {
			t.Errorf("Sniff(%q) = %v", c.head[:min(len(c.head), 40)], got)
		}
	}
}

// Readers may run concurrently; after Close they fail naming the tensor.
func TestConcurrentAndClose(t *testing.T) {
	f, err := Open("testdata/views.pt")
	if err != nil {
		t.Fatal(err)
	}
	want := make([][]byte, len(f.Entries()))
	for i := range want {
		want[i] = readAll(t, f, i)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(want))
	for range 8 {
		for i := range want {
			wg.Go(func() {
				r, err := f.Open(i)
				if err != nil {
					errs <- err
					return
				}
				b, err := io.ReadAll(r)
				if err == nil && !bytes.Equal(b, want[i]) {
					err = errors.New("bytes differ for " + f.entries[i].Name)
				}
				if err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	i := 0
	for i = range f.plans {
		if !f.plans[i].contig {
			break
		}
	}
	r, _ := f.Open(i)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); err == nil || !strings.Contains(err.Error(), f.entries[i].Name) {
		t.Errorf("read after close: %v", err)
	}
	if _, err := f.Open(0); err == nil || !strings.Contains(err.Error(), "file is closed") {
		t.Errorf("open after close: %v", err)
	}
	if _, err := f.Open(-1); err == nil {
		t.Error("Open(-1) worked")
	}
}
