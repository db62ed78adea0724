// Package gguf reads GGUF files (versions 2 and 3), the format of
// llama.cpp and ggml (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md).
//
// A file is: the magic "GGUF", a uint32 version, uint64 tensor and
// metadata counts, the metadata key/value pairs, one info record per tensor
// (name, dimensions, ggml type, offset), padding to the alignment
// (general.alignment, default 32), then the data section. Everything is
// little-endian; big-endian GGUF files are refused.
//
// Open parses and validates the header, reading it sequentially and
// checking every count and length against the bytes left in the file
// before allocating anything, and never loads tensor data: File.Open(i)
// streams one tensor.
//
// Shapes: GGUF lists dimensions fastest first (ne[0] is the row length);
// entries carry them reversed, in row-major order, so a tensor written by
// gguf.GGUFWriter from a numpy array of shape (4, 8) reads back as [4, 8].
//
// Types: F32, F16, BF16, F64, I8, I16, I32 and I64 tensors are streamed as
// stored. Q8_0 and Q4_0 tensors are dequantised to F32 while streaming
// (exactly as gguf.quants.dequantize and ggml do: d * q in float32). Other
// ggml types (K-quants, IQ*, Q4_1, Q5_*, ...) are refused, naming the
// tensor and the type.
//
// Metadata: scalar values are kept as strings under their keys
// ("general.architecture" -> "llama"; numbers in decimal, booleans as
// true/false); arrays of at most MaxArrayKept scalars are rendered as JSON
// arrays, longer or nested ones are summarised ("array of 32000 strings").
//
// Validation follows ggml's gguf.cpp: version 2 or 3, no duplicate keys
// or tensor names, general.alignment a power of two of type uint32, 1 to
// MaxDims dimensions, rows of quantised tensors a whole number of blocks,
// tensor offsets aligned; in addition every tensor must lie inside the file
// and no two tensors may overlap. Tensors may be listed in any order;
// Entries lists them in storage (offset) order.
package gguf

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/vsdb/vsdb/format/internal/ckpt"
	"github.com/vsdb/vsdb/tensor"
)

// Entry is format.Entry.
type Entry = ckpt.Entry

// Limits.
const (
	// MaxDims is ggml's GGML_MAX_DIMS.
	MaxDims = 4
	// MaxNameLen bounds tensor names and metadata keys, in bytes (ggml
	// itself allows 63-byte tensor names).
	MaxNameLen = 65535
	// MaxStringKept is the longest metadata string kept; longer ones
	// are summarised ("string of N bytes").
	MaxStringKept = 1 << 20
	// MaxArrayKept is the longest metadata array rendered in full.
	MaxArrayKept = 64
	// MaxNesting bounds arrays of arrays.
	MaxNesting = 8
	// MaxMetadata bounds the kept metadata (keys and values), in bytes.
	MaxMetadata = 64 << 20
	// DefaultAlignment applies when general.alignment is absent.
	DefaultAlignment = 32
)

const magic = "GGUF"

// Sniff reports whether a file beginning with head is a GGUF file.
func Sniff(head []byte) bool { return len(head) >= 4 && string(head[:4]) == magic }

// File is an opened, validated GGUF file. It implements format.Source.
// Its methods are safe for concurrent use, and readers from Open may be
// used concurrently with each other.
type File struct {
	path      string
	ra        io.ReaderAt
	closer    io.Closer
	size      int64
	version   uint32
	alignment int64
	dataOff   int64
	tensors   []tinfo // storage order
	entries   []Entry
	meta      map[string]string
	closed    atomic.Bool
}

// tinfo is one tensor as stored.
type tinfo struct {
	name   string
	typ    ggmlType
	dims   []uint64 // as stored: fastest first
	off    int64    // absolute file offset
	nbytes int64    // bytes in the file
}

// Open opens and validates the GGUF file at path. The caller must Close
// it.
func Open(path string) (*File, error) {
	return ckpt.OpenRegular(path, "a GGUF file", func(f *os.File, size int64) (*File, error) {
		g, err := Parse(f, size, path)
		if err != nil {
			return nil, err
		}
		g.closer = f
		return g, nil
	})
}

