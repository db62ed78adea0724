package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/vsdb/vsdb/format/internal/ckpt"
)

// Write writes a safetensors file to w: the header (tensors listed in the
// given order, data_offsets contiguous from 0 in that order, "__metadata__"
// first with its keys sorted when metadata is not empty, padded with
// spaces to a multiple of 8 bytes as the reference writer does), then each
// tensor's bytes read from open(i), which must yield exactly
// entries[i].Size bytes (little-endian, row-major) and is closed after.
//
// Entries are checked before anything is written: names must be valid
// UTF-8, unique and not "__metadata__"; dtypes known; Size must equal the
// shape's byte size. A failure midway leaves w holding a partial file; use
// WriteFile to get all-or-nothing.
func Write(w io.Writer, entries []Entry, metadata map[string]string, open func(i int) (io.ReadCloser, error)) error {
	return write(w, entries, metadata, open, "safetensors writer")
}

// WriteFile writes the file with Write to a temporary file in path's
// folder, syncs it and renames it to path only when everything succeeded,
// so a failed export leaves nothing at path (and an existing file there
// untouched). The new file gets mode 0644.
func WriteFile(path string, entries []Entry, metadata map[string]string, open func(i int) (io.ReadCloser, error)) (err error) {
	if err := checkTarget(path); err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return ckpt.OSError(err, path, "cannot create a temporary file next to it")
	}
	done := false
	defer func() { // also on panic in open
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(bw, entries, metadata, open, path); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return ckpt.OSError(err, path, "write")
	}
	if err := tmp.Chmod(0o644); err != nil {
		return ckpt.OSError(err, path, "chmod")
	}
	if err := tmp.Sync(); err != nil {
		return ckpt.OSError(err, path, "sync")
	}
	if err := tmp.Close(); err != nil {
		return ckpt.OSError(err, path, "close")
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return ckpt.OSError(err, path, "cannot rename the temporary file into place")
	}
	done = true
	// Make the rename durable; failure to sync a folder is not fatal on
	// systems that do not support it.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// checkTarget refuses paths WriteFile must not replace: an empty path,
// and anything that exists but is not a regular file (a directory, a
// device such as /dev/null, a socket), which the rename would destroy.
func checkTarget(path string) error {
	if path == "" {
		return ckpt.Errorf("safetensors writer", "no output path given")
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return ckpt.OSError(err, path, "cannot write")
	case fi.IsDir():
		return ckpt.Errorf(path, "is a directory; give a file name")
	case !fi.Mode().IsRegular():
		return ckpt.Errorf(path, "is not a regular file (a device, pipe or socket); refusing to replace it")
	}
	return nil
}

// Header returns the header Write writes for entries and metadata (the
// 8-byte length included), after checking them.
func Header(entries []Entry, metadata map[string]string) ([]byte, error) {
	return header(entries, metadata, "safetensors writer")
}

// FileSize is the exact number of bytes Write produces for entries and
// metadata (an HTTP server sends it as Content-Length).
func FileSize(entries []Entry, metadata map[string]string) (int64, error) {
	hdr, err := header(entries, metadata, "safetensors writer")
	if err != nil {
		return 0, err
	}
	n := int64(len(hdr))
	for _, e := range entries {
		n += e.Size
	}
	return n, nil
}

func header(entries []Entry, metadata map[string]string, where string) ([]byte, error) {
	var b bytes.Buffer
	b.Write(make([]byte, 8))
	b.WriteByte('{')
	if len(metadata) > 0 {
		b.WriteString(`"__metadata__":{`)
		for i, k := range slices.Sorted(maps.Keys(metadata)) {
			v := metadata[k]
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return nil, ckpt.Errorf(where, "metadata key %q or its value is not valid UTF-8", k)
			}
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(&b, k)
			b.WriteByte(':')
			writeString(&b, v)
		}
		b.WriteByte('}')
	}
	seen := make(map[string]bool, len(entries))
	var off int64
	for i, e := range entries {
		switch {
		case !utf8.ValidString(e.Name):
			return nil, ckpt.Errorf(where, "tensor %q: name is not valid UTF-8", e.Name)
		case e.Name == "__metadata__":
			return nil, ckpt.Errorf(where, "a tensor may not be named __metadata__")
		case seen[e.Name]:
			return nil, ckpt.Errorf(where, "tensor %q is given twice", e.Name)
		case !e.DType.Valid():
			return nil, ckpt.Errorf(where, "tensor %q: invalid dtype %s", e.Name, e.DType)
		}
		seen[e.Name] = true
		want, err := e.Shape.Bytes(e.DType)
		if err != nil {
			return nil, ckpt.Wrap(err, where, "tensor %q", e.Name)
		}
		if e.Size != want {
			return nil, ckpt.Errorf(where, "tensor %q: Size is %d bytes but %s %s needs %d", e.Name, e.Size, e.DType, e.Shape, want)
		}
		if off > math.MaxInt64-want {
			return nil, ckpt.Errorf(where, "tensor %q: total size overflows", e.Name)
		}
		if len(metadata) > 0 || i > 0 {
			b.WriteByte(',')
		}
		writeString(&b, e.Name)
		b.WriteString(`:{"dtype":"`)
		b.WriteString(e.DType.String())
		b.WriteString(`","shape":[`)
		for j, d := range e.Shape {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatInt(d, 10))
		}
		b.WriteString(`],"data_offsets":[`)
		b.WriteString(strconv.FormatInt(off, 10))
		b.WriteByte(',')
		b.WriteString(strconv.FormatInt(off+want, 10))
		b.WriteString(`]}`)
		off += want
		if b.Len() > 8+MaxHeaderSize {
			return nil, ckpt.Errorf(where, "header would exceed the %d-byte limit", MaxHeaderSize)
		}
	}
	b.WriteByte('}')
	for (b.Len()-8)%8 != 0 {
		b.WriteByte(' ')
	}
	if b.Len()-8 > MaxHeaderSize {
		return nil, ckpt.Errorf(where, "header would exceed the %d-byte limit", MaxHeaderSize)
	}
	out := b.Bytes()
	binary.LittleEndian.PutUint64(out, uint64(len(out)-8))
	return out, nil
}

