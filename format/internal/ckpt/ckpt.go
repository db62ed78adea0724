// Package ckpt holds what package format and its reader packages share:
// the Entry and Source types (format re-exports them as aliases, which is
// what lets format/safetensors take []format.Entry while format.Open calls
// into format/safetensors without an import cycle), error helpers that keep
// every message on one line with the "vsdb: PATH: " prefix, content
// sniffing, and the bounded, error-naming tensor reader.
package ckpt

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vsdb/vsdb/tensor"
)

// Entry describes one tensor of a checkpoint.
type Entry struct {
	Name  string
	DType tensor.DType
	Shape tensor.Shape
	Size  int64 // bytes
}

// Source is an opened checkpoint. See package format for the contract.
type Source interface {
	Path() string
	Entries() []Entry
	Metadata() map[string]string
	Open(i int) (io.ReadCloser, error)
	Close() error
}

// P formats a path for an error message: as is when printable, quoted
// when it holds control characters or invalid UTF-8 (one line, always).
func P(path string) string {
	if !utf8.ValidString(path) || strings.IndexFunc(path, unicode.IsControl) >= 0 {
		return strconv.Quote(path)
	}
	return path
}

// Errorf returns an error reading "vsdb: PATH: <message>".
func Errorf(path, format string, args ...any) error {
	return &Error{msg: "vsdb: " + P(path) + ": " + oneLine(fmt.Sprintf(format, args...))}
}

// Wrap returns an error reading "vsdb: PATH: <message>: <err>", with a
// leading "vsdb: " of err dropped so that nested errors read naturally.
// errors.Is and errors.As see err.
func Wrap(err error, path, format string, args ...any) error {
	inner := strings.TrimPrefix(err.Error(), "vsdb: ")
	return &Error{msg: "vsdb: " + P(path) + ": " + oneLine(fmt.Sprintf(format, args...)+": "+inner), err: err}
}

// OSError turns an error from the os package about path into a vsdb error
// without repeating the path ("vsdb: PATH: cannot open: no such file ...").
func OSError(err error, path, what string) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return &Error{msg: "vsdb: " + P(path) + ": " + what + ": " + oneLine(pe.Err.Error()), err: err}
	}
	return Wrap(err, path, "%s", what)
}

// Error is the error type of this package tree.
type Error struct {
	msg string
	err error
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.err }

func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// Kind is what the first bytes of a file say it is.
type Kind int

// The kinds Sniff recognises.
const (
	Unknown     Kind = iota
	Empty            // zero bytes
	LFSPointer       // "version https://git-lfs..." text
	NPY              // \x93NUMPY
	GGUF             // GGUF magic
	Zip              // PK\x03\x04 or PK\x05\x06 (PyTorch >= 1.6, .npz)
	Pickle           // \x80 protocol byte (legacy torch.save, raw pickle)
	Safetensors      // 8-byte little-endian length, then '{'
)

// SniffLen is how many leading bytes Sniff wants.
const SniffLen = 64

// Sniff classifies a file from its first bytes (up to SniffLen) and size.
// Magic numbers win over the safetensors heuristic, which has none.
func Sniff(head []byte, size int64) Kind {
	switch {
	case size == 0:
		return Empty
	case IsLFSPointer(head):
		return LFSPointer
	case strings.HasPrefix(string(head), "\x93NUMPY"):
		return NPY
	case strings.HasPrefix(string(head), "GGUF"):
		return GGUF
	case strings.HasPrefix(string(head), "PK\x03\x04"), strings.HasPrefix(string(head), "PK\x05\x06"):
		return Zip
	}
	pickle := len(head) >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5
	if len(head) >= 9 && head[8] == '{' {
		n := uint64(0)
		for i := 7; i >= 0; i-- {
			n = n<<8 | uint64(head[i])
		}
		// A pickle can have '{' at byte 8 by chance; a real safetensors
		// header then fits in the file.
		if !pickle || n <= uint64(size)-8 {
			return Safetensors
		}
	}
	if pickle {
		return Pickle
	}
	return Unknown
}

// IsLFSPointer reports whether a file beginning with head is a Git LFS
// pointer (the text git leaves when the weights were never pulled).
func IsLFSPointer(head []byte) bool {
	return strings.HasPrefix(string(head), "version https://git-lfs")
}

// LFSError is the error for a Git LFS pointer.
func LFSError(path string) error {
	return Errorf(path, "is a Git LFS pointer, not the weights (run git lfs pull)")
}

// Head reads up to SniffLen leading bytes of r.
func Head(r io.ReaderAt, size int64) ([]byte, error) {
	n := min(size, SniffLen)
	if n <= 0 {
		return nil, nil
	}
	b := make([]byte, n)
	if _, err := r.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b, nil
}

// TensorReader streams exactly Size bytes of one tensor from a section of
// a file and names the file and tensor in every error. A file that ends
// early (truncated after it was opened) gives io.ErrUnexpectedEOF wrapped
// in such an error, never a silent short read.
type TensorReader struct {
	sr        *io.SectionReader
	remaining int64
	path      string
	name      string
}

// NewTensorReader streams size bytes of r from off.
func NewTensorReader(r io.ReaderAt, off, size int64, path, name string) *TensorReader {
	return &TensorReader{sr: io.NewSectionReader(r, off, size), remaining: size, path: path, name: name}
}

// Read implements io.Reader.
func (t *TensorReader) Read(p []byte) (int, error) {
	if t.remaining <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > t.remaining {
		p = p[:t.remaining]
	}
	n, err := t.sr.Read(p)
	t.remaining -= int64(n)
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, io.EOF):
		if t.remaining > 0 {
			return n, Wrap(io.ErrUnexpectedEOF, t.path, "tensor %q: %d bytes missing (file truncated?)", t.name, t.remaining)
		}
		return n, nil
	default:
		return n, Wrap(err, t.path, "tensor %q: read", t.name)
	}
}

// Close implements io.Closer; it does not close the underlying file.
func (t *TensorReader) Close() error { return nil }

// OpenRegular opens the file at path and hands it, with its size, to
// parse, whose result then owns it; what names the format in the message
// for a folder ("a GGUF file"). On any error the file is closed.
func OpenRegular[T any](path, what string, parse func(f *os.File, size int64) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(path)
	if err != nil {
		return zero, OSError(err, path, "cannot open")
	}
	size, err := StatRegular(f, path, what)
	var out T
	if err == nil {
		out, err = parse(f, size)
	}
	if err != nil {
		f.Close()
		return zero, err
	}
	return out, nil
}

// StatRegular returns the size of the open file f (named path), which must
// be a regular file; what names the format in the message for a folder.
func StatRegular(f *os.File, path, what string) (int64, error) {
	fi, err := f.Stat()
	switch {
	case err != nil:
		return 0, OSError(err, path, "cannot stat")
	case fi.IsDir():
		return 0, Errorf(path, "is a directory, not %s", what)
	case !fi.Mode().IsRegular():
		return 0, Errorf(path, "not a regular file")
	}
	return fi.Size(), nil
}
