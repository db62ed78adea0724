package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/tensor"
)

func bytesOpener(data [][]byte) func(int) (io.ReadCloser, error) {
	return func(i int) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data[i])), nil }
}

func writeBytes(t *testing.T, entries []Entry, meta map[string]string, data [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, entries, meta, bytesOpener(data)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The byte-exact outputs of the reference implementation's own tests.
func TestWriteMatchesReference(t *testing.T) {
	data := f32s(0, 1, 2, 3, 4, 5)
	got := writeBytes(t, []Entry{{Name: "attn.0", DType: tensor.F32, Shape: tensor.Shape{1, 2, 3}, Size: 24}}, nil, [][]byte{data})
	want := []byte{
		64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
		116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
		58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
		101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
		0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
	}
	if !bytes.Equal(got, want) {
		t.Errorf("serialization:\n got %q\nwant %q", got, want)
	}

	// Forced alignment: the header is padded with spaces.
	got = writeBytes(t, []Entry{{Name: "attn0", DType: tensor.F32, Shape: tensor.Shape{1, 1, 2, 3}, Size: 24}}, nil, [][]byte{data})
	want = []byte{
		72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116,
		121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58,
		91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102,
		115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32,
		32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0,
		160, 64,
	}
	if !bytes.Equal(got, want) {
		t.Errorf("forced alignment:\n got %q\nwant %q", got, want)
	}

	// Empty, with and without metadata.
	if got := writeBytes(t, nil, nil, nil); !bytes.Equal(got, []byte{8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32}) {
		t.Errorf("empty: %q", got)
	}
	got = writeBytes(t, nil, map[string]string{"framework": "pt"}, nil)
	want = []byte{
		40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
		95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
		116, 34, 125, 125, 32, 32, 32, 32, 32,
	}
	if !bytes.Equal(got, want) {
		t.Errorf("empty with metadata:\n got %q\nwant %q", got, want)
	}
}

func roundTripEntries() ([]Entry, [][]byte) {
	entries := []Entry{
		{Name: "z.weight", DType: tensor.F32, Shape: tensor.Shape{2, 3}, Size: 24},
		{Name: "a.bias", DType: tensor.F16, Shape: tensor.Shape{3}, Size: 6},
		{Name: "scalar", DType: tensor.F64, Shape: tensor.Shape{}, Size: 8},
		{Name: "empty", DType: tensor.BF16, Shape: tensor.Shape{4, 0}, Size: 0},
		{Name: "ids", DType: tensor.I64, Shape: tensor.Shape{2}, Size: 16},
		{Name: "mask", DType: tensor.Bool, Shape: tensor.Shape{3}, Size: 3},
		{Name: "fp8", DType: tensor.F8E4M3, Shape: tensor.Shape{1}, Size: 1},
		{Name: `odd "name" <&> é`, DType: tensor.U8, Shape: tensor.Shape{1}, Size: 1},
	}
	data := make([][]byte, len(entries))
	for i, e := range entries {
		data[i] = make([]byte, e.Size)
		for j := range data[i] {
			data[i][j] = byte(i*31 + j)
		}
	}
	return entries, data
}

func TestWriteRoundTrip(t *testing.T) {
	entries, data := roundTripEntries()
	meta := map[string]string{"format": "pt", "note": "x\"y"}
	out := writeBytes(t, entries, meta, data)
	if n := binary.LittleEndian.Uint64(out); n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	f, err := parseBytes(out)
	if err != nil {
		t.Fatal(err)
	}
	got := f.Entries()
	if len(got) != len(entries) {
		t.Fatalf("%d entries, want %d", len(got), len(entries))
	}
	for i, e := range got {
		w := entries[i]
		if e.Name != w.Name || e.DType != w.DType || !e.Shape.Equal(w.Shape) || e.Size != w.Size {
			t.Errorf("entry %d: %+v, want %+v (same order as written)", i, e, w)
		}
		if !bytes.Equal(readAll(t, f, i), data[i]) {
			t.Errorf("tensor %q: bytes differ", e.Name)
		}
	}
	if m := f.Metadata(); len(m) != 2 || m["format"] != "pt" || m["note"] != "x\"y" {
		t.Errorf("metadata %v", m)
	}
	// Writing what was read gives the same bytes.
	var again bytes.Buffer
	if err := Write(&again, f.Entries(), f.Metadata(), f.Open); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), out) {
		t.Error("rewriting a read file changed its bytes")
	}
	hdr, err := Header(entries, meta)
	if err != nil || !bytes.HasPrefix(out, hdr) || len(out) != len(hdr)+int(sum(entries)) {
		t.Errorf("Header() disagrees with Write: %v", err)
	}
}

