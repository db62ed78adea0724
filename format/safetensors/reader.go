// Package safetensors reads and writes the safetensors format
// (https://github.com/huggingface/safetensors) with every validation rule
// of the reference Rust implementation, and reads sharded checkpoints
// described by a *.safetensors.index.json file.
//
// A file is: an 8-byte little-endian header length N, N bytes of UTF-8
// JSON, then the tensors' bytes. The JSON maps each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the
// end of the header) and may hold "__metadata__", a string-to-string map.
//
// Reading never loads the tensors: Open parses and validates the header
// (reading at most N <= MaxHeaderSize bytes, after checking N against the
// file size), and File.Open(i) streams one tensor through an
// io.SectionReader.
package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/vsdb/vsdb/format/internal/ckpt"
	"github.com/vsdb/vsdb/tensor"
)

// MaxHeaderSize is the largest header accepted, in bytes: 100 MB, the
// reference implementation's limit. Write refuses to produce larger ones.
const MaxHeaderSize = 100_000_000

// Entry is format.Entry.
type Entry = ckpt.Entry

// File is an opened, validated safetensors file. It implements
// format.Source. Its methods are safe for concurrent use, and readers from
// Open may be used concurrently with each other.
type File struct {
	path    string
	ra      io.ReaderAt
	closer  io.Closer
	size    int64
	dataOff int64 // 8 + N: where tensor bytes begin
	entries []Entry
	offsets []int64 // absolute file offset of each entry
	meta    map[string]string
	closed  atomic.Bool
}

// Open opens and validates the safetensors file at path. The caller must
// Close it.
func Open(path string) (*File, error) {
	return ckpt.OpenRegular(path, "a safetensors file", func(f *os.File, size int64) (*File, error) {
		return parseFile(f, size, path)
	})
}

// openFile validates an already opened file, which the result then owns;
// it does not close f on error.
func openFile(f *os.File, path string) (*File, error) {
	size, err := ckpt.StatRegular(f, path, "a safetensors file")
	if err != nil {
		return nil, err
	}
	return parseFile(f, size, path)
}

func parseFile(f *os.File, size int64, path string) (*File, error) {
	st, err := Parse(f, size, path)
	if err != nil {
		return nil, err
	}
	st.closer = f
	return st, nil
}

// Parse validates a safetensors file held by r (size bytes long); path
// only names it in errors. Close on the result does not close r.
func Parse(r io.ReaderAt, size int64, path string) (*File, error) {
	head, err := ckpt.Head(r, size)
	if err != nil {
		return nil, ckpt.Wrap(err, path, "read")
	}
	if ckpt.IsLFSPointer(head) {
		return nil, ckpt.LFSError(path)
	}
	if size < 8 {
		return nil, ckpt.Errorf(path, "file is %d bytes, too short for a safetensors header length (8 bytes)", size)
	}
	n := binary.LittleEndian.Uint64(head[:8])
	if n > MaxHeaderSize {
		return nil, ckpt.Errorf(path, "header length %d exceeds the %d-byte limit (corrupt, or not a safetensors file)", n, MaxHeaderSize)
	}
	if n > uint64(size-8) {
		return nil, ckpt.Errorf(path, "header length %d runs past the end of the file (%d bytes; truncated?)", n, size)
	}
	header := make([]byte, n)
	if _, err := r.ReadAt(header, 8); err != nil && !(errors.Is(err, io.EOF) && n == 0) {
		return nil, ckpt.Wrap(err, path, "read header")
	}
	dataOff := int64(8 + n)
	entries, begins, meta, err := parseHeader(header, size-dataOff, path)
	if err != nil {
		return nil, err
	}
	for i := range begins {
		begins[i] += dataOff
	}
	return &File{path: path, ra: r, size: size, dataOff: dataOff, entries: entries, offsets: begins, meta: meta}, nil
}

// Path returns the path the file was opened with.
func (f *File) Path() string { return f.path }

// Entries returns the tensors in storage (offset) order. The result is a
// copy.
func (f *File) Entries() []Entry { return cloneEntries(f.entries) }

// Metadata returns a copy of "__metadata__" (empty, never nil, when absent).
func (f *File) Metadata() map[string]string { return maps.Clone(f.meta) }

