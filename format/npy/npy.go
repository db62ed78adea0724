// Package npy reads NumPy .npy files (format versions 1.0, 2.0 and 3.0)
// holding one numeric array, without ever evaluating the header: the
// header's Python dict literal is parsed by a small hand-written parser
// that knows only strings, True/False and tuples of integers.
//
// Object arrays ('|O') and structured dtypes are refused (they need
// unpickling, which vsdb never does), as are strings, complex numbers,
// datetimes and float128. Big-endian data is converted to little-endian and
// Fortran-order data to row-major (C) order while streaming.
//
// ParseHeader and Stream serve .npy data that is not a plain file (the
// members of an .npz archive, package format/npz): the first parses a
// header from a stream, the second converts data read from a source that
// can be reopened from its start.
package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
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

const (
	magic = "\x93NUMPY"
	// MaxHeaderSize bounds the header dict, in bytes (a numeric array's
	// header is well under 1 KB; numpy's own reader stops at 10000).
	MaxHeaderSize = 65535
	// MaxRank is numpy's limit on dimensions.
	MaxRank = 64
)

// errObject marks dtypes that would need unpickling.
var errObject = errors.New("object arrays are refused (they need unpickling)")

// fortranBudget bounds the memory used to reorder a Fortran-order array;
// larger arrays are reordered in several sequential passes over the file.
var fortranBudget int64 = 64 << 20

// File is an opened, validated .npy file: one tensor. It implements
// format.Source.
type File struct {
	path   string
	ra     io.ReaderAt
	closer io.Closer
	h      Header
	closed atomic.Bool
}

// Open opens and validates the .npy file at path. The tensor is named
// after the file: its base name without the extension.
func Open(path string) (*File, error) {
	return ckpt.OpenRegular(path, "an .npy file", func(f *os.File, size int64) (*File, error) {
		nf, err := Parse(f, size, path)
		if err != nil {
			return nil, err
		}
		nf.closer = f
		return nf, nil
	})
}

// Parse validates an .npy file held by r (size bytes). path names the
// tensor and the file in errors. Close on the result does not close r.
func Parse(r io.ReaderAt, size int64, path string) (*File, error) {
	head, err := ckpt.Head(r, size)
	if err != nil {
		return nil, ckpt.Wrap(err, path, "read")
	}
	if ckpt.IsLFSPointer(head) {
		return nil, ckpt.LFSError(path)
	}
	name := tensorName(path)
	h, err := readHeader(io.NewSectionReader(r, 0, size), size, hctx{path: path, unit: "file"}, name)
	if err != nil {
		return nil, err
	}
	switch have := size - h.DataOffset; {
	case have < h.Size:
		return nil, ckpt.Errorf(path, "tensor %q: %d bytes of data, but %s %s needs %d (truncated?)", name, have, h.DType, h.Shape, h.Size)
	case have > h.Size:
		return nil, ckpt.Errorf(path, "tensor %q: %d trailing bytes after the %d bytes %s %s needs", name, have-h.Size, h.Size, h.DType, h.Shape)
	}
	return &File{path: path, ra: r, h: *h}, nil
}

// Header is what an .npy header declares: the tensor (Entry.Size is the
// byte length of its data), where the data begins and how it is laid out.
type Header struct {
	Entry
	DataOffset int64 // bytes before the data: magic, version, length, dict
	Fortran    bool  // Fortran order, where it differs from C order
	BigEndian  bool  // multi-byte elements stored big-endian
}

// ParseHeader reads and validates the header at the start of an .npy
// stream declared to be size bytes long, consuming exactly the header's
// DataOffset bytes of r (which fit in size). It does not check that size
// matches the data: the caller compares size-DataOffset with Size, and
// counts what it reads. The entry is named name; errors read
// "vsdb: PATH: tensor NAME: ...". Nothing is ever evaluated or unpickled.
func ParseHeader(r io.Reader, size int64, path, name string) (*Header, error) {
	return readHeader(r, size, hctx{path: path, tag: fmt.Sprintf("tensor %q: ", name), unit: "stream"}, name)
}

// hctx words header errors: tag prefixes every message, unit names what
// holds the header ("file", "stream").
type hctx struct{ path, tag, unit string }

