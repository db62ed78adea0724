// Package npz reads NumPy .npz archives (numpy.savez and
// numpy.savez_compressed): zip archives whose members are .npy files,
// stored or deflated.
//
// Names: each member NAME.npy is one tensor named NAME, the key numpy.load
// gives it; a nested member path is kept as it is ("enc/w.npy" -> "enc/w",
// never rewritten to "enc.w", so that names stay unique and match numpy's
// keys). Like numpy.load, a member not ending in ".npy" is a tensor
// (under its full name) when its content starts with the .npy magic; other
// such members are ignored and listed in the metadata key
// "npz.ignored_members". A member named *.npy must be a valid .npy file.
// Two members giving the same tensor name are an error. Entries come in
// storage order (the members' order in the file).
//
// Each member's .npy header is parsed with package format/npy (no
// evaluation, no unpickling: object arrays are refused; big-endian and
// Fortran-order arrays are converted while streaming), reading it through
// the member's decompressor when the member is deflated.
//
// Sizes are never trusted: a member's uncompressed size in the zip must
// equal its .npy header's length plus the bytes its dtype and shape need;
// a stored member's compressed and uncompressed sizes must agree and its
// bytes must lie inside the file; a deflated member may not declare more
// than MaxRatio times its compressed size (deflate cannot expand more, so
// such a size is forged: a zip bomb or corruption). Streaming counts what
// is actually inflated and checks the CRC-32: a member shorter or longer
// than declared, or corrupt, is an error naming the archive and tensor.
// The ratio limit is deflate's own bound rather than something tighter
// because arrays of zeros, common in checkpoints, do compress about 1030
// times with zlib; what keeps such an array from being a bomb is that its
// .npy header states the same size as the zip, and vsdb never allocates
// from either before reading.
//
// Deflated members cannot be seeked: Open(i) inflates the member as it
// streams (compress/flate, through archive/zip). A Fortran-order array larger than the reordering budget of
// package npy is inflated once per pass.
package npz

import (
	"archive/zip"
	"cmp"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync/atomic"

	kflate "github.com/klauspost/compress/flate"
	"github.com/vsdb/vsdb/format/internal/ckpt"
	"github.com/vsdb/vsdb/format/npy"
)

// Entry is format.Entry.
type Entry = ckpt.Entry

// MaxRatio bounds a deflated member's uncompressed size relative to its
// compressed size: deflate's maximum expansion (258 bytes from 2 bits).
const MaxRatio = 1032

// ratioSlack allows tiny members a fixed overhead beyond MaxRatio.
const ratioSlack = 1024

// maxIgnoredListed bounds the member names listed in the metadata.
const maxIgnoredListed = 16

// File is an opened, validated .npz archive. It implements format.Source.
// Its methods are safe for concurrent use, and readers from Open may be
// used concurrently with each other.
type File struct {
	path    string
	closer  io.Closer
	members []member // storage order
	meta    map[string]string
	closed  atomic.Bool
}

type member struct {
	zf  *zip.File
	off int64 // where its data begins in the archive
	h   *npy.Header
}

// end is where the member's stored bytes end in the archive.
func (m member) end() int64 { return m.off + int64(m.zf.CompressedSize64) }

// Open opens and validates the .npz archive at path. The caller must Close
// it.
func Open(path string) (*File, error) {
	return ckpt.OpenRegular(path, "an .npz archive", func(f *os.File, size int64) (*File, error) {
		z, err := Parse(f, size, path)
		if err != nil {
			return nil, err
		}
		z.closer = f
		return z, nil
	})
}