// Offset returns the absolute file offset of tensor i's first byte.
func (f *File) Offset(i int) int64 { return f.offsets[i] }

// Open streams tensor i: exactly Entries()[i].Size bytes, little-endian,
// row-major, as stored. Closing the reader does not close the file.
func (f *File) Open(i int) (io.ReadCloser, error) {
	if i < 0 || i >= len(f.entries) {
		return nil, ckpt.Errorf(f.path, "no tensor number %d (the file has %d)", i, len(f.entries))
	}
	if f.closed.Load() {
		return nil, ckpt.Errorf(f.path, "tensor %q: file is closed", f.entries[i].Name)
	}
	e := f.entries[i]
	return ckpt.NewTensorReader(f.ra, f.offsets[i], e.Size, f.path, e.Name), nil
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

func cloneEntries(es []Entry) []Entry {
	out := slices.Clone(es)
	for i := range out {
		out[i].Shape = slices.Clone(out[i].Shape)
	}
	return out
}

// rawEntry is one tensor as declared in the header.
type rawEntry struct {
	Entry
	begin, end int64
}

// parseHeader parses and validates the JSON header; dataLen is the number
// of bytes after it. It returns the entries in offset order with their
// begin offsets relative to the data section.
func parseHeader(header []byte, dataLen int64, path string) ([]Entry, []int64, map[string]string, error) {
	if !utf8.Valid(header) {
		return nil, nil, nil, ckpt.Errorf(path, "header is not valid UTF-8 (not a safetensors file?)")
	}
	// JSON whitespace may precede the object, as in the reference.
	if trimmed := bytes.TrimLeft(header, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, nil, nil, ckpt.Errorf(path, "header is not a JSON object (does not start with '{'; not a safetensors file?)")
	}
	p := &headerParser{dec: json.NewDecoder(bytes.NewReader(header)), path: path}
	p.dec.UseNumber()
	raws, meta, err := p.parse()
	if err != nil {
		return nil, nil, nil, err
	}
	// The reference accepts any JSON whitespace after the object (writers
	// pad with spaces to align the data); anything else is an error.
	if rest := header[p.dec.InputOffset():]; len(bytes.TrimLeft(rest, " \t\r\n")) != 0 {
		return nil, nil, nil, ckpt.Errorf(path, "header has data after its JSON object (at byte %d of the header)", p.dec.InputOffset())
	}

	for i := range raws {
		e := &raws[i]
		want, err := e.Shape.Bytes(e.DType)
		if err != nil {
			return nil, nil, nil, ckpt.Wrap(err, path, "tensor %q: shape %s", e.Name, e.Shape)
		}
		if e.begin > e.end {
			return nil, nil, nil, ckpt.Errorf(path, "tensor %q: data_offsets [%d, %d] begin after they end", e.Name, e.begin, e.end)
		}
		if e.end-e.begin != want {
			return nil, nil, nil, ckpt.Errorf(path, "tensor %q: data_offsets [%d, %d] hold %d bytes but %s %s needs %d",
				e.Name, e.begin, e.end, e.end-e.begin, e.DType, e.Shape, want)
		}
		e.Size = want
	}
	// Listing order in the JSON is free; storage order is by offset. The
	// stable sort keeps the listing order of empty tensors at one offset.
	slices.SortStableFunc(raws, func(a, b rawEntry) int {
		return cmp.Or(cmp.Compare(a.begin, b.begin), cmp.Compare(a.end, b.end))
	})
	var at int64
	for i, e := range raws {
		switch {
		case e.begin > at:
			return nil, nil, nil, ckpt.Errorf(path, "tensor %q: data_offsets [%d, %d] leave bytes [%d, %d) unused before it (gap)", e.Name, e.begin, e.end, at, e.begin)
		case e.begin < at:
			return nil, nil, nil, ckpt.Errorf(path, "tensor %q: data_offsets [%d, %d] overlap tensor %q, which ends at %d", e.Name, e.begin, e.end, raws[i-1].Name, at)
		}
		at = e.end
	}
	switch {
	case at < dataLen:
		return nil, nil, nil, ckpt.Errorf(path, "%d trailing bytes after the last tensor (tensors end at %d, data section is %d bytes)", dataLen-at, at, dataLen)
	case at > dataLen:
		return nil, nil, nil, ckpt.Errorf(path, "tensors need %d bytes of data but the file has %d after the header (truncated?)", at, dataLen)
	}
	entries := make([]Entry, len(raws))
	begins := make([]int64, len(raws))
	for i, e := range raws {
		entries[i], begins[i] = e.Entry, e.begin
	}
	return entries, begins, meta, nil
}

type headerParser struct {
	dec  *json.Decoder
	path string
}

func (p *headerParser) token(what string) (json.Token, error) {
	tok, err := p.dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, ckpt.Errorf(p.path, "header JSON ends early (reading %s)", what)
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, ckpt.Errorf(p.path, "header is not valid JSON: %v (at byte %d, reading %s)", se, se.Offset, what)
		}
		return nil, ckpt.Wrap(err, p.path, "header is not valid JSON (reading %s)", what)
	}
	return tok, nil
}

