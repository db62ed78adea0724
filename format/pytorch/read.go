package pytorch

import (
	"archive/zip"
	"encoding/binary"
	"errors"
	"io"

	"github.com/vsdb/vsdb/format/internal/ckpt"
)

const chunk = 1 << 20

// section streams n bytes of a storage from byte lo.
func (f *File) section(b *blob, lo, n int64, name string) io.ReadCloser {
	if b.zf == nil {
		return ckpt.NewTensorReader(f.ra, b.off+lo, n, f.path, name)
	}
	return &zipSection{zf: b.zf, skip: lo, left: n, path: f.path, name: name}
}

// zipSection streams part of a compressed record: it decompresses from
// the start and discards what comes before the part.
type zipSection struct {
	zf         *zip.File
	rc         io.ReadCloser
	skip, left int64
	path, name string
}

func (z *zipSection) Read(p []byte) (int, error) {
	if z.left <= 0 {
		return 0, io.EOF
	}
	if z.rc == nil {
		rc, err := z.zf.Open()
		if err != nil {
			return 0, ckpt.Wrap(err, z.path, "tensor %q: open %s", z.name, z.zf.Name)
		}
		z.rc = rc
		if _, err := io.CopyN(io.Discard, rc, z.skip); err != nil {
			return 0, z.wrap(err)
		}
	}
	if int64(len(p)) > z.left {
		p = p[:z.left]
	}
	n, err := z.rc.Read(p)
	z.left -= int64(n)
	if err != nil && (z.left > 0 || !errors.Is(err, io.EOF)) {
		return n, z.wrap(err)
	}
	return n, nil
}

func (z *zipSection) wrap(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return ckpt.Wrap(err, z.path, "tensor %q: read %s", z.name, z.zf.Name)
}

func (z *zipSection) Close() error {
	if z.rc != nil {
		return z.rc.Close()
	}
	return nil
}

// swapReader converts big-endian elements of es bytes to little-endian.
type swapReader struct {
	src  io.ReadCloser
	es   int64
	left int64
	buf  []byte
	out  []byte
}

func (s *swapReader) Read(p []byte) (int, error) {
	if len(s.out) == 0 {
		if s.left == 0 {
			return 0, io.EOF
		}
		if s.buf == nil {
			s.buf = make([]byte, min(s.left, chunk/s.es*s.es))
		}
		b := s.buf[:min(s.left, int64(len(s.buf)))]
		if _, err := io.ReadFull(s.src, b); err != nil {
			return 0, err
		}
		s.left -= int64(len(b))
		swap(b, s.es)
		s.out = b
	}
	n := copy(p, s.out)
	s.out = s.out[n:]
	return n, nil
}

func (s *swapReader) Close() error { return s.src.Close() }

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

// gatherReader materialises a non-contiguous view: on the first Read it
// loads the bytes the view spans, then produces the elements in row-major
// order, a chunk at a time.
type gatherReader struct {
	f    *File
	p    *plan
	name string
	swap bool
	src  []byte
	idx  []int64
	pos  int64 // byte offset in src of the next element
	left int64 // elements still to produce
	out  []byte
	buf  []byte
	err  error
}

func (g *gatherReader) Read(p []byte) (int, error) {
	for len(g.out) == 0 {
		if g.err != nil {
			return 0, g.err
		}
		if g.left == 0 {
			return 0, io.EOF
		}
		if g.src == nil {
			if g.err = g.load(); g.err != nil {
				return 0, g.err
			}
		}
		g.fill()
	}
	n := copy(p, g.out)
	g.out = g.out[n:]
	return n, nil
}

func (g *gatherReader) load() error {
	if g.f.closed.Load() {
		return ckpt.Errorf(g.f.path, "tensor %q: file is closed", g.name)
	}
	rc := g.f.section(g.p.blob, g.p.lo, g.p.span, g.name)
	defer rc.Close()
	src := make([]byte, g.p.span)
	if _, err := io.ReadFull(rc, src); err != nil {
		return err
	}
	if g.swap {
		swap(src, g.p.es)
	}
	g.src = src
	g.idx = make([]int64, len(g.p.shape))
	g.buf = make([]byte, min(g.left, max(1, chunk/g.p.es))*g.p.es)
	return nil
}

// fill produces the next chunk of elements into g.out.
func (g *gatherReader) fill() {
	es, shape, stride := g.p.es, g.p.shape, g.p.stride
	r := len(shape) - 1
	max := int64(len(g.buf)) / es
	var n int64
	for n < max && g.left > 0 {
		k := r
		if stride[k] == 1 {
			run := min(shape[k]-g.idx[k], max-n)
			copy(g.buf[n*es:], g.src[g.pos:g.pos+run*es])
			n += run
			g.left -= run
			g.idx[k] += run
			g.pos += run * es
		} else {
			copy(g.buf[n*es:(n+1)*es], g.src[g.pos:g.pos+es])
			n++
			g.left--
			g.idx[k]++
			g.pos += stride[k] * es
		}
		for k > 0 && g.idx[k] == shape[k] { // carry
			g.pos -= g.idx[k] * stride[k] * es
			g.idx[k] = 0
			k--
			g.idx[k]++
			g.pos += stride[k] * es
		}
	}
	g.out = g.buf[:n*es]
}

func (g *gatherReader) Close() error { return nil }