func write(w io.Writer, entries []Entry, metadata map[string]string, open func(i int) (io.ReadCloser, error), where string) error {
	hdr, err := header(entries, metadata, where)
	if err != nil {
		return err
	}
	ew := &errWriter{w: w}
	if _, err := ew.Write(hdr); err != nil {
		return ckpt.Wrap(err, where, "write header")
	}
	// One large buffer: sources that fill it whole (vsdb's chunk readers)
	// then reach the file with no intermediate copy. No larger than the
	// largest tensor: a server writing one small tensor per request should
	// not allocate (and clear) a megabyte each time.
	size := int64(1)
	for _, e := range entries {
		size = max(size, min(e.Size, copyBuffer))
	}
	buf := make([]byte, size)
	for i, e := range entries {
		if err := copyTensor(ew, i, e, open, where, buf); err != nil {
			return err
		}
	}
	return nil
}

// copyBuffer is the size of the buffer tensors are copied through.
const copyBuffer = 1 << 20

func copyTensor(ew *errWriter, i int, e Entry, open func(i int) (io.ReadCloser, error), where string, buf []byte) error {
	r, err := open(i)
	if err != nil {
		return ckpt.Wrap(err, where, "tensor %q: open", e.Name)
	}
	if r == nil {
		return ckpt.Errorf(where, "tensor %q: open returned no reader", e.Name)
	}
	closed := false
	defer func() {
		if !closed {
			r.Close()
		}
	}()
	var n int64
	if wt, ok := r.(io.WriterTo); ok {
		// The source writes itself (vsdb's stored tensors decode their
		// chunks in parallel, ahead of the writer): no copy through buf.
		lw := &limitWriter{w: ew, left: e.Size}
		n, err = wt.WriteTo(lw)
		if lw.over {
			return ckpt.Errorf(where, "tensor %q: its source yielded more than %d bytes", e.Name, e.Size)
		}
	} else {
		n, err = io.CopyBuffer(ew, io.LimitReader(r, e.Size), buf)
	}
	if err == nil && n < e.Size {
		err = io.EOF
	}
	switch {
	case ew.err != nil:
		return ckpt.Wrap(ew.err, where, "tensor %q: write", e.Name)
	case errors.Is(err, io.EOF):
		return ckpt.Errorf(where, "tensor %q: its source yielded %d bytes, want %d", e.Name, n, e.Size)
	case err != nil:
		return ckpt.Wrap(err, where, "tensor %q: read", e.Name)
	}
	var one [1]byte
	switch k, err := io.ReadFull(r, one[:]); {
	case k > 0:
		return ckpt.Errorf(where, "tensor %q: its source yielded more than %d bytes", e.Name, e.Size)
	case err != nil && !errors.Is(err, io.EOF):
		return ckpt.Wrap(err, where, "tensor %q: read", e.Name)
	}
	closed = true
	if err := r.Close(); err != nil {
		return ckpt.Wrap(err, where, "tensor %q: close", e.Name)
	}
	return nil
}

// limitWriter passes at most left bytes on and notes an attempt at more.
type limitWriter struct {
	w    io.Writer
	left int64
	over bool
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		l.over = true
		return 0, errors.New("too many bytes")
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	return n, err
}

// errWriter remembers the first write error, so that a failed copy can be
// blamed on the right side.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}

func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)           // cannot fail for a string
	b.Truncate(b.Len() - 1) // Encode's newline
}