func (p *headerParser) delim(want json.Delim, what string) error {
	tok, err := p.token(what)
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return ckpt.Errorf(p.path, "header: %s: expected %q, found %s", what, want, describe(tok))
	}
	return nil
}

func (p *headerParser) parse() ([]rawEntry, map[string]string, error) {
	if err := p.delim('{', "the top-level object"); err != nil {
		return nil, nil, err
	}
	var raws []rawEntry
	meta := map[string]string{}
	seen := map[string]bool{}
	for p.dec.More() {
		tok, err := p.token("a tensor name")
		if err != nil {
			return nil, nil, err
		}
		name, ok := tok.(string)
		if !ok {
			return nil, nil, ckpt.Errorf(p.path, "header: expected a tensor name, found %s", describe(tok))
		}
		if seen[name] {
			if name == "__metadata__" {
				return nil, nil, ckpt.Errorf(p.path, "header lists __metadata__ twice")
			}
			return nil, nil, ckpt.Errorf(p.path, "header lists tensor %q twice (duplicate name)", name)
		}
		seen[name] = true
		if name == "__metadata__" {
			if meta, err = p.metadata(); err != nil {
				return nil, nil, err
			}
			continue
		}
		e, err := p.entry(name)
		if err != nil {
			return nil, nil, err
		}
		raws = append(raws, e)
	}
	if err := p.delim('}', "the end of the top-level object"); err != nil {
		return nil, nil, err
	}
	return raws, meta, nil
}

// metadata parses "__metadata__": null or an object of string values.
func (p *headerParser) metadata() (map[string]string, error) {
	meta := map[string]string{}
	tok, err := p.token("__metadata__")
	if err != nil {
		return nil, err
	}
	if tok == nil { // null: the reference's Option::None
		return meta, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, ckpt.Errorf(p.path, "__metadata__ must be an object of string values, found %s", describe(tok))
	}
	for p.dec.More() {
		tok, err := p.token("a __metadata__ key")
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, ckpt.Errorf(p.path, "__metadata__: expected a key, found %s", describe(tok))
		}
		if tok, err = p.token("a __metadata__ value"); err != nil {
			return nil, err
		}
		val, ok := tok.(string)
		if !ok {
			return nil, ckpt.Errorf(p.path, "__metadata__[%q] must be a string, found %s", key, describe(tok))
		}
		if _, dup := meta[key]; dup {
			return nil, ckpt.Errorf(p.path, "__metadata__ lists key %q twice", key)
		}
		meta[key] = val
	}
	return meta, p.delim('}', "the end of __metadata__")
}