func (c hctx) errorf(format string, args ...any) error {
	return ckpt.Errorf(c.path, "%s%s", c.tag, fmt.Sprintf(format, args...))
}

func (c hctx) wrap(err error, format string, args ...any) error {
	return ckpt.Wrap(err, c.path, "%s%s", c.tag, fmt.Sprintf(format, args...))
}

func readHeader(r io.Reader, size int64, c hctx, name string) (*Header, error) {
	if size < 0 {
		return nil, c.errorf("negative size %d", size)
	}
	head := make([]byte, min(size, 12))
	if _, err := io.ReadFull(r, head[:min(size, 10)]); err != nil {
		return nil, c.wrap(err, "read")
	}
	if !bytes.HasPrefix(head, []byte(magic)) {
		return nil, c.errorf("not an .npy file (no \\x93NUMPY magic)")
	}
	if len(head) < 10 {
		return nil, c.errorf("%s is %d bytes, too short for an .npy header", c.unit, size)
	}
	major, minor := head[6], head[7]
	var hlen, start int64
	switch {
	case major == 1 && minor == 0:
		hlen, start = int64(binary.LittleEndian.Uint16(head[8:])), 10
	case (major == 2 || major == 3) && minor == 0:
		if len(head) < 12 {
			return nil, c.errorf("%s is %d bytes, too short for an .npy %d.0 header", c.unit, size, major)
		}
		if _, err := io.ReadFull(r, head[10:12]); err != nil {
			return nil, c.wrap(err, "read")
		}
		hlen, start = int64(binary.LittleEndian.Uint32(head[8:])), 12
	default:
		return nil, c.errorf("unsupported .npy format version %d.%d (1.0, 2.0 and 3.0 are known)", major, minor)
	}
	if hlen > MaxHeaderSize {
		return nil, c.errorf("header length %d exceeds the %d-byte limit", hlen, MaxHeaderSize)
	}
	if hlen > size-start {
		return nil, c.errorf("header length %d runs past the end of the %s (%d bytes; truncated?)", hlen, c.unit, size)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, c.wrap(err, "read header")
	}
	if major == 3 && !utf8.Valid(hdr) {
		return nil, c.errorf("version 3.0 header is not valid UTF-8")
	}
	h, err := parseHeader(hdr)
	if errors.Is(err, errObject) {
		return nil, c.errorf("%v (structured dtype)", errObject)
	}
	if err != nil {
		return nil, c.wrap(err, "header")
	}
	dt, big, err := parseDescr(h.descr)
	if errors.Is(err, errObject) {
		return nil, c.errorf("%v (descr %q)", errObject, h.descr)
	}
	if err != nil {
		return nil, c.wrap(err, "descr %q", h.descr)
	}
	want, err := h.shape.Bytes(dt)
	if err != nil {
		return nil, ckpt.Wrap(err, c.path, "tensor %q: shape %s", name, h.shape)
	}
	return &Header{
		Entry:      Entry{Name: name, DType: dt, Shape: h.shape, Size: want},
		DataOffset: start + hlen,
		Fortran:    h.fortran && needsTranspose(h.shape),
		BigEndian:  big && dt.Size() > 1,
	}, nil
}

// tensorName is the base name without its extension ("x.npy" -> "x").
func tensorName(path string) string {
	base := filepath.Base(path)
	if name := strings.TrimSuffix(base, filepath.Ext(base)); name != "" {
		return name
	}
	return base
}

// Path returns the path the file was opened with.
func (f *File) Path() string { return f.path }

// Entries returns the single tensor.
func (f *File) Entries() []Entry {
	e := f.h.Entry
	e.Shape = slices.Clone(e.Shape)
	return []Entry{e}
}

// Metadata is empty: .npy files carry none.
func (f *File) Metadata() map[string]string { return map[string]string{} }