// Parse validates an .npz archive held by r (size bytes long); path names
// it in errors. Close on the result does not close r.
func Parse(r io.ReaderAt, size int64, path string) (*File, error) {
	head, err := ckpt.Head(r, size)
	if err != nil {
		return nil, ckpt.Wrap(err, path, "read")
	}
	if ckpt.IsLFSPointer(head) {
		return nil, ckpt.LFSError(path)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // nothing is extracted: any name is fine
		return nil, ckpt.Wrap(err, path, "not a valid zip archive")
	}
	// klauspost/compress's inflater (already vsdb's zstd) reads
	// savez_compressed members 1.45x faster than compress/flate, which was
	// 85% of the time and left vsdb 2x behind numpy.load.
	zr.RegisterDecompressor(zip.Deflate, kflate.NewReader)
	z := &File{path: path, meta: map[string]string{}}
	seen := map[string]string{} // tensor name -> member name
	var ignored []string
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, "/") && zf.UncompressedSize64 == 0 {
			continue // a directory
		}
		m, ok, err := z.member(size, zf)
		if err != nil {
			return nil, err
		}
		if !ok {
			ignored = append(ignored, zf.Name)
			continue
		}
		name := m.h.Name
		if other, dup := seen[name]; dup {
			if other == zf.Name {
				return nil, ckpt.Errorf(path, "member %q appears twice", zf.Name)
			}
			return nil, ckpt.Errorf(path, "members %q and %q both give tensor name %q", other, zf.Name, name)
		}
		seen[name] = zf.Name
		z.members = append(z.members, m)
	}
	if len(z.members) == 0 && len(ignored) > 0 {
		return nil, ckpt.Errorf(path, "no .npy arrays in this zip archive (found %s): not an .npz file", list(ignored))
	}
	if len(ignored) > 0 {
		z.meta["npz.ignored_members"] = list(ignored)
	}
	slices.SortStableFunc(z.members, func(a, b member) int { return cmp.Compare(a.off, b.off) })
	// Members sharing bytes are how "overlapping" zip bombs multiply one
	// compressed kernel; numpy never writes them.
	for i := 1; i < len(z.members); i++ {
		if prev, m := z.members[i-1], z.members[i]; m.off < prev.end() {
			return nil, ckpt.Errorf(path, "members %q and %q overlap in the archive (a zip bomb or a corrupt archive)", prev.zf.Name, m.zf.Name)
		}
	}
	return z, nil
}

// list names up to maxIgnoredListed members.
func list(names []string) string {
	q := make([]string, 0, min(len(names), maxIgnoredListed))
	for _, n := range names[:min(len(names), maxIgnoredListed)] {
		q = append(q, fmt.Sprintf("%q", n))
	}
	s := strings.Join(q, ", ")
	if len(names) > maxIgnoredListed {
		s += fmt.Sprintf(" and %d more", len(names)-maxIgnoredListed)
	}
	return s
}