// entry parses {"dtype": ..., "shape": [...], "data_offsets": [b, e]}.
func (p *headerParser) entry(name string) (rawEntry, error) {
	e := rawEntry{Entry: Entry{Name: name}}
	tok, err := p.token("tensor " + name)
	if err != nil {
		return e, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return e, ckpt.Errorf(p.path, "tensor %q: expected an object with dtype, shape and data_offsets, found %s", name, describe(tok))
	}
	var haveDType, haveShape, haveOffsets bool
	for p.dec.More() {
		tok, err := p.token("a field of tensor " + name)
		if err != nil {
			return e, err
		}
		key, _ := tok.(string)
		switch key {
		case "dtype":
			if haveDType {
				return e, ckpt.Errorf(p.path, "tensor %q: dtype given twice", name)
			}
			haveDType = true
			tok, err := p.token("the dtype of " + name)
			if err != nil {
				return e, err
			}
			s, ok := tok.(string)
			if !ok {
				return e, ckpt.Errorf(p.path, "tensor %q: dtype must be a string, found %s", name, describe(tok))
			}
			if e.DType, err = tensor.ParseDType(s); err != nil {
				return e, ckpt.Wrap(err, p.path, "tensor %q", name)
			}
		case "shape":
			if haveShape {
				return e, ckpt.Errorf(p.path, "tensor %q: shape given twice", name)
			}
			haveShape = true
			dims, err := p.ints(name, "shape")
			if err != nil {
				return e, err
			}
			e.Shape = tensor.Shape(dims)
			if e.Shape == nil {
				e.Shape = tensor.Shape{}
			}
		case "data_offsets":
			if haveOffsets {
				return e, ckpt.Errorf(p.path, "tensor %q: data_offsets given twice", name)
			}
			haveOffsets = true
			offs, err := p.ints(name, "data_offsets")
			if err != nil {
				return e, err
			}
			if len(offs) != 2 {
				return e, ckpt.Errorf(p.path, "tensor %q: data_offsets must be [begin, end], found %d numbers", name, len(offs))
			}
			e.begin, e.end = offs[0], offs[1]
		default:
			if _, ok := tok.(string); !ok {
				return e, ckpt.Errorf(p.path, "tensor %q: expected a field name, found %s", name, describe(tok))
			}
			return e, ckpt.Errorf(p.path, "tensor %q: unexpected field %q (an entry has exactly dtype, shape and data_offsets)", name, key)
		}
	}
	if err := p.delim('}', "the end of tensor "+name); err != nil {
		return e, err
	}
	var missing []string
	for _, m := range []struct {
		have bool
		name string
	}{{haveDType, "dtype"}, {haveShape, "shape"}, {haveOffsets, "data_offsets"}} {
		if !m.have {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return e, ckpt.Errorf(p.path, "tensor %q: missing %s", name, strings.Join(missing, ", "))
	}
	return e, nil
}

// ints parses a JSON array of non-negative integers that fit in int64.
// Numbers arrive as json.Number text, so huge or fractional values are
// refused rather than rounded.
func (p *headerParser) ints(name, field string) ([]int64, error) {
	tok, err := p.token(field + " of " + name)
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, ckpt.Errorf(p.path, "tensor %q: %s must be an array of integers, found %s", name, field, describe(tok))
	}
	var out []int64
	for p.dec.More() {
		tok, err := p.token(field + " of " + name)
		if err != nil {
			return nil, err
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, ckpt.Errorf(p.path, "tensor %q: %s must hold integers, found %s", name, field, describe(tok))
		}
		v, err := parseUint(string(num))
		if err != nil {
			return nil, ckpt.Errorf(p.path, "tensor %q: %s: %s", name, field, err)
		}
		out = append(out, v)
	}
	return out, p.delim(']', "the end of "+field+" of "+name)
}

// parseUint accepts only the digits of a non-negative int64.
func parseUint(s string) (int64, error) {
	if strings.HasPrefix(s, "-") {
		return 0, errors.New(trunc(s) + " is negative")
	}
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errors.New(trunc(s) + " is not a non-negative integer")
	}
	if len(s) > 19 {
		return 0, errors.New(trunc(s) + " is too large")
	}
	var v uint64
	for _, c := range []byte(s) {
		v = v*10 + uint64(c-'0')
	}
	if v > 1<<63-1 {
		return 0, errors.New(s + " is too large")
	}
	return int64(v), nil
}

func describe(tok json.Token) string {
	switch t := tok.(type) {
	case nil:
		return "null"
	case json.Delim:
		return "'" + t.String() + "'"
	case string:
		return "a string"
	case json.Number:
		return "the number " + trunc(string(t))
	case bool:
		return "a boolean"
	}
	return "something else"
}

// trunc shortens text from a file for an error message.
func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