func sum(es []Entry) (n int64) {
	for _, e := range es {
		n += e.Size
	}
	return n
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriteErrors(t *testing.T) {
	ok := Entry{Name: "a", DType: tensor.F32, Shape: tensor.Shape{2}, Size: 8}
	for _, tc := range []struct {
		name    string
		entries []Entry
		meta    map[string]string
		data    [][]byte
		err     string
	}{
		{"short source", []Entry{ok}, nil, [][]byte{make([]byte, 5)}, `tensor "a": its source yielded 5 bytes, want 8`},
		{"long source", []Entry{ok}, nil, [][]byte{make([]byte, 9)}, `tensor "a": its source yielded more than 8 bytes`},
		{"size mismatch", []Entry{{Name: "a", DType: tensor.F32, Shape: tensor.Shape{2}, Size: 4}}, nil, nil, `tensor "a": Size is 4 bytes but F32 [2] needs 8`},
		{"duplicate", []Entry{ok, ok}, nil, nil, `tensor "a" is given twice`},
		{"reserved name", []Entry{{Name: "__metadata__", DType: tensor.U8, Shape: tensor.Shape{0}}}, nil, nil, "may not be named __metadata__"},
		{"invalid dtype", []Entry{{Name: "a", Shape: tensor.Shape{0}}}, nil, nil, "invalid dtype"},
		{"negative dim", []Entry{{Name: "a", DType: tensor.U8, Shape: tensor.Shape{-1}}}, nil, nil, "negative"},
		{"bad utf8 name", []Entry{{Name: "\xff", DType: tensor.U8, Shape: tensor.Shape{0}}}, nil, nil, "not valid UTF-8"},
		{"bad utf8 metadata", nil, map[string]string{"k": "\xff"}, nil, "not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tc.entries, tc.meta, bytesOpener(tc.data))
			checkErr(t, err, tc.err)
			if tc.data == nil && buf.Len() != 0 {
				t.Error("wrote bytes before validating the entries")
			}
		})
	}

	openErr := func(int) (io.ReadCloser, error) { return nil, errors.New("vsdb: src.safetensors: boom") }
	err := Write(io.Discard, []Entry{ok}, nil, openErr)
	checkErr(t, err, `safetensors writer: tensor "a": open: src.safetensors: boom`)

	err = Write(&failingWriter{n: 20}, []Entry{ok}, nil, bytesOpener([][]byte{make([]byte, 8)}))
	checkErr(t, err, "write header: disk full")
	hdr, _ := Header([]Entry{ok}, nil)
	err = Write(&failingWriter{n: len(hdr) + 4}, []Entry{ok}, nil, bytesOpener([][]byte{make([]byte, 8)}))
	checkErr(t, err, `tensor "a": write: disk full`)
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.safetensors")
	entries, data := roundTripEntries()
	if err := WriteFile(path, entries, nil, bytesOpener(data)); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, writeBytes(t, entries, nil, data)) {
		t.Error("WriteFile and Write disagree")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", fi.Mode())
	}
	onlyFiles(t, dir, "out.safetensors")
}

func onlyFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	des, _ := os.ReadDir(dir)
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	if !slices.Equal(names, want) {
		t.Errorf("folder holds %q, want %q", names, want)
	}
}

func TestWriteFileFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.safetensors")
	entries, data := roundTripEntries()
	failSecond := func(i int) (io.ReadCloser, error) {
		if i == 1 {
			return nil, errors.New("source gone")
		}
		return io.NopCloser(bytes.NewReader(data[i])), nil
	}
	err := WriteFile(path, entries, nil, failSecond)
	checkErr(t, err, path+`: tensor "a.bias": open: source gone`)
	onlyFiles(t, dir)

	// A failed export leaves an existing file untouched.
	os.WriteFile(path, []byte("old"), 0o600)
	short := func(i int) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("x")), nil }
	checkErr(t, WriteFile(path, entries, nil, short), "its source yielded 1 bytes")
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("existing file changed to %q", b)
	}
	onlyFiles(t, dir, "out.safetensors")
	os.Remove(path)

	// Invalid entries, and a panicking source.
	checkErr(t, WriteFile(path, []Entry{{Name: "a"}}, nil, failSecond), "invalid dtype")
	onlyFiles(t, dir)
	func() {
		defer func() { recover() }()
		WriteFile(path, entries, nil, func(int) (io.ReadCloser, error) { panic("boom") })
	}()
	onlyFiles(t, dir)

	// A folder that does not exist, and a path that is a folder.
	checkErr(t, WriteFile(filepath.Join(dir, "no", "x.safetensors"), nil, nil, nil), "cannot create a temporary file")
	os.Mkdir(path, 0o755)
	checkErr(t, WriteFile(path, nil, nil, nil), "is a directory; give a file name")
	onlyFiles(t, dir, "out.safetensors")
}

func TestWriteLargeStreams(t *testing.T) {
	// 3 MiB through the writer and back, in bounded chunks.
	n := int64(3 << 20 / 4)
	e := Entry{Name: "big", DType: tensor.F32, Shape: tensor.Shape{n}, Size: 4 * n}
	src := func(int) (io.ReadCloser, error) { return io.NopCloser(io.LimitReader(zeros{}, e.Size)), nil }
	path := filepath.Join(t.TempDir(), "big.safetensors")
	if err := WriteFile(path, []Entry{e}, nil, src); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, _ := f.Open(0)
	m, err := io.Copy(io.Discard, r)
	if err != nil || m != e.Size {
		t.Fatalf("read %d bytes, %v", m, err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