// Open streams the tensor (i must be 0) little-endian and row-major,
// converting byte order and Fortran order on the fly.
func (f *File) Open(i int) (io.ReadCloser, error) {
	if i != 0 {
		return nil, ckpt.Errorf(f.path, "no tensor number %d (an .npy file has one)", i)
	}
	e := f.h.Entry
	if f.closed.Load() {
		return nil, ckpt.Errorf(f.path, "tensor %q: file is closed", e.Name)
	}
	src := func() *ckpt.TensorReader { return ckpt.NewTensorReader(f.ra, f.h.DataOffset, e.Size, f.path, e.Name) }
	if !f.h.Fortran && !f.h.BigEndian {
		return src(), nil
	}
	return Stream(&f.h, func() (io.ReadCloser, error) { return src(), nil }), nil
}

// Stream returns a reader of the tensor h describes, little-endian and
// row-major. open must return a reader of the data as stored, from its
// first byte, that gives exactly h.Size bytes or an error naming the file
// and tensor. Stream calls open when the result is first read: once, or,
// for a Fortran-order array larger than the reordering budget, once per
// pass over the data, closing each reader before opening the next. Closing
// the result closes the reader in use.
func Stream(h *Header, open func() (io.ReadCloser, error)) io.ReadCloser {
	es := int64(h.DType.Size())
	if h.Fortran {
		t := &fortran{e: h.Entry, big: h.BigEndian, open: open, es: es}
		return &convReader{fill: t.fill, close: t.close}
	}
	s := &swapper{open: open, es: es, left: h.Size, swap: h.BigEndian}
	return &convReader{fill: s.fill, close: s.close}
}

// Close closes the file.
func (f *File) Close() error {
	if f.closed.Swap(true) || f.closer == nil {
		return nil
	}
	if err := f.closer.Close(); err != nil {
		return ckpt.OSError(err, f.path, "close")
	}
	return nil
}

// needsTranspose reports whether Fortran and C order differ for shape:
// they coincide when at most one dimension is larger than 1.
func needsTranspose(s tensor.Shape) bool {
	big := 0
	for _, d := range s {
		if d == 0 {
			return false
		}
		if d > 1 {
			big++
		}
	}
	return big > 1
}

// convReader serves bytes produced chunk by chunk by fill.
type convReader struct {
	buf   []byte
	fill  func() ([]byte, error) // io.EOF when done
	close func() error
	err   error
}

