package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
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

const testPath = "dir/m.gguf"

var _ ckpt.Source = (*File)(nil)

// builder assembles GGUF files, valid or not.
type builder struct {
	magic   string // "GGUF" when empty
	version uint32 // 3 when 0
	nt, nkv int64  // -1: the number of records given
	kvs     [][]byte
	tis     [][]byte
	align   int64 // padding before the data section; 32 when 0
	data    []byte
}

func str(s string) []byte {
	return append(binary.LittleEndian.AppendUint64(nil, uint64(len(s))), s...)
}

func u32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// kv is a metadata record: key, type, value bytes.
func kv(key string, typ valueType, val []byte) []byte {
	return cat(str(key), u32(uint32(typ)), val)
}

// arr is an array value: element type, count, element bytes.
func arr(typ valueType, n uint64, elems []byte) []byte {
	return cat(u32(uint32(typ)), u64(n), elems)
}

// ti is a tensor info record.
func ti(name string, dims []uint64, typ ggmlType, off uint64) []byte {
	b := cat(str(name), u32(uint32(len(dims))))
	for _, d := range dims {
		b = append(b, u64(d)...)
	}
	return cat(b, u32(uint32(typ)), u64(off))
}

func (b builder) bytes() []byte {
	out := []byte(b.magic)
	if b.magic == "" {
		out = []byte(magic)
	}
	v := b.version
	if v == 0 {
		v = 3
	}
	nt, nkv := b.nt, b.nkv
	if nt < 0 {
		nt = int64(len(b.tis))
	}
	if nkv < 0 {
		nkv = int64(len(b.kvs))
	}
	out = cat(out, u32(v), u64(uint64(nt)), u64(uint64(nkv)))
	for _, r := range b.kvs {
		out = append(out, r...)
	}
	for _, r := range b.tis {
		out = append(out, r...)
	}
	align := b.align
	if align == 0 {
		align = 32
	}
	for int64(len(out))%align != 0 {
		out = append(out, 0)
	}
	return append(out, b.data...)
}

func le32(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// q8Block is a Q8_0 block of scale d (an fp16 bit pattern) and values q.
func q8Block(d uint16, q [32]int8) []byte {
	b := binary.LittleEndian.AppendUint16(nil, d)
	for _, v := range q {
		b = append(b, byte(v))
	}
	return b
}

func pad(b []byte, n int) []byte {
	for len(b)%n != 0 {
		b = append(b, 0)
	}
	return b
}

// valid returns a builder of a small valid file: an F32 tensor "w"
// (ne = [3, 2], so shape [2, 3]) and a Q8_0 tensor "q" of 32 elements.
func valid() builder {
	var q [32]int8
	for i := range q {
		q[i] = int8(i - 16)
	}
	w := le32(1, 2, 3, 4, 5, 6)
	return builder{
		nt: -1, nkv: -1,
		kvs: [][]byte{
			kv("general.architecture", typeString, str("llama")),
			kv("n", typeUint32, u32(7)),
		},
		tis: [][]byte{
			ti("w", []uint64{3, 2}, typeF32, 0),
			ti("q", []uint64{32}, typeQ8_0, 32),
		},
		data: cat(pad(w, 32), q8Block(0x3800, q)), // d = 0.5
	}
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
		t.Errorf("error %q: want one line starting with \"vsdb: PATH: \"", msg)
	}
	if !strings.Contains(msg, want) {
		t.Errorf("error %q does not contain %q", msg, want)
	}
}

func readAll(t testing.TB, f *File, i int) []byte {
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
	return b
}

func floats(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	tensor.ToFloat32(tensor.F32, b, out)
	return out
}