// member validates one zip member; ok is false for a member that is not
// an array (not named *.npy, no .npy magic).
func (z *File) member(size int64, zf *zip.File) (m member, ok bool, err error) {
	path := z.path
	isNpy := strings.HasSuffix(zf.Name, ".npy")
	name := zf.Name
	if isNpy {
		name = strings.TrimSuffix(name, ".npy")
	}
	where := fmt.Sprintf("member %q", zf.Name)
	if name == "" {
		return m, false, ckpt.Errorf(path, "%s: empty tensor name", where)
	}
	if zf.Flags&1 != 0 {
		return m, false, ckpt.Errorf(path, "%s: encrypted members are not supported", where)
	}
	csize, usize := zf.CompressedSize64, zf.UncompressedSize64
	if csize > uint64(size) {
		return m, false, ckpt.Errorf(path, "%s: compressed size %d exceeds the archive's %d bytes (corrupt or truncated)", where, csize, size)
	}
	if usize > 1<<62 {
		return m, false, ckpt.Errorf(path, "%s: uncompressed size %d is too large", where, usize)
	}
	switch zf.Method {
	case zip.Store:
		if csize != usize {
			return m, false, ckpt.Errorf(path, "%s: stored, but its compressed size %d differs from its uncompressed size %d (corrupt)", where, csize, usize)
		}
	case zip.Deflate:
		if usize > ratioSlack && (usize-ratioSlack)/MaxRatio > csize {
			return m, false, ckpt.Errorf(path, "%s: declares %d bytes inflated from %d compressed, more than deflate can produce (%dx): a zip bomb or a corrupt archive", where, usize, csize, MaxRatio)
		}
	default:
		return m, false, ckpt.Errorf(path, "%s: compression method %d is not supported (stored and deflated are)", where, zf.Method)
	}
	off, err := zf.DataOffset()
	if err != nil {
		return m, false, ckpt.Wrap(err, path, "%s: local header", where)
	}
	if off < 0 || off > size || int64(csize) > size-off {
		return m, false, ckpt.Errorf(path, "%s: %d bytes at offset %d run past the end of the archive (%d bytes; truncated?)", where, csize, off, size)
	}
	if !isNpy {
		// numpy.load reads such a member as an array when it starts with
		// the .npy magic, and as bytes otherwise.
		if usize < 6 {
			return m, false, nil
		}
		rc, err := zf.Open()
		if err != nil {
			return m, false, ckpt.Wrap(err, path, "%s: open", where)
		}
		var b [6]byte
		_, err = io.ReadFull(rc, b[:])
		rc.Close()
		if err != nil {
			return m, false, ckpt.Wrap(err, path, "%s: read", where)
		}
		if string(b[:]) != "\x93NUMPY" {
			return m, false, nil
		}
	}
	rc, err := zf.Open()
	if err != nil {
		return m, false, ckpt.Wrap(err, path, "%s: open", where)
	}
	defer rc.Close()
	h, err := npy.ParseHeader(rc, int64(usize), path, name)
	if err != nil {
		return m, false, err
	}
	if got := uint64(h.DataOffset) + uint64(h.Size); got != usize {
		return m, false, ckpt.Errorf(path, "tensor %q: %s holds %d bytes, but its .npy header describes %d (%d of header, then %s %s)", name, where, usize, got, h.DataOffset, h.DType, h.Shape)
	}
	return member{zf: zf, off: off, h: h}, true, nil
}

// Path returns the path the archive was opened with.
func (z *File) Path() string { return z.path }

// Entries returns the tensors in storage order. The result is a copy.
func (z *File) Entries() []Entry {
	out := make([]Entry, len(z.members))
	for i, m := range z.members {
		out[i] = m.h.Entry
		out[i].Shape = slices.Clone(m.h.Shape)
	}
	return out
}

// Metadata returns a copy of the metadata: "npz.ignored_members" when
// members were ignored, else empty (never nil).
func (z *File) Metadata() map[string]string { return maps.Clone(z.meta) }

// Compressed reports whether member i is deflated.
func (z *File) Compressed(i int) bool { return z.members[i].zf.Method == zip.Deflate }

// Open streams tensor i: exactly Entries()[i].Size bytes, little-endian,
// row-major. Closing the reader does not close the archive.
func (z *File) Open(i int) (io.ReadCloser, error) {
	if i < 0 || i >= len(z.members) {
		return nil, ckpt.Errorf(z.path, "no tensor number %d (the archive has %d)", i, len(z.members))
	}
	m := z.members[i]
	if z.closed.Load() {
		return nil, ckpt.Errorf(z.path, "tensor %q: file is closed", m.h.Name)
	}
	open := func() (io.ReadCloser, error) { return z.data(m) }
	if !m.h.Fortran && !m.h.BigEndian {
		return &lazy{open: open}, nil
	}
	return npy.Stream(m.h, open), nil
}

// Close closes the archive. Readers already returned by Open fail
// afterwards.
func (z *File) Close() error {
	if z.closed.Swap(true) || z.closer == nil {
		return nil
	}
	if err := z.closer.Close(); err != nil {
		return ckpt.OSError(err, z.path, "close")
	}
	return nil
}