// Parse validates a GGUF file held by r (size bytes long); path names it
// in errors. Close on the result does not close r.
func Parse(r io.ReaderAt, size int64, path string) (*File, error) {
	head, err := ckpt.Head(r, size)
	if err != nil {
		return nil, ckpt.Wrap(err, path, "read")
	}
	if ckpt.IsLFSPointer(head) {
		return nil, ckpt.LFSError(path)
	}
	if !Sniff(head) {
		return nil, ckpt.Errorf(path, "not a GGUF file (no GGUF magic)")
	}
	p := &parser{
		path: path,
		br:   bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 64<<10),
		size: size,
		meta: map[string]string{},
	}
	g := &File{path: path, ra: r, size: size, meta: p.meta}
	if err := p.parse(g); err != nil {
		return nil, err
	}
	return g, nil
}

// Path returns the path the file was opened with.
func (f *File) Path() string { return f.path }

// Entries returns the tensors in storage (offset) order. The result is a
// copy.
func (f *File) Entries() []Entry {
	out := slices.Clone(f.entries)
	for i := range out {
		out[i].Shape = slices.Clone(out[i].Shape)
	}
	return out
}

// Metadata returns a copy of the metadata (empty, never nil).
func (f *File) Metadata() map[string]string { return maps.Clone(f.meta) }

// Version is the GGUF version (2 or 3).
func (f *File) Version() uint32 { return f.version }

// Alignment is the data alignment in bytes.
func (f *File) Alignment() int64 { return f.alignment }

// Type returns the ggml type tensor i is stored in ("F16", "Q8_0", ...);
// Q8_0 and Q4_0 tensors read as F32.
func (f *File) Type(i int) string { return f.tensors[i].typ.String() }

// Offset returns the absolute file offset of tensor i's stored bytes.
func (f *File) Offset(i int) int64 { return f.tensors[i].off }

// Open streams tensor i: exactly Entries()[i].Size bytes, little-endian,
// row-major; quantised tensors are dequantised to F32. Closing the reader
// does not close the file.
func (f *File) Open(i int) (io.ReadCloser, error) {
	if i < 0 || i >= len(f.tensors) {
		return nil, ckpt.Errorf(f.path, "no tensor number %d (the file has %d)", i, len(f.tensors))
	}
	t := f.tensors[i]
	if f.closed.Load() {
		return nil, ckpt.Errorf(f.path, "tensor %q: file is closed", t.name)
	}
	src := ckpt.NewTensorReader(f.ra, t.off, t.nbytes, f.path, t.name)
	switch t.typ {
	case typeQ8_0, typeQ4_0:
		return newDequantizer(src, t.typ, t.nbytes), nil
	}
	return src, nil
}

// Close closes the file. Readers already returned by Open fail afterwards.
func (f *File) Close() error {
	if f.closed.Swap(true) || f.closer == nil {
		return nil
	}
	if err := f.closer.Close(); err != nil {
		return ckpt.OSError(err, f.path, "close")
	}
	return nil
}

// parser reads the header sequentially, tracking the position so that
// every length is checked against the bytes left.
type parser struct {
	path string
	br   *bufio.Reader
	pos  int64
	size int64
	what string // what is being read, for truncation errors
	meta map[string]string
	kept int64 // bytes of metadata kept
}

func (p *parser) left() int64 { return p.size - p.pos }

func (p *parser) errorf(format string, args ...any) error {
	return ckpt.Errorf(p.path, format, args...)
}

// read fills b or fails with an error naming what was being read.
func (p *parser) read(b []byte) error {
	n, err := io.ReadFull(p.br, b)
	p.pos += int64(n)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return ckpt.Wrap(io.ErrUnexpectedEOF, p.path, "%s: file ends at byte %d (truncated?)", p.what, p.size)
		}
		return ckpt.Wrap(err, p.path, "%s: read", p.what)
	}
	return nil
}

func (p *parser) skip(n int64) error {
	if n > p.left() {
		return ckpt.Wrap(io.ErrUnexpectedEOF, p.path, "%s: file ends at byte %d (truncated?)", p.what, p.size)
	}
	for n > 0 {
		k, err := p.br.Discard(int(min(n, 1<<30)))
		p.pos += int64(k)
		n -= int64(k)
		if err != nil {
			return ckpt.Wrap(err, p.path, "%s: read", p.what)
		}
	}
	return nil
}

func (p *parser) u32() (uint32, error) {
	var b [4]byte
	err := p.read(b[:])
	return binary.LittleEndian.Uint32(b[:]), err
}

func (p *parser) u64() (uint64, error) {
	var b [8]byte
	err := p.read(b[:])
	return binary.LittleEndian.Uint64(b[:]), err
}