func TestValid(t *testing.T) {
	f, err := parseBytes(valid().bytes())
	if err != nil {
		t.Fatal(err)
	}
	es := f.Entries()
	if len(es) != 2 || es[0].Name != "w" || es[1].Name != "q" {
		t.Fatalf("entries %+v", es)
	}
	if e := es[0]; e.DType != tensor.F32 || !e.Shape.Equal(tensor.Shape{2, 3}) || e.Size != 24 {
		t.Errorf("w: %+v", e)
	}
	if e := es[1]; e.DType != tensor.F32 || !e.Shape.Equal(tensor.Shape{32}) || e.Size != 128 {
		t.Errorf("q: %+v", e)
	}
	if got := floats(readAll(t, f, 0)); !equal(got, []float32{1, 2, 3, 4, 5, 6}) {
		t.Errorf("w = %v", got)
	}
	got := floats(readAll(t, f, 1))
	for i, v := range got {
		if want := float32(i-16) * 0.5; v != want {
			t.Errorf("q[%d] = %v, want %v", i, v, want)
		}
	}
	if f.Type(1) != "Q8_0" || f.Version() != 3 || f.Alignment() != 32 || f.Offset(0)%32 != 0 {
		t.Errorf("type %s version %d alignment %d offset %d", f.Type(1), f.Version(), f.Alignment(), f.Offset(0))
	}
	m := f.Metadata()
	if len(m) != 2 || m["general.architecture"] != "llama" || m["n"] != "7" {
		t.Errorf("metadata %v", m)
	}
	_, err = f.Open(2)
	checkErr(t, err, "no tensor number 2 (the file has 2)")
	_, err = f.Open(-1)
	checkErr(t, err, "no tensor number -1")

	// Version 2 has the same layout.
	b := valid()
	b.version = 2
	if f, err := parseBytes(b.bytes()); err != nil || f.Version() != 2 {
		t.Errorf("version 2: %v", err)
	}
	// Entries come in storage order whatever the listing order.
	b = valid()
	b.tis[0], b.tis[1] = b.tis[1], b.tis[0]
	if f, err := parseBytes(b.bytes()); err != nil || f.Entries()[0].Name != "w" {
		t.Errorf("listing order: %v", err)
	}
	// Trailing padding after the last tensor is fine.
	b = valid()
	b.data = pad(b.data, 32)
	if _, err := parseBytes(b.bytes()); err != nil {
		t.Errorf("trailing padding: %v", err)
	}
	// No tensors at all, and no data section.
	b = builder{nt: -1, nkv: -1, align: 1, kvs: [][]byte{kv("a", typeBool, []byte{1})}}
	if f, err := parseBytes(b.bytes()); err != nil || len(f.Entries()) != 0 || f.Metadata()["a"] != "true" {
		t.Errorf("no tensors: %v", err)
	}
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

func TestQ4_0(t *testing.T) {
	// One block: d = 2.0, byte j holds element j (low nibble) and j+16.
	blk := binary.LittleEndian.AppendUint16(nil, 0x4000)
	for j := range 16 {
		blk = append(blk, byte(j)|byte(15-j)<<4)
	}
	b := builder{nt: -1, nkv: -1, tis: [][]byte{ti("x", []uint64{32}, typeQ4_0, 0)}, data: blk}
	f, err := parseBytes(b.bytes())
	if err != nil {
		t.Fatal(err)
	}
	got := floats(readAll(t, f, 0))
	for i, v := range got {
		want := float32(i-8) * 2
		if i >= 16 {
			want = float32(15-(i-16)-8) * 2
		}
		if v != want {
			t.Errorf("x[%d] = %v, want %v", i, v, want)
		}
	}
}

func TestMetadataValues(t *testing.T) {
	f32 := u32(math.Float32bits(0.1))
	f64 := u64(math.Float64bits(-2.5))
	var vocab []byte
	for range 100 {
		vocab = append(vocab, str("tok")...)
	}
	nested := arr(typeArray, 2, cat(arr(typeInt32, 1, u32(5)), arr(typeString, 1, str("x"))))
	b := builder{nt: -1, nkv: -1, kvs: [][]byte{
		kv("u8", typeUint8, []byte{200}),
		kv("i8", typeInt8, []byte{0xfb}),
		kv("u16", typeUint16, []byte{0xff, 0xff}),
		kv("i16", typeInt16, []byte{0xfe, 0xff}),
		kv("u32", typeUint32, u32(4000000000)),
		kv("i32", typeInt32, u32(0xffffffff)),
		kv("f32", typeFloat32, f32),
		kv("bool", typeBool, []byte{0}),
		kv("s", typeString, str("héllo\nworld")),
		kv("u64", typeUint64, u64(math.MaxUint64)),
		kv("i64", typeInt64, u64(1<<63)),
		kv("f64", typeFloat64, f64),
		kv("ints", typeArray, arr(typeInt16, 3, cat([]byte{1, 0}, []byte{0xff, 0xff}, []byte{3, 0}))),
		kv("strs", typeArray, arr(typeString, 2, cat(str("a"), str(`"b"`)))),
		kv("vocab", typeArray, arr(typeString, 100, vocab)),
		kv("big", typeArray, arr(typeFloat32, 65, make([]byte, 65*4))),
		kv("one", typeArray, arr(typeBool, 1, []byte{1})),
		kv("nested", typeArray, nested),
		kv("bad utf8", typeString, str("a\xffb")),
	}}
	f, err := parseBytes(b.bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"u8": "200", "i8": "-5", "u16": "65535", "i16": "-2", "u32": "4000000000", "i32": "-1",
		"f32": "0.1", "bool": "false", "s": "héllo\nworld", "u64": "18446744073709551615",
		"i64": "-9223372036854775808", "f64": "-2.5", "ints": "[1, -1, 3]", "strs": `["a", "\"b\""]`,
		"vocab": "array of 100 strings", "big": "array of 65 float32 values", "one": "[true]",
		"nested": "array of 2 arrays", "bad utf8": "a\uFFFDb",
	}
	got := f.Metadata()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d keys, want %d", len(got), len(want))
	}
	got["u8"] = "changed"
	if f.Metadata()["u8"] != "200" {
		t.Error("Metadata is not a copy")
	}
}

