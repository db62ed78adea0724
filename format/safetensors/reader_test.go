package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/vsdb/vsdb/tensor"
)

// stFile assembles a file from a header text, used as is, and data.
func stFile(hdr string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	b = append(b, hdr...)
	return append(b, data...)
}

func parseBytes(b []byte) (*File, error) {
	return Parse(bytes.NewReader(b), int64(len(b)), "mem.safetensors")
}

func f32s(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func readAll(t *testing.T, s interface {
	Open(int) (io.ReadCloser, error)
}, i int) []byte {
	t.Helper()
	r, err := s.Open(i)
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

const a2 = `"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}`

func TestRules(t *testing.T) {
	eight := f32s(1, 2)
	for _, tc := range []struct {
		name, hdr string
		data      []byte
		err       string // "" for valid
	}{
		{"valid", `{` + a2 + `}`, eight, ""},
		{"padding spaces", `{` + a2 + `}       `, eight, ""},
		{"padding other whitespace", "{" + a2 + "}\n\t\r ", eight, ""},
		{"no tensors", `{}`, nil, ""},
		{"no tensors trailing", `{}`, eight, "8 trailing bytes"},
		{"gap", `{` + a2 + `,"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}`, f32s(1, 2, 3, 4), `tensor "b": data_offsets [12, 16] leave bytes [8, 12) unused`},
		{"gap at start", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight, "leave bytes [0, 4) unused"},
		{"overlap", `{` + a2 + `,"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, f32s(1, 2, 3), `overlap tensor "a"`},
		{"alias", `{` + a2 + `,"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, eight, "overlap"},
		{"trailing bytes", `{` + a2 + `}`, append(eight, 0), "1 trailing bytes"},
		{"data truncated", `{` + a2 + `}`, eight[:7], "file has 7 after the header"},
		{"reversed", `{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, eight, "begin after they end"},
		{"range too short", `{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, eight, "hold 8 bytes but F32 [3] needs 12"},
		{"range too long", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}`, eight, "hold 8 bytes but F32 [1] needs 4"},
		{"empty range, one element", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,0]}}`, nil, "needs 4"},
		{"metadata", `{"__metadata__":{"format":"pt","k":""},` + a2 + `}`, eight, ""},
		{"metadata null", `{"__metadata__":null,` + a2 + `}`, eight, ""},
		{"metadata number", `{"__metadata__":{"a":1},` + a2 + `}`, eight, `__metadata__["a"] must be a string, found the number 1`},
		{"metadata nested", `{"__metadata__":{"a":{"b":"c"}},` + a2 + `}`, eight, `must be a string`},
		{"metadata null value", `{"__metadata__":{"a":null},` + a2 + `}`, eight, `must be a string, found null`},
		{"metadata string", `{"__metadata__":"pt",` + a2 + `}`, eight, "__metadata__ must be an object"},
		{"metadata array", `{"__metadata__":["pt"],` + a2 + `}`, eight, "__metadata__ must be an object"},
		{"metadata duplicate key", `{"__metadata__":{"a":"1","a":"2"},` + a2 + `}`, eight, `lists key "a" twice`},
		{"metadata twice", `{"__metadata__":{},"__metadata__":{},` + a2 + `}`, eight, "__metadata__ twice"},
		{"duplicate name", `{` + a2 + `,` + a2 + `}`, eight, `tensor "a" twice`},
		{"unknown dtype", `{"a":{"dtype":"F12","shape":[1],"data_offsets":[0,2]}}`, []byte{0, 0}, `tensor "a": unknown dtype "F12"`},
		{"dtype lower case", `{"a":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}}`, eight, `unknown dtype "f32"`},
		{"dtype not string", `{"a":{"dtype":4,"shape":[2],"data_offsets":[0,8]}}`, eight, "dtype must be a string"},
		{"missing dtype", `{"a":{"shape":[2],"data_offsets":[0,8]}}`, eight, `tensor "a": missing dtype`},
		{"missing all", `{"a":{}}`, nil, "missing dtype, shape, data_offsets"},
		{"extra field", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}`, eight, `unexpected field "x"`},
		{"field twice", `{"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, eight, "dtype given twice"},
		{"entry not object", `{"a":[1]}`, nil, "expected an object"},
		{"rank 0", `{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}`, f32s(7), ""},
		{"zero dims", `{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[2,0,3],"data_offsets":[0,0]}}`, nil, ""},
		{"zero dim beside huge dim", `{"a":{"dtype":"F32","shape":[0,9223372036854775807],"data_offsets":[0,0]}}`, nil, ""},
		{"negative dim", `{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, eight, "-2 is negative"},
		{"fractional dim", `{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}`, eight, "2.0 is not a non-negative integer"},
		{"exponent dim", `{"a":{"dtype":"F32","shape":[2e0],"data_offsets":[0,8]}}`, eight, "not a non-negative integer"},
		{"huge number", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,1e400]}}`, eight, "not a non-negative integer"},
		{"int64 overflow", `{"a":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,8]}}`, eight, "too large"},
		{"u64 overflow", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,184467440737095516160]}}`, eight, "too large"},
		{"elements overflow", `{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, eight, "more than 2^48 elements"},
		{"dim string", `{"a":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}`, eight, "shape must hold integers, found a string"},
		{"shape not array", `{"a":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}`, eight, "shape must be an array"},
		{"offsets three", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}`, eight, "found 3 numbers"},
		{"offsets one", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[8]}}`, eight, "found 1 numbers"},
		{"offsets negative", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}`, eight, "negative"},
		{"not json", "\x89PNG\r\n\x1a\n", nil, "not valid UTF-8"},
		{"not json utf8", `{"a":`, nil, "header JSON ends early"},
		{"not json garbage", `{"a" 1}`, nil, "not valid JSON"},
		{"leading whitespace", " \n{}", nil, ""},
		{"top level array", `[]`, nil, "does not start with '{'"},
		{"data after object", `{} {}`, nil, "data after its JSON object"},
		{"data after object 2", `{}x`, nil, "data after its JSON object"},
		{"empty header", ``, nil, "does not start with '{'"},
		{"blank header", `   `, nil, "does not start with '{'"},
		{"invalid utf8 in name", "{\"\xff\":1}", nil, "not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseBytes(stFile(tc.hdr, tc.data))
			if tc.err != "" {
				checkErr(t, err, tc.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var total int64
			for i, e := range f.Entries() {
				want, _ := e.Shape.Bytes(e.DType)
				if e.Size != want || int64(len(readAll(t, f, i))) != e.Size {
					t.Errorf("%s: size %d, shape needs %d", e.Name, e.Size, want)
				}
				total += e.Size
			}
			if total != int64(len(tc.data)) {
				t.Errorf("tensors cover %d bytes, data is %d", total, len(tc.data))
			}
			if f.Metadata() == nil {
				t.Error("Metadata() is nil")
			}
		})
	}
}

func TestHeaderLength(t *testing.T) {
	// N beyond the reference's 100 MB cap: refused before any allocation.
	b := binary.LittleEndian.AppendUint64(nil, MaxHeaderSize+1)
	b = append(b, "{}"...)
	_, err := parseBytes(b)
	checkErr(t, err, "exceeds the 100000000-byte limit")

	// N within the cap but past the end of the file.
	b = binary.LittleEndian.AppendUint64(nil, MaxHeaderSize)
	b = append(b, "{}"...)
	_, err = parseBytes(b)
	checkErr(t, err, "runs past the end of the file")

	b = binary.LittleEndian.AppendUint64(nil, math.MaxUint64)
	_, err = parseBytes(append(b, "{}"...))
	checkErr(t, err, "exceeds")

	_, err = parseBytes([]byte{2, 0, 0, 0})
	checkErr(t, err, "too short")
	_, err = parseBytes(nil)
	checkErr(t, err, "too short")

	// N exactly the file: no data, no tensors.
	if _, err := parseBytes(stFile("{}", nil)); err != nil {
		t.Fatal(err)
	}
}

// A huge, ill-formed header does not make the reader allocate beyond it.
func TestHugeHeaderCheckedAgainstFileSize(t *testing.T) {
	b := binary.LittleEndian.AppendUint64(nil, 50_000_000)
	b = append(b, "{"...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := parseBytes(b)
	runtime.ReadMemStats(&after)
	checkErr(t, err, "runs past the end")
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("allocated %d bytes for a header that cannot fit", n)
	}
}

func TestOffsetOrder(t *testing.T) {
	// Listed out of order: valid, and Entries come back in offset order.
	hdr := `{"c":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},` +
		`"z":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},` +
		`"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},` +
		`"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},` +
		`"y":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}`
	f, err := parseBytes(stFile(hdr, f32s(1, 2, 3)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range f.Entries() {
		names = append(names, e.Name)
	}
	// Empty tensors at offset 0 keep their listing order.
	if got := strings.Join(names, ","); got != "z,y,a,b,c" {
		t.Errorf("order %s, want z,y,a,b,c", got)
	}
	for i, want := range map[int]float32{2: 1, 3: 2, 4: 3} {
		if got := math.Float32frombits(binary.LittleEndian.Uint32(readAll(t, f, i))); got != want {
			t.Errorf("tensor %d = %v, want %v", i, got, want)
		}
	}
	if f.Offset(2) != 8+int64(len(hdr)) {
		t.Errorf("Offset(2) = %d", f.Offset(2))
	}
}

func TestScalarAndMetadata(t *testing.T) {
	f, err := parseBytes(stFile(`{"__metadata__":{"format":"pt"},"s":{"dtype":"BF16","shape":[],"data_offsets":[0,2]}}`, []byte{0x80, 0x3f}))
	if err != nil {
		t.Fatal(err)
	}
	e := f.Entries()[0]
	if e.Shape == nil || len(e.Shape) != 0 || e.DType != tensor.BF16 || e.Size != 2 {
		t.Errorf("entry %+v, want BF16 shape [] (non-nil) size 2", e)
	}
	if m := f.Metadata(); len(m) != 1 || m["format"] != "pt" {
		t.Errorf("metadata %v", m)
	}
	f.Metadata()["format"] = "changed"
	if f.Metadata()["format"] != "pt" {
		t.Error("Metadata() is not a copy")
	}
	f.Entries()[0].Shape = append(f.Entries()[0].Shape, 1)
	if len(f.Entries()[0].Shape) != 0 {
		t.Error("Entries() is not a copy")
	}
}

func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := os.WriteFile(path, stFile(`{`+a2+`}`, f32s(1, 2)), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Path() != path {
		t.Errorf("Path() = %q", f.Path())
	}
	if !bytes.Equal(readAll(t, f, 0), f32s(1, 2)) {
		t.Error("wrong bytes")
	}
	_, err = f.Open(1)
	checkErr(t, err, "no tensor number 1")
	_, err = f.Open(-1)
	checkErr(t, err, "no tensor number -1")

	// Truncated after opening: the read fails naming file and tensor.
	r, err := f.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, int64(8+len(`{`+a2+`}`)+5)); err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(r)
	checkErr(t, err, path+`: tensor "a": 3 bytes missing`)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("%v is not io.ErrUnexpectedEOF", err)
	}

	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	_, err = f.Open(0)
	checkErr(t, err, "file is closed")

	_, err = Open(filepath.Join(dir, "missing.safetensors"))
	checkErr(t, err, "missing.safetensors: cannot open: no such file")
	_, err = Open(dir)
	checkErr(t, err, "is a directory")

	lfs := filepath.Join(dir, "lfs.safetensors")
	os.WriteFile(lfs, []byte("version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 10\n"), 0o644)
	_, err = Open(lfs)
	checkErr(t, err, lfs+": is a Git LFS pointer, not the weights (run git lfs pull)")
}

func TestErrorNamesQuotedPath(t *testing.T) {
	_, err := Parse(bytes.NewReader(nil), 0, "bad\nname.safetensors")
	checkErr(t, err, `"bad\nname.safetensors"`)
}

func TestConcurrentReads(t *testing.T) {
	entries, data := roundTripEntries()
	path := filepath.Join(t.TempDir(), "c.safetensors")
	if err := WriteFile(path, entries, nil, bytesOpener(data)); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 50; k++ {
				i := (g + k) % len(entries)
				r, err := f.Open(i)
				if err != nil {
					t.Error(err)
					return
				}
				b, err := io.ReadAll(r)
				if err != nil || !bytes.Equal(b, data[i]) {
					t.Errorf("tensor %d: %v", i, err)
				}
				_ = f.Entries()
				_ = f.Metadata()
			}
		}()
	}
	wg.Wait()
}