// strLen reads a string length and checks it against the file.
func (p *parser) strLen() (int64, error) {
	n, err := p.u64()
	if err != nil {
		return 0, err
	}
	if n > uint64(p.left()) {
		return 0, p.errorf("%s: string length %d runs past the end of the file (%d bytes left; truncated?)", p.what, n, p.left())
	}
	return int64(n), nil
}

// name reads a key or tensor name: at most MaxNameLen bytes of UTF-8.
func (p *parser) name() (string, error) {
	n, err := p.strLen()
	if err != nil {
		return "", err
	}
	if n > MaxNameLen {
		return "", p.errorf("%s: name of %d bytes (at most %d)", p.what, n, MaxNameLen)
	}
	b := make([]byte, n)
	if err := p.read(b); err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return "", p.errorf("%s: name %q is not valid UTF-8", p.what, b)
	}
	return string(b), nil
}

func (p *parser) parse(g *File) error {
	p.what = "header"
	var m [4]byte
	if err := p.read(m[:]); err != nil {
		return err
	}
	version, err := p.u32()
	if err != nil {
		return err
	}
	switch {
	case version == 2 || version == 3:
	case version != 0 && version&0xffff == 0:
		return p.errorf("GGUF version field %#x: a big-endian GGUF file, which is not supported", version)
	case version == 1:
		return p.errorf("GGUF version 1 is not supported (it is obsolete; versions 2 and 3 are)")
	default:
		return p.errorf("unsupported GGUF version %d (versions 2 and 3 are)", version)
	}
	g.version = version
	nt, err := p.u64()
	if err != nil {
		return err
	}
	nkv, err := p.u64()
	if err != nil {
		return err
	}
	// Each key/value pair takes at least 13 bytes (key length, type, a
	// one-byte value), each tensor info at least 32 (name length, n_dims,
	// one dimension, type, offset).
	if nkv > uint64(p.left())/13 {
		return p.errorf("header declares %d metadata pairs, more than the %d bytes left can hold (corrupt or truncated)", nkv, p.left())
	}
	if nt > uint64(p.left())/32 {
		return p.errorf("header declares %d tensors, more than the %d bytes left can hold (corrupt or truncated)", nt, p.left())
	}

	alignment := int64(DefaultAlignment)
	for i := uint64(0); i < nkv; i++ {
		p.what = fmt.Sprintf("metadata pair %d", i)
		key, err := p.name()
		if err != nil {
			return err
		}
		if _, dup := p.meta[key]; dup {
			return p.errorf("metadata key %q given twice", key)
		}
		p.what = fmt.Sprintf("metadata key %q", key)
		typ, err := p.u32()
		if err != nil {
			return err
		}
		if key == "general.alignment" {
			if valueType(typ) != typeUint32 {
				return p.errorf("general.alignment has type %s, want uint32", valueType(typ))
			}
			a, err := p.u32()
			if err != nil {
				return err
			}
			if a == 0 || a&(a-1) != 0 {
				return p.errorf("general.alignment %d is not a power of two", a)
			}
			alignment = int64(a)
			if err := p.keep(key, strconv.FormatUint(uint64(a), 10)); err != nil {
				return err
			}
			continue
		}
		v, err := p.value(valueType(typ), 0)
		if err != nil {
			return err
		}
		if err := p.keep(key, v); err != nil {
			return err
		}
	}
	g.alignment = alignment

	tensors := make([]tinfo, 0, nt)
	names := make(map[string]bool, nt)
	for i := uint64(0); i < nt; i++ {
		p.what = fmt.Sprintf("tensor info %d", i)
		t, err := p.tensorInfo()
		if err != nil {
			return err
		}
		if names[t.name] {
			return p.errorf("tensor %q listed twice", t.name)
		}
		names[t.name] = true
		tensors = append(tensors, t)
	}

	// The data section starts at the next multiple of the alignment.
	g.dataOff = (p.pos + alignment - 1) / alignment * alignment
	dataLen := max(0, p.size-g.dataOff)
	for i := range tensors {
		t := &tensors[i]
		rel := t.off
		if rel%alignment != 0 {
			return p.errorf("tensor %q: offset %d is not a multiple of the alignment %d", t.name, rel, alignment)
		}
		if rel > dataLen || t.nbytes > dataLen-rel {
			return p.errorf("tensor %q: %d bytes at offset %d of the data section run past the end of the file (the data section holds %d bytes; truncated?)", t.name, t.nbytes, rel, dataLen)
		}
		t.off += g.dataOff
	}
	slices.SortStableFunc(tensors, func(a, b tinfo) int { return cmp.Compare(a.off, b.off) })
	var end int64
	var last string
	for _, t := range tensors {
		if t.nbytes == 0 {
			continue
		}
		if t.off < end {
			return p.errorf("tensor %q (from byte %d) overlaps tensor %q (up to byte %d)", t.name, t.off, last, end)
		}
		end, last = t.off+t.nbytes, t.name
	}
	g.tensors = tensors
	g.entries = make([]Entry, len(tensors))
	for i, t := range tensors {
		g.entries[i] = t.entry()
	}
	return nil
}