func (c *convReader) Read(p []byte) (int, error) {
	for len(c.buf) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		c.buf, c.err = c.fill()
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

func (c *convReader) Close() error { return c.close() }

const chunk = 1 << 20

// swapper streams C-order data, byte-swapping big-endian elements.
type swapper struct {
	open func() (io.ReadCloser, error)
	src  io.ReadCloser
	es   int64
	left int64
	swap bool
	buf  []byte
}

func (s *swapper) fill() ([]byte, error) {
	if s.left == 0 {
		return nil, io.EOF
	}
	if s.src == nil {
		src, err := s.open()
		if err != nil {
			return nil, err
		}
		s.src = src
	}
	if s.buf == nil {
		s.buf = make([]byte, min(s.left, chunk/s.es*s.es))
	}
	b := s.buf[:min(s.left, int64(len(s.buf)))]
	if _, err := io.ReadFull(s.src, b); err != nil {
		return nil, err
	}
	s.left -= int64(len(b))
	if s.swap {
		swap(b, s.es)
	}
	return b, nil
}

func (s *swapper) close() error {
	if s.src == nil {
		return nil
	}
	src := s.src
	s.src, s.left = nil, 0
	return src.Close()
}

func swap(b []byte, es int64) {
	switch es {
	case 2:
		for i := 0; i+1 < len(b); i += 2 {
			b[i], b[i+1] = b[i+1], b[i]
		}
	case 4:
		for i := 0; i+3 < len(b); i += 4 {
			binary.LittleEndian.PutUint32(b[i:], binary.BigEndian.Uint32(b[i:]))
		}
	case 8:
		for i := 0; i+7 < len(b); i += 8 {
			binary.LittleEndian.PutUint64(b[i:], binary.BigEndian.Uint64(b[i:]))
		}
	}
}

// fortran produces C-order output in windows of at most fortranBudget
// bytes; each window is filled by one sequential pass over the
// Fortran-order data, which visits elements with the first index fastest
// while an odometer tracks each element's C-order position.
type fortran struct {
	e    Entry
	big  bool
	open func() (io.ReadCloser, error)
	src  io.ReadCloser // the pass in progress
	es   int64
	next int64 // first element of the next window
	out  []byte
	blk  []byte
}

func (t *fortran) fill() ([]byte, error) {
	e := t.e
	n := e.Size / t.es
	if t.next >= n {
		return nil, io.EOF
	}
	win := max(1, fortranBudget/t.es)
	lo, hi := t.next, min(n, t.next+win)
	if t.out == nil {
		t.out = make([]byte, (min(n, win))*t.es)
		t.blk = make([]byte, min(e.Size, chunk/t.es*t.es))
	}
	out := t.out[:(hi-lo)*t.es]

	rank := len(e.Shape)
	cstride := make([]int64, rank)
	for k, s := rank-1, int64(1); k >= 0; k-- {
		cstride[k] = s
		s *= e.Shape[k]
	}
	idx := make([]int64, rank)
	var q int64 // C-order index of the current (Fortran-order) element
	src, err := t.open()
	if err != nil {
		return nil, err
	}
	t.src = src
	for left := e.Size; left > 0; {
		b := t.blk[:min(left, int64(len(t.blk)))]
		if _, err := io.ReadFull(src, b); err != nil {
			return nil, err
		}
		left -= int64(len(b))
		for off := int64(0); off < int64(len(b)); off += t.es {
			if q >= lo && q < hi {
				copy(out[(q-lo)*t.es:(q-lo+1)*t.es], b[off:off+t.es])
			}
			for k := 0; k < rank; k++ { // advance the odometer
				idx[k]++
				q += cstride[k]
				if idx[k] < e.Shape[k] || k == rank-1 {
					break
				}
				q -= idx[k] * cstride[k]
				idx[k] = 0
			}
		}
	}
	if err := t.close(); err != nil {
		return nil, err
	}
	if t.big {
		swap(out, t.es)
	}
	t.next = hi
	return out, nil
}

func (t *fortran) close() error {
	if t.src == nil {
		return nil
	}
	src := t.src
	t.src = nil
	return src.Close()
}

// header is the parsed dict.
type header struct {
	descr   string
	fortran bool
	shape   tensor.Shape
}

// parseHeader parses the dict literal, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }
// followed by padding. It never evaluates anything.
func parseHeader(b []byte) (header, error) {
	p := &dictParser{s: b}
	var h header
	p.ws()
	if !p.eat('{') {
		return h, p.errorf("expected a dict literal starting with '{'")
	}
	seen := map[string]bool{}
	for {
		p.ws()
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return h, err
		}
		if seen[key] {
			return h, p.errorf("key %q given twice", key)
		}
		seen[key] = true
		p.ws()
		if !p.eat(':') {
			return h, p.errorf("expected ':' after key %q", key)
		}
		p.ws()
		switch key {
		case "descr":
			if p.peek() == '[' {
				return h, errObject
			}
			if h.descr, err = p.str(); err != nil {
				return h, err
			}
		case "fortran_order":
			if h.fortran, err = p.boolean(); err != nil {
				return h, err
			}
		case "shape":
			if h.shape, err = p.tuple(); err != nil {
				return h, err
			}
		default:
			return h, p.errorf("unexpected key %q (a header has exactly descr, fortran_order and shape)", key)
		}
		p.ws()
		if p.eat(',') {
			continue
		}
		p.ws()
		if !p.eat('}') {
			return h, p.errorf("expected ',' or '}'")
		}
		break
	}
	p.ws()
	if p.i != len(p.s) {
		return h, p.errorf("unexpected text after the dict")
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return h, fmt.Errorf("missing key %q", k)
		}
	}
	return h, nil
}

type dictParser struct {
	s []byte
	i int
}

func (p *dictParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at byte %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *dictParser) ws() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *dictParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *dictParser) eat(c byte) bool {
	if p.peek() == c && p.i < len(p.s) {
		p.i++
		return true
	}
	return false
}