// Malformed files are refused with one-line errors naming the problem.
func TestMalformed(t *testing.T) {
	huge := uint64(1) << 40
	deep := arr(typeUint8, 0, nil)
	for range MaxNesting + 1 {
		deep = arr(typeArray, 1, deep)
	}
	for _, tc := range []struct {
		name string
		edit func(b *builder)
		raw  func([]byte) []byte // applied to the bytes after edit
		want string
	}{
		{"bad magic", func(b *builder) { b.magic = "GGUX" }, nil, testPath + ": not a GGUF file (no GGUF magic)"},
		{"version 1", func(b *builder) { b.version = 1 }, nil, "GGUF version 1 is not supported"},
		{"version 4", func(b *builder) { b.version = 4 }, nil, "unsupported GGUF version 4 (versions 2 and 3 are)"},
		{"version 7", func(b *builder) { b.version = 7 }, nil, "unsupported GGUF version 7"},
		{"big-endian", func(b *builder) { b.version = 3 << 24 }, nil, "big-endian GGUF file"},
		{"n_tensors huge", func(b *builder) { b.nt = 1 << 62 }, nil, "header declares 4611686018427387904 tensors, more than the"},
		{"n_kv huge", func(b *builder) { b.nkv = 1 << 61 }, nil, "header declares 2305843009213693952 metadata pairs"},
		{"key length beyond file", func(b *builder) { b.kvs[0] = cat(u64(huge), []byte("x")) }, nil, "metadata pair 0: string length 1099511627776 runs past the end of the file"},
		{"key too long", func(b *builder) { b.kvs[0] = kv(strings.Repeat("k", MaxNameLen+1), typeBool, []byte{1}) }, nil, "name of 65536 bytes"},
		{"string beyond file", func(b *builder) { b.kvs[0] = kv("s", typeString, u64(huge)) }, nil, `metadata key "s": string length 1099511627776 runs past the end`},
		{"array of 2^40 bytes", func(b *builder) { b.kvs[0] = kv("a", typeArray, arr(typeUint8, huge, nil)) }, nil, `metadata key "a": array of 1099511627776 uint8 elements runs past the end of the file`},
		{"array of 2^40 strings", func(b *builder) { b.kvs[0] = kv("a", typeArray, arr(typeString, huge, nil)) }, nil, "array of 1099511627776 string elements runs past"},
		{"array of 2^62 arrays", func(b *builder) { b.kvs[0] = kv("a", typeArray, arr(typeArray, 1<<62, nil)) }, nil, "array of 4611686018427387904 array elements runs past"},
		{"string in array beyond file", func(b *builder) { b.kvs[0] = kv("a", typeArray, arr(typeString, 1, u64(huge))) }, nil, "string length 1099511627776 runs past"},
		{"nested too deep", func(b *builder) { b.kvs[0] = kv("a", typeArray, deep) }, nil, "arrays nested more than 8 deep"},
		{"unknown value type", func(b *builder) { b.kvs[0] = kv("a", 13, u32(0)) }, nil, `metadata key "a": unknown value type 13`},
		{"array of unknown type", func(b *builder) { b.kvs[0] = kv("a", typeArray, arr(99, 1, nil)) }, nil, "array of unknown value type 99"},
		{"duplicate key", func(b *builder) { b.kvs[1] = kv("general.architecture", typeBool, []byte{1}) }, nil, `metadata key "general.architecture" given twice`},
		{"invalid UTF-8 key", func(b *builder) { b.kvs[0] = kv("a\xff", typeBool, []byte{1}) }, nil, `name "a\xff" is not valid UTF-8`},
		{"alignment 0", func(b *builder) { b.kvs[1] = kv("general.alignment", typeUint32, u32(0)) }, nil, "general.alignment 0 is not a power of two"},
		{"alignment 48", func(b *builder) { b.kvs[1] = kv("general.alignment", typeUint32, u32(48)) }, nil, "general.alignment 48 is not a power of two"},
		{"alignment string", func(b *builder) { b.kvs[1] = kv("general.alignment", typeString, str("32")) }, nil, "general.alignment has type string, want uint32"},
		{"n_dims 0", func(b *builder) { b.tis[0] = ti("w", nil, typeF32, 0) }, nil, `tensor "w": 0 dimensions (1 to 4 are allowed)`},
		{"n_dims 100", func(b *builder) { b.tis[0] = cat(str("w"), u32(100), make([]byte, 800)) }, nil, `tensor "w": 100 dimensions`},
		{"n_dims 5", func(b *builder) { b.tis[0] = ti("w", []uint64{3, 2, 1, 1, 1}, typeF32, 0) }, nil, `tensor "w": 5 dimensions`},
		{"dims overflow", func(b *builder) { b.tis[0] = ti("w", []uint64{1 << 32, 1 << 32, 1 << 32}, typeF32, 0) }, nil, `tensor "w": shape [4294967296, 4294967296, 4294967296] (ggml ne [4294967296 4294967296 4294967296]): invalid shape`},
		{"dims 2^48+", func(b *builder) { b.tis[0] = ti("w", []uint64{1 << 25, 1 << 24}, typeF32, 0) }, nil, "more than 2^48 elements"},
		{"dim beyond int64", func(b *builder) { b.tis[0] = ti("w", []uint64{1 << 63}, typeF32, 0) }, nil, `tensor "w": dimension 0 is 9223372036854775808, too large`},
		{"unsupported type", func(b *builder) { b.tis[1] = ti("q", []uint64{256}, 12, 32) }, nil, `tensor "q": ggml type Q4_K is not supported (supported: F32, F16, BF16, F64, I8, I16, I32, I64, Q8_0, Q4_0)`},
		{"unknown type", func(b *builder) { b.tis[1] = ti("q", []uint64{32}, 99, 32) }, nil, `tensor "q": unknown ggml type 99`},
		{"partial block", func(b *builder) { b.tis[1] = ti("q", []uint64{16, 2}, typeQ8_0, 32) }, nil, `tensor "q": rows of 16 elements are not a whole number of Q8_0 blocks (32 elements each)`},
		{"offset misaligned", func(b *builder) { b.tis[1] = ti("q", []uint64{32}, typeQ8_0, 36) }, nil, `tensor "q": offset 36 is not a multiple of the alignment 32`},
		{"offset past the end", func(b *builder) { b.tis[1] = ti("q", []uint64{32}, typeQ8_0, 1<<20) }, nil, `tensor "q": 34 bytes at offset 1048576 of the data section run past the end of the file`},
		{"offset huge", func(b *builder) { b.tis[1] = ti("q", []uint64{32}, typeQ8_0, 1<<63) }, nil, `tensor "q": offset 9223372036854775808 is too large`},
		{"offset near max", func(b *builder) { b.tis[1] = ti("q", []uint64{32}, typeQ8_0, math.MaxInt64-31) }, nil, "run past the end of the file"},
		{"overlap", func(b *builder) { b.tis[1] = ti("q", []uint64{8}, typeF32, 0) }, nil, `tensor "q" (from byte 160) overlaps tensor "w" (up to byte 184)`},
		{"duplicate tensor names", func(b *builder) { b.tis[1] = ti("w", []uint64{32}, typeQ8_0, 32) }, nil, `tensor "w" listed twice`},
		{"empty tensor name", func(b *builder) { b.tis[0] = ti("", []uint64{3, 2}, typeF32, 0) }, nil, "tensor info 0: empty tensor name"},
		{"truncated data", nil, func(b []byte) []byte { return b[:len(b)-1] }, `tensor "q": 34 bytes at offset 32 of the data section run past the end of the file (the data section holds 65 bytes; truncated?)`},
		{"truncated in tensor infos", nil, func(b []byte) []byte { return b[:100] }, "file ends at byte 100 (truncated?)"},
		{"lfs pointer", nil, func([]byte) []byte { return []byte("version https://git-lfs.github.com/spec/v1\noid sha256:x\n") }, "Git LFS pointer"},
		{"empty", nil, func([]byte) []byte { return nil }, "not a GGUF file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := valid()
			if tc.edit != nil {
				tc.edit(&b)
			}
			data := b.bytes()
			if tc.raw != nil {
				data = tc.raw(data)
			}
			_, err := parseBytes(data)
			checkErr(t, err, tc.want)
			if err != nil && !strings.HasPrefix(err.Error(), "vsdb: "+testPath+": ") {
				t.Errorf("error %q does not start with the path", err)
			}
		})
	}
}