// tensorInfo reads and checks one tensor info record (the offset stays
// relative to the data section).
func (p *parser) tensorInfo() (tinfo, error) {
	var t tinfo
	name, err := p.name()
	if err != nil {
		return t, err
	}
	if name == "" {
		return t, p.errorf("%s: empty tensor name", p.what)
	}
	t.name = name
	p.what = fmt.Sprintf("tensor %q", name)
	nd, err := p.u32()
	if err != nil {
		return t, err
	}
	if nd == 0 || nd > MaxDims {
		return t, p.errorf("tensor %q: %d dimensions (1 to %d are allowed)", name, nd, MaxDims)
	}
	t.dims = make([]uint64, nd)
	shape := make(tensor.Shape, nd)
	for j := range t.dims {
		d, err := p.u64()
		if err != nil {
			return t, err
		}
		if d > math.MaxInt64 {
			return t, p.errorf("tensor %q: dimension %d is %d, too large", name, j, d)
		}
		t.dims[j] = d
		shape[int(nd)-1-j] = int64(d)
	}
	n, err := shape.Elements()
	if err != nil {
		return t, ckpt.Wrap(err, p.path, "tensor %q: shape %s (ggml ne %v)", name, shape, t.dims)
	}
	typ, err := p.u32()
	if err != nil {
		return t, err
	}
	t.typ = ggmlType(typ)
	info, ok := t.typ.info()
	if !ok {
		return t, p.errorf("tensor %q: unknown ggml type %d", name, typ)
	}
	if info.dtype == tensor.Invalid {
		return t, p.errorf("tensor %q: ggml type %s is not supported (supported: %s)", name, t.typ, supportedTypes())
	}
	if t.dims[0]%uint64(info.block) != 0 {
		return t, p.errorf("tensor %q: rows of %d elements are not a whole number of %s blocks (%d elements each)", name, t.dims[0], t.typ, info.block)
	}
	t.nbytes = n / info.block * info.blockBytes // n <= 2^48: no overflow
	off, err := p.u64()
	if err != nil {
		return t, err
	}
	if off > math.MaxInt64 {
		return t, p.errorf("tensor %q: offset %d is too large", name, off)
	}
	t.off = int64(off)
	return t, nil
}

func (t tinfo) entry() Entry {
	info, _ := t.typ.info()
	shape := make(tensor.Shape, len(t.dims))
	for j, d := range t.dims {
		shape[len(t.dims)-1-j] = int64(d)
	}
	size, _ := shape.Bytes(info.dtype) // checked: at most 2^48 elements
	return Entry{Name: t.name, DType: info.dtype, Shape: shape, Size: size}
}

// keep stores a metadata value, within the MaxMetadata budget.
func (p *parser) keep(key, v string) error {
	p.kept += int64(len(key) + len(v))
	if p.kept > MaxMetadata {
		return p.errorf("metadata key %q: more than %d bytes of metadata", key, MaxMetadata)
	}
	p.meta[key] = v
	return nil
}

// value reads a metadata value of type typ and renders it.
func (p *parser) value(typ valueType, depth int) (string, error) {
	switch typ {
	case typeString:
		n, err := p.strLen()
		if err != nil {
			return "", err
		}
		if n > MaxStringKept {
			return fmt.Sprintf("string of %d bytes", n), p.skip(n)
		}
		b := make([]byte, n)
		if err := p.read(b); err != nil {
			return "", err
		}
		return strings.ToValidUTF8(string(b), "\uFFFD"), nil
	case typeArray:
		return p.array(depth + 1)
	}
	size := typ.size()
	if size == 0 {
		return "", p.errorf("%s: unknown value type %d", p.what, uint32(typ))
	}
	var b [8]byte
	if err := p.read(b[:size]); err != nil {
		return "", err
	}
	return typ.format(b[:size]), nil
}