// str parses a quoted string without escapes.
func (p *dictParser) str() (string, error) {
	q := p.peek()
	if q != '\'' && q != '"' {
		return "", p.errorf("expected a quoted string")
	}
	start := p.i + 1
	for j := start; j < len(p.s); j++ {
		switch p.s[j] {
		case q:
			p.i = j + 1
			return string(p.s[start:j]), nil
		case '\\', '\n', '\r':
			return "", p.errorf("string escapes and line breaks are not supported")
		}
	}
	return "", p.errorf("unterminated string")
}

func (p *dictParser) boolean() (bool, error) {
	for _, w := range []struct {
		text string
		v    bool
	}{{"True", true}, {"False", false}} {
		if bytes.HasPrefix(p.s[p.i:], []byte(w.text)) {
			p.i += len(w.text)
			return w.v, nil
		}
	}
	return false, p.errorf("fortran_order must be True or False")
}

// tuple parses (), (n,) or (n, m, ...) of non-negative integers (a
// trailing L, from Python 2 files, is allowed).
func (p *dictParser) tuple() (tensor.Shape, error) {
	if !p.eat('(') {
		return nil, p.errorf("shape must be a tuple")
	}
	shape := tensor.Shape{}
	commas := 0
	for {
		p.ws()
		if p.eat(')') {
			break
		}
		if len(shape) > commas {
			return nil, p.errorf("expected ',' or ')' in shape")
		}
		j := p.i
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		if j == p.i {
			return nil, p.errorf("shape must hold non-negative integers")
		}
		d, err := strconv.ParseInt(string(p.s[p.i:j]), 10, 64)
		if err != nil {
			return nil, p.errorf("dimension %s is too large", p.s[p.i:min(j, p.i+40)])
		}
		p.i = j
		if p.peek() == 'L' || p.peek() == 'l' {
			p.i++
		}
		shape = append(shape, d)
		if len(shape) > MaxRank {
			return nil, p.errorf("shape has more than %d dimensions", MaxRank)
		}
		p.ws()
		if p.eat(',') {
			commas++
		}
	}
	if len(shape) == 1 && commas == 0 {
		return nil, p.errorf("shape (n) is not a tuple; a one-dimensional shape is written (n,)")
	}
	if len(shape) == 0 && commas > 0 {
		return nil, p.errorf("shape (,) is not a tuple")
	}
	return shape, nil
}

// parseDescr maps a numpy type string ('<f4', '>i8', '|b1', ...) to a dtype
// and reports whether it is big-endian.
func parseDescr(d string) (tensor.DType, bool, error) {
	if d == "" {
		return tensor.Invalid, false, errors.New("empty dtype")
	}
	order, rest := d[0], d[1:]
	if !strings.ContainsRune("<>|=", rune(order)) {
		order, rest = 0, d
	}
	if rest == "" {
		return tensor.Invalid, false, errors.New("not a numpy type string")
	}
	kind, size := rest[0], rest[1:]
	switch kind {
	case 'O':
		return tensor.Invalid, false, errObject
	case 'S', 'U', 'a', 'V':
		return tensor.Invalid, false, errors.New("string and void arrays are refused (not numeric tensors)")
	case 'c':
		return tensor.Invalid, false, errors.New("complex arrays are not supported")
	case 'M', 'm':
		return tensor.Invalid, false, errors.New("datetime arrays are not supported")
	}
	types := map[string]tensor.DType{
		"f2": tensor.F16, "f4": tensor.F32, "f8": tensor.F64,
		"i1": tensor.I8, "i2": tensor.I16, "i4": tensor.I32, "i8": tensor.I64,
		"u1": tensor.U8, "u2": tensor.U16, "u4": tensor.U32, "u8": tensor.U64,
		"b1": tensor.Bool,
	}
	dt, ok := types[string(kind)+size]
	if !ok {
		return tensor.Invalid, false, fmt.Errorf("unsupported dtype (known: %s)", strings.Join(slices.Sorted(maps.Keys(types)), ", "))
	}
	switch {
	case dt.Size() == 1:
		return dt, false, nil
	case order == '<':
		return dt, false, nil
	case order == '>':
		return dt, true, nil
	case order == '|':
		return tensor.Invalid, false, errors.New("'|' (no byte order) is invalid for a multi-byte type")
	default:
		return tensor.Invalid, false, errors.New("byte order must be given as '<' or '>' for a multi-byte type")
	}
}