// Every strict prefix of a valid file is refused cleanly.
func TestTruncations(t *testing.T) {
	full := valid().bytes()
	for n := range len(full) {
		if _, err := parseBytes(full[:n]); err == nil {
			t.Fatalf("prefix of %d bytes (of %d) accepted", n, len(full))
		} else if !strings.HasPrefix(err.Error(), "vsdb: "+testPath+": ") {
			t.Fatalf("prefix %d: %v", n, err)
		}
	}
}

func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.gguf")
	if err := os.WriteFile(path, valid().bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Path() != path {
		t.Errorf("path %q", f.Path())
	}
	r, err := f.Open(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, f.Offset(1)+10); err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(r)
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), path+`: tensor "q": 24 bytes missing`) {
		t.Errorf("truncated after open: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = f.Open(0)
	checkErr(t, err, `tensor "w": file is closed`)
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	_, err = Open(filepath.Join(dir, "nope.gguf"))
	checkErr(t, err, "cannot open")
	_, err = Open(dir)
	checkErr(t, err, "is a directory, not a GGUF file")
}

func TestSniff(t *testing.T) {
	if !Sniff([]byte("GGUF\x03\x00")) || Sniff([]byte("GGU")) || Sniff([]byte("PK\x03\x04")) {
		t.Error("Sniff")
	}
}

// Dequantising crosses chunk boundaries correctly.
func TestManyBlocks(t *testing.T) {
	n := blocksPerChunk*2 + 5
	var data []byte
	want := make([]float32, 0, n*32)
	tab := f16()
	for b := range n {
		d := uint16(0x3c00 + b%512) // 1.0 and up
		var q [32]int8
		for i := range q {
			q[i] = int8(b*7 + i*13)
			want = append(want, float32(q[i])*tab[d])
		}
		data = append(data, q8Block(d, q)...)
	}
	bl := builder{nt: -1, nkv: -1, tis: [][]byte{ti("x", []uint64{32, uint64(n), 1}, typeQ8_0, 0)}, data: data}
	f, err := parseBytes(bl.bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got := floats(readAll(t, f, 0)); !equal(got, want) {
		t.Error("values differ")
	}
}

// FuzzGGUF: no input panics; errors are one line starting with the path;
// an accepted file streams exactly each entry's size.
func FuzzGGUF(f *testing.F) {
	f.Add(valid().bytes())
	b := valid()
	b.kvs = append(b.kvs, kv("a", typeArray, arr(typeArray, 1, arr(typeString, 2, cat(str("x"), str("y"))))))
	f.Add(b.bytes())
	blk := binary.LittleEndian.AppendUint16(nil, 0x4000)
	blk = append(blk, make([]byte, 16)...)
	f.Add(builder{nt: -1, nkv: -1, tis: [][]byte{ti("x", []uint64{32, 1}, typeQ4_0, 0)}, data: blk}.bytes())
	if p, err := filepath.Glob("testdata/*.gguf"); err == nil {
		for _, path := range p {
			if b, err := os.ReadFile(path); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var (
			g   *File
			err error
		)
		// A small input may not cost more than a bounded multiple of its size.
		allocbound.Check(t, "parse", len(data), 1<<20+64*uint64(len(data)), func() { g, err = parseBytes(data) })
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "vsdb: "+testPath+": ") || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("bad error message %q", msg)
			}
			return
		}
		for i, e := range g.Entries() {
			if e.Size > 1<<20 {
				continue
			}
			if got := readAll(t, g, i); int64(len(got)) != e.Size {
				t.Fatalf("tensor %d: read %d bytes, want %d", i, len(got), e.Size)
			}
		}
	})
}