// array reads an array (its element type and count, then the elements)
// and renders it in full when it is short and flat, else summarises it.
func (p *parser) array(depth int) (string, error) {
	if depth > MaxNesting {
		return "", p.errorf("%s: arrays nested more than %d deep", p.what, MaxNesting)
	}
	et, err := p.u32()
	if err != nil {
		return "", err
	}
	typ := valueType(et)
	n, err := p.u64()
	if err != nil {
		return "", err
	}
	least := typ.size()
	switch typ {
	case typeString:
		least = 8
	case typeArray:
		least = 12
	}
	if least == 0 {
		return "", p.errorf("%s: array of unknown value type %d", p.what, et)
	}
	if n > uint64(p.left())/uint64(least) {
		return "", p.errorf("%s: array of %d %s elements runs past the end of the file (%d bytes left; truncated?)", p.what, n, typ, p.left())
	}
	summary := fmt.Sprintf("array of %d %s", n, typ.plural(n))
	switch {
	case typ == typeArray:
		for i := uint64(0); i < n; i++ {
			if _, err := p.array(depth + 1); err != nil {
				return "", err
			}
		}
		return summary, nil
	case typ != typeString && n > MaxArrayKept:
		return summary, p.skip(int64(n) * int64(least))
	}
	var vals []string
	short := n <= MaxArrayKept
	for i := uint64(0); i < n; i++ {
		if typ != typeString {
			v, err := p.value(typ, depth)
			if err != nil {
				return "", err
			}
			vals = append(vals, v)
			continue
		}
		l, err := p.strLen()
		if err != nil {
			return "", err
		}
		if !short || l > 256 {
			short = false
			if err := p.skip(l); err != nil {
				return "", err
			}
			continue
		}
		b := make([]byte, l)
		if err := p.read(b); err != nil {
			return "", err
		}
		vals = append(vals, strconv.Quote(strings.ToValidUTF8(string(b), "\uFFFD")))
	}
	if !short {
		return summary, nil
	}
	return "[" + strings.Join(vals, ", ") + "]", nil
}

// valueType is a GGUF metadata value type.
type valueType uint32

const (
	typeUint8 valueType = iota
	typeInt8
	typeUint16
	typeInt16
	typeUint32
	typeInt32
	typeFloat32
	typeBool
	typeString
	typeArray
	typeUint64
	typeInt64
	typeFloat64
)

var valueTypeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64", "float64"}

func (t valueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("type %d", uint32(t))
}

func (t valueType) plural(n uint64) string {
	s := ""
	if n != 1 {
		s = "s"
	}
	switch t {
	case typeString, typeArray:
		return t.String() + s
	}
	return t.String() + " value" + s
}

// size is the byte size of a fixed-size type (0 for strings, arrays and
// unknown types).
func (t valueType) size() int {
	switch t {
	case typeUint8, typeInt8, typeBool:
		return 1
	case typeUint16, typeInt16:
		return 2
	case typeUint32, typeInt32, typeFloat32:
		return 4
	case typeUint64, typeInt64, typeFloat64:
		return 8
	}
	return 0
}

// format renders a fixed-size value.
func (t valueType) format(b []byte) string {
	le := binary.LittleEndian
	switch t {
	case typeUint8:
		return strconv.FormatUint(uint64(b[0]), 10)
	case typeInt8:
		return strconv.FormatInt(int64(int8(b[0])), 10)
	case typeBool:
		return strconv.FormatBool(b[0] != 0)
	case typeUint16:
		return strconv.FormatUint(uint64(le.Uint16(b)), 10)
	case typeInt16:
		return strconv.FormatInt(int64(int16(le.Uint16(b))), 10)
	case typeUint32:
		return strconv.FormatUint(uint64(le.Uint32(b)), 10)
	case typeInt32:
		return strconv.FormatInt(int64(int32(le.Uint32(b))), 10)
	case typeFloat32:
		return strconv.FormatFloat(float64(math.Float32frombits(le.Uint32(b))), 'g', -1, 32)
	case typeUint64:
		return strconv.FormatUint(le.Uint64(b), 10)
	case typeInt64:
		return strconv.FormatInt(int64(le.Uint64(b)), 10)
	case typeFloat64:
		return strconv.FormatFloat(math.Float64frombits(le.Uint64(b)), 'g', -1, 64)
	}
	return ""
}