// data opens member m and skips its .npy header: the reader gives the
// member's data as stored, exactly m.h.Size bytes, and checks at the end
// that the member ends there and that its CRC-32 matches.
func (z *File) data(m member) (io.ReadCloser, error) {
	name := m.h.Name
	if z.closed.Load() {
		return nil, ckpt.Errorf(z.path, "tensor %q: file is closed", name)
	}
	var src io.Reader
	var closer io.Closer
	if m.zf.Method == zip.Store {
		// Stored members are read in place; archive/zip would do the same
		// through one more layer. The CRC is checked here.
		raw, err := m.zf.OpenRaw()
		if err != nil {
			return nil, ckpt.Wrap(err, z.path, "tensor %q: open member %q", name, m.zf.Name)
		}
		src = raw
	} else {
		rc, err := m.zf.Open()
		if err != nil {
			return nil, ckpt.Wrap(err, z.path, "tensor %q: open member %q", name, m.zf.Name)
		}
		src, closer = rc, rc
	}
	d := &dataReader{z: z, m: m, src: src, closer: closer, left: m.h.Size}
	if m.zf.Method == zip.Store {
		d.crc = crc32.NewIEEE()
	}
	if _, err := io.CopyN(d.hash(), src, m.h.DataOffset); err != nil {
		d.Close()
		return nil, d.wrap(err, "read the .npy header again")
	}
	return d, nil
}

// dataReader streams a member's data, counting it.
type dataReader struct {
	z      *File
	m      member
	src    io.Reader
	closer io.Closer
	crc    hashWriter // stored members: archive/zip checks deflated ones
	left   int64
	done   bool
}

type hashWriter interface {
	io.Writer
	Sum32() uint32
}

func (d *dataReader) hash() io.Writer {
	if d.crc == nil {
		return io.Discard
	}
	return d.crc
}

func (d *dataReader) wrap(err error, what string) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return ckpt.Wrap(err, d.z.path, "tensor %q: member %q: %s", d.m.h.Name, d.m.zf.Name, what)
}

func (d *dataReader) Read(p []byte) (int, error) {
	if d.left == 0 {
		return 0, d.finish()
	}
	if int64(len(p)) > d.left {
		p = p[:d.left]
	}
	n, err := d.src.Read(p)
	d.left -= int64(n)
	if d.crc != nil {
		d.crc.Write(p[:n])
	}
	if err != nil && !(errors.Is(err, io.EOF) && d.left == 0) {
		if errors.Is(err, io.EOF) {
			return n, d.wrap(io.ErrUnexpectedEOF, fmt.Sprintf("%d bytes missing (truncated?)", d.left))
		}
		return n, d.wrap(err, "read")
	}
	if d.left == 0 {
		// Verify now, while the caller still reads: one that asks for
		// exactly the data (io.ReadFull) never reads again. An error
		// goes with no bytes, as io.ReadFull would drop it otherwise.
		if err := d.finish(); err != io.EOF {
			return 0, err
		}
	}
	return n, nil
}

// finish checks, once, that the member ends with the data and that its
// checksum matches; it returns io.EOF when all is well.
func (d *dataReader) finish() error {
	if d.done {
		return io.EOF
	}
	d.done = true
	var b [1]byte
	n, err := d.src.Read(b[:])
	for try := 0; n == 0 && err == nil && try < 100; try++ {
		n, err = d.src.Read(b[:])
	}
	switch {
	case n > 0:
		return d.wrap(errors.New("more bytes than its .npy header describes"), "corrupt")
	case err == nil:
		return d.wrap(io.ErrNoProgress, "verify")
	case !errors.Is(err, io.EOF):
		return d.wrap(err, "verify")
	}
	if d.crc != nil && d.m.zf.CRC32 != 0 && d.crc.Sum32() != d.m.zf.CRC32 {
		return d.wrap(zip.ErrChecksum, "corrupt")
	}
	return io.EOF
}

func (d *dataReader) Close() error {
	if d.closer == nil {
		return nil
	}
	// The inflater reports a broken stream again on Close.
	if err := d.closer.Close(); err != nil {
		return d.wrap(err, "close")
	}
	return nil
}

// lazy opens its source when first read.
type lazy struct {
	open func() (io.ReadCloser, error)
	rc   io.ReadCloser
	err  error
}

func (l *lazy) Read(p []byte) (int, error) {
	if l.rc == nil {
		if l.err != nil {
			return 0, l.err
		}
		l.rc, l.err = l.open()
		if l.err != nil {
			return 0, l.err
		}
	}
	return l.rc.Read(p)
}

func (l *lazy) Close() error {
	if l.rc == nil {
		return nil
	}
	return l.rc.Close()
}
