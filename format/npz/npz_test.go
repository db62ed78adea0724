package npz

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/internal/allocbound"

	"github.com/vsdb/vsdb/format/internal/ckpt"
	"github.com/vsdb/vsdb/tensor"
)

const testPath = "dir/a.npz"

var _ ckpt.Source = (*File)(nil)

// npyBytes assembles a version 1.0 .npy file, padding the dict as numpy
// does (to a multiple of 64 bytes, ending in a newline).
func npyBytes(dict string, data []byte) []byte {
	for (10+len(dict)+1)%64 != 0 {
		dict += " "
	}
	dict += "\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(dict)))
	b = append(b, dict...)
	return append(b, data...)
}

func f4(shape string, vs ...float32) []byte {
	return npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': ("+shape+"), }", le32(vs...))
}

func le32(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func deflate(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// zmember is one member of an archive built by zipBytes.
type zmember struct {
	name   string
	data   []byte // uncompressed
	method uint16
	// raw, when set, is written as the compressed bytes under hdr
	// (sizes, CRC, flags as given): archives that lie.
	raw []byte
	hdr *zip.FileHeader
}

func zipBytes(t testing.TB, ms ...zmember) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range ms {
		if m.hdr != nil {
			h := *m.hdr
			h.Name = m.name
			w, err := zw.CreateRaw(&h)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(m.raw)
			continue
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: m.method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(m.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func parseBytes(b []byte) (*File, error) {
	return Parse(bytes.NewReader(b), int64(len(b)), testPath)
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

func readAll(t testing.TB, f *File, i int) ([]byte, error) {
	t.Helper()
	r, err := f.Open(i)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return io.ReadAll(r)
}

func mustRead(t testing.TB, f *File, i int) []byte {
	t.Helper()
	b, err := readAll(t, f, i)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValid(t *testing.T) {
	fortran := npyBytes("{'descr': '>f4', 'fortran_order': True, 'shape': (2, 2), }", be32(1, 3, 2, 4))
	for _, method := range []uint16{zip.Store, zip.Deflate} {
		b := zipBytes(t,
			zmember{name: "w.npy", data: f4("2, 3", 1, 2, 3, 4, 5, 6), method: method},
			zmember{name: "enc/layer.0/b.npy", data: f4("3,", 7, 8, 9), method: method},
			zmember{name: "f.npy", data: fortran, method: method},
			zmember{name: "s.npy", data: f4("", 42), method: method},
			zmember{name: "empty.npy", data: f4("0, 3"), method: method},
			zmember{name: "raw", data: f4("1,", 5), method: method}, // npy content, no suffix
			zmember{name: "README.txt", data: []byte("hello"), method: method},
			zmember{name: "dir/", method: zip.Store},
		)
		f, err := parseBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			name  string
			shape tensor.Shape
			vals  []float32
		}{
			{"w", tensor.Shape{2, 3}, []float32{1, 2, 3, 4, 5, 6}},
			{"enc/layer.0/b", tensor.Shape{3}, []float32{7, 8, 9}},
			{"f", tensor.Shape{2, 2}, []float32{1, 2, 3, 4}},
			{"s", tensor.Shape{}, []float32{42}},
			{"empty", tensor.Shape{0, 3}, nil},
			{"raw", tensor.Shape{1}, []float32{5}},
		}
		es := f.Entries()
		if len(es) != len(want) {
			t.Fatalf("method %d: entries %+v", method, es)
		}
		for i, w := range want {
			e := es[i]
			if e.Name != w.name || e.DType != tensor.F32 || !e.Shape.Equal(w.shape) || e.Shape == nil || e.Size != int64(4*len(w.vals)) {
				t.Errorf("method %d: entry %d: %+v, want %s %s", method, i, e, w.name, w.shape)
			}
			if got := floats(mustRead(t, f, i)); !equal(got, w.vals) {
				t.Errorf("method %d: %s = %v, want %v", method, w.name, got, w.vals)
			}
			if f.Compressed(i) != (method == zip.Deflate) {
				t.Errorf("method %d: Compressed(%d) = %v", method, i, f.Compressed(i))
			}
		}
		if m := f.Metadata(); len(m) != 1 || m["npz.ignored_members"] != `"README.txt"` {
			t.Errorf("metadata %v", m)
		}
		_, err = f.Open(len(want))
		checkErr(t, err, "no tensor number 6 (the archive has 6)")
	}
	// An empty archive (numpy.savez with no arrays) has no tensors.
	f, err := parseBytes(zipBytes(t))
	if err != nil || len(f.Entries()) != 0 || f.Metadata() == nil {
		t.Errorf("empty archive: %v", err)
	}
}

func be32(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.BigEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func floats(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	tensor.ToFloat32(tensor.F32, b, out)
	return out
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

func TestMalformed(t *testing.T) {
	good := f4("3,", 1, 2, 3)
	short := f4("3,", 1, 2) // header needs 12 bytes, 8 follow
	obj := npyBytes("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", []byte("\x80\x04cos\nsystem\n"))
	big := f4("1000000,")[:len(f4(""))] // header of a 4 MB array only
	crcOf := crc32.ChecksumIEEE
	raw := func(method uint16, compressed []byte, usize uint64, crc uint32, flags uint16) *zip.FileHeader {
		return &zip.FileHeader{Method: method, CompressedSize64: uint64(len(compressed)), UncompressedSize64: usize, CRC32: crc, Flags: flags}
	}
	// A deflate stream of 4 MB of zeros after the header of a 1,000,000
	// element array, declared as such: legitimate, about 1000x.
	zeros := append(bytes.Clone(big), make([]byte, 4_000_000)...)
	noise := bytes.Clone(big) // a header and 100 KB of incompressible data
	for i := range 100_000 {
		noise = append(noise, byte(crc32.ChecksumIEEE([]byte{byte(i), byte(i >> 8), byte(i >> 16)})))
	}
	for _, tc := range []struct {
		name    string
		members []zmember
		bytes   []byte // instead of members
		want    string // at Parse
		read    string // at reading tensor 0, when Parse succeeds
	}{
		{name: "not a zip", bytes: []byte("PK\x03\x04 definitely not a zip"), want: testPath + ": not a valid zip archive: zip: not a valid zip file"},
		{name: "lfs pointer", bytes: []byte("version https://git-lfs.github.com/spec/v1\n"), want: "Git LFS pointer"},
		{name: "not npy", members: []zmember{{name: "x.npy", data: []byte("hello world")}}, want: `testPath: tensor "x": not an .npy file (no \x93NUMPY magic)`},
		{name: "object array", members: []zmember{{name: "x.npy", data: obj, method: zip.Deflate}}, want: `tensor "x": object arrays are refused (they need unpickling)`},
		{name: "npy header truncated", members: []zmember{{name: "x.npy", data: good[:20], method: zip.Deflate}}, want: `tensor "x": header length 118 runs past the end of the stream`},
		{name: "data shorter than header says", members: []zmember{{name: "x.npy", data: short}}, want: `tensor "x": member "x.npy" holds 136 bytes, but its .npy header describes 140 (128 of header, then F32 [3])`},
		{name: "data longer than header says", members: []zmember{{name: "x.npy", data: append(bytes.Clone(good), 0), method: zip.Deflate}}, want: "holds 141 bytes, but its .npy header describes 140"},
		{name: "empty name", members: []zmember{{name: ".npy", data: good}}, want: `member ".npy": empty tensor name`},
		{name: "duplicate member", members: []zmember{{name: "x.npy", data: good}, {name: "x.npy", data: good}}, want: `member "x.npy" appears twice`},
		{name: "duplicate tensor name", members: []zmember{{name: "x.npy", data: good}, {name: "x", data: good}}, want: `members "x.npy" and "x" both give tensor name "x"`},
		{name: "no arrays", members: []zmember{{name: "archive/data.pkl", data: []byte("\x80\x02}q\x00.")}, {name: "archive/version", data: []byte("3\n")}}, want: `no .npy arrays in this zip archive (found "archive/data.pkl", "archive/version"): not an .npz file`},
		{name: "encrypted", members: []zmember{{name: "x.npy", raw: good, hdr: raw(zip.Store, good, uint64(len(good)), crcOf(good), 1)}}, want: `member "x.npy": encrypted members are not supported`},
		{name: "bzip2", members: []zmember{{name: "x.npy", raw: good, hdr: raw(12, good, uint64(len(good)), crcOf(good), 0)}}, want: `member "x.npy": compression method 12 is not supported (stored and deflated are)`},
		{name: "stored sizes differ", members: []zmember{{name: "x.npy", raw: good, hdr: raw(zip.Store, good, 1<<20, crcOf(good), 0)}}, want: "stored, but its compressed size 140 differs from its uncompressed size 1048576"},
		{name: "zip bomb size", members: []zmember{{name: "x.npy", raw: deflate(good), hdr: raw(zip.Deflate, deflate(good), 1<<40, crcOf(good), 0)}}, want: "declares 1099511627776 bytes inflated from"},
		{name: "size beyond int64", members: []zmember{{name: "x.npy", raw: deflate(good), hdr: raw(zip.Deflate, deflate(good), math.MaxUint64, crcOf(good), 0)}}, want: "uncompressed size 18446744073709551615 is too large"},
		{name: "legit zeros", members: []zmember{{name: "z.npy", data: zeros, method: zip.Deflate}}},
		// The zip and the .npy header agree on 4 MB, but the stream holds
		// only the header: caught while reading, never trusted.
		{name: "forged but consistent sizes", members: []zmember{{name: "x.npy", raw: deflate(noise), hdr: raw(zip.Deflate, deflate(noise), uint64(len(big))+4_000_000, crcOf(noise), 0)}}, read: `tensor "x": member "x.npy": read: unexpected EOF`},
		{name: "bad crc stored", members: []zmember{{name: "x.npy", raw: good, hdr: raw(zip.Store, good, uint64(len(good)), crcOf(good)^1, 0)}}, read: `dir/a.npz: tensor "x": member "x.npy": corrupt: zip: checksum error`},
		{name: "bad crc deflated", members: []zmember{{name: "x.npy", raw: deflate(good), hdr: raw(zip.Deflate, deflate(good), uint64(len(good)), crcOf(good)^1, 0)}}, read: `zip: checksum error`},
		{name: "corrupt deflate", members: []zmember{{name: "x.npy", raw: append(deflate(good[:130]), 0xff, 0xff, 0xff), hdr: raw(zip.Deflate, append(deflate(good[:130]), 0xff, 0xff, 0xff), uint64(len(good)), crcOf(good), 0)}}, read: `tensor "x": member "x.npy"`},
		{name: "overlapping members", bytes: overlapping(t, good), want: `members "a.npy" and "b.npy" overlap in the archive`},
		{name: "truncated archive", bytes: zipBytes(t, zmember{name: "x.npy", data: good})[:100], want: "not a valid zip archive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.bytes
			if data == nil {
				data = zipBytes(t, tc.members...)
			}
			f, err := parseBytes(data)
			if tc.want != "" {
				checkErr(t, err, strings.ReplaceAll(tc.want, "testPath", testPath))
				if err != nil && !strings.HasPrefix(err.Error(), "vsdb: "+testPath+": ") {
					t.Errorf("error %q does not start with the path", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := readAll(t, f, 0)
			if tc.read == "" {
				if err != nil || int64(len(got)) != f.Entries()[0].Size {
					t.Errorf("read %d bytes, %v", len(got), err)
				}
				return
			}
			checkErr(t, err, tc.read)
			if err != nil && !strings.HasPrefix(err.Error(), "vsdb: "+testPath+": ") {
				t.Errorf("error %q does not start with the path", err)
			}
		})
	}
}

// overlapping builds an archive whose two central directory entries point
// at the same local header and data.
func overlapping(t *testing.T, data []byte) []byte {
	one := zipBytes(t, zmember{name: "a.npy", data: data})
	zr, err := zip.NewReader(bytes.NewReader(one), int64(len(one)))
	if err != nil {
		t.Fatal(err)
	}
	off, _ := zr.File[0].DataOffset()
	local := one[:off+int64(len(data))]
	le := binary.LittleEndian
	cd := func(name string) []byte {
		b := le.AppendUint32(nil, 0x02014b50)
		b = le.AppendUint16(b, 20)
		b = le.AppendUint16(b, 20)
		b = le.AppendUint16(b, 0) // flags
		b = le.AppendUint16(b, 0) // stored
		b = le.AppendUint32(b, 0) // time, date
		b = le.AppendUint32(b, crc32.ChecksumIEEE(data))
		b = le.AppendUint32(b, uint32(len(data)))
		b = le.AppendUint32(b, uint32(len(data)))
		b = le.AppendUint16(b, uint16(len(name)))
		b = le.AppendUint16(b, 0)
		b = le.AppendUint16(b, 0)
		b = le.AppendUint16(b, 0)
		b = le.AppendUint16(b, 0)
		b = le.AppendUint32(b, 0)
		b = le.AppendUint32(b, 0) // local header at 0
		return append(b, name...)
	}
	dir := append(cd("a.npy"), cd("b.npy")...)
	out := append(bytes.Clone(local), dir...)
	end := le.AppendUint32(nil, 0x06054b50)
	end = le.AppendUint16(end, 0)
	end = le.AppendUint16(end, 0)
	end = le.AppendUint16(end, 2)
	end = le.AppendUint16(end, 2)
	end = le.AppendUint32(end, uint32(len(dir)))
	end = le.AppendUint32(end, uint32(len(local)))
	end = le.AppendUint16(end, 0)
	return append(out, end...)
}

func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.npz")
	n := 300_000
	vals := make([]float32, n)
	for i := range vals {
		vals[i] = float32(i % 1000)
	}
	data := npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (300000,), }", le32(vals...))
	if err := os.WriteFile(path, zipBytes(t, zmember{name: "x.npy", data: data, method: zip.Deflate}), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Path() != path {
		t.Errorf("path %q", f.Path())
	}
	if got := floats(mustRead(t, f, 0)); !equal(got, vals) {
		t.Error("values differ")
	}
	// Two readers at once.
	r1, _ := f.Open(0)
	r2, _ := f.Open(0)
	b1, err1 := io.ReadAll(r1)
	b2, err2 := io.ReadAll(r2)
	if err1 != nil || err2 != nil || !bytes.Equal(b1, b2) || len(b1) != 4*n {
		t.Errorf("concurrent readers: %v %v", err1, err2)
	}
	r, _ := f.Open(0)
	f.Close()
	_, err = io.ReadAll(r)
	checkErr(t, err, path+`: tensor "x"`)
	_, err = f.Open(0)
	checkErr(t, err, `tensor "x": file is closed`)
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	_, err = Open(filepath.Join(dir, "nope.npz"))
	checkErr(t, err, "cannot open")
	_, err = Open(dir)
	checkErr(t, err, "is a directory, not an .npz archive")
}

// FuzzNPZ: no input panics; errors are one line starting with the path;
// an accepted archive streams exactly each entry's size or fails with
// such an error.
func FuzzNPZ(f *testing.F) {
	good := f4("2, 2", 1, 2, 3, 4)
	fortran := npyBytes("{'descr': '>f8', 'fortran_order': True, 'shape': (2, 1, 2), }", make([]byte, 32))
	for _, method := range []uint16{zip.Store, zip.Deflate} {
		f.Add(zipBytes(f, zmember{name: "a.npy", data: good, method: method}, zmember{name: "b/c.npy", data: fortran, method: method}))
	}
	f.Add(zipBytes(f, zmember{name: "x", data: good, method: zip.Deflate}, zmember{name: "y.txt", data: []byte("hi")}))
	if p, err := filepath.Glob("testdata/*.npz"); err == nil {
		for _, path := range p {
			if b, err := os.ReadFile(path); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var (
			z   *File
			err error
		)
		// A small input may not cost more than a bounded multiple of its size.
		allocbound.Check(t, "parse", len(data), 1<<20+64*uint64(len(data)), func() { z, err = parseBytes(data) })
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "vsdb: "+testPath+": ") || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("bad error message %q", msg)
			}
			return
		}
		for i, e := range z.Entries() {
			if e.Size > 1<<22 {
				continue
			}
			got, err := readAll(t, z, i)
			if err != nil {
				if msg := err.Error(); !strings.HasPrefix(msg, "vsdb: "+testPath+": ") || strings.ContainsAny(msg, "\r\n") {
					t.Fatalf("bad read error message %q", msg)
				}
				continue
			}
			if int64(len(got)) != e.Size {
				t.Fatalf("tensor %d: read %d bytes, want %d", i, len(got), e.Size)
			}
		}
	})
}
