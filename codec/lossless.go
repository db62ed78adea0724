package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync"

	"github.com/klauspost/compress/huff0"
)

// Lossless is vsdb's bit-exact codec for tensors, after ZipNN: each float's
// bits are rotated left by one so that the whole exponent sits in the top
// byte (the sign moves to the bottom bit), the elements are split into byte
// planes (all top bytes, all next bytes, ...), and each plane is
// Huffman-coded in 64 KiB blocks (klauspost/compress huff0). Exponents take
// few distinct values and compress well; near-random mantissa bytes fall
// back to raw block by block.
//
// Layout (version 1):
//
//	+------+----------+--------+----------------------------------------+
//	| 0x01 | elemSize | rotate | planes: for plane p = 0 .. elemSize-1, |
//	|      |          |  0 / 1 | for each 64 KiB block of the plane:    |
//	|      |          |        |   mode byte, uvarint len, len bytes    |
//	+------+----------+--------+----------------------------------------+
//
// Plane p holds byte p (little-endian) of every element, after rotation.
// Block modes: 0 raw, 1 huff0 4-stream, 2 run (one byte repeated; len 1).
// A chunk that would not shrink is stored as 0x01, 0x00, then the raw bytes.
// elemSize 1 has one plane and no rotation.
type Lossless struct{}

func init() { register(Lossless{}) }

const (
	losslessVersion = 1
	planeBlock      = 64 << 10
	modeRaw         = 0
	modeHuff        = 1
	modeRun         = 2
)

var (
	scratches = sync.Pool{New: func() any { return &huff0.Scratch{} }}
	bufs      sync.Pool // *[]byte plane buffers
)

// getBuf returns a pooled buffer of n bytes (contents undefined).
func getBuf(n int) *[]byte {
	if b, ok := bufs.Get().(*[]byte); ok && cap(*b) >= n {
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n)
	return &b
}

// Name implements Codec.
func (Lossless) Name() string { return "lossless" }

// Encode implements Codec.
func (Lossless) Encode(dst, raw []byte, elemSize int) ([]byte, error) {
	if elemSize < 1 || elemSize > 8 || len(raw)%elemSize != 0 {
		return nil, fmt.Errorf("vsdb: lossless: %d bytes do not split into %d-byte elements", len(raw), elemSize)
	}
	start := len(dst)
	rotate := elemSize == 2 || elemSize == 4 || elemSize == 8
	dst = append(dst, losslessVersion, byte(elemSize), b2u(rotate))
	n := len(raw) / elemSize
	bp := getBuf(len(raw))
	defer bufs.Put(bp)
	buf := *bp
	splitPlanes(buf, raw, elemSize, n, rotate)
	s := scratches.Get().(*huff0.Scratch)
	defer scratches.Put(s)
	for p := 0; p < elemSize; p++ {
		dst = encodePlane(dst, buf[p*n:(p+1)*n], s)
	}
	if len(dst)-start >= len(raw)+2 {
		return append(append(dst[:start], losslessVersion, 0), raw...), nil
	}
	return dst, nil
}

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// encodePlane codes a plane block by block. Once its first block proved
// incompressible (a near-random mantissa byte), the rest is stored raw
// without trying. Measured on all-MiniLM-L6-v2: ingest 17% faster for
// 0.14% more stored bytes (71.0 MiB instead of 70.9 MiB).
func encodePlane(dst, plane []byte, s *huff0.Scratch) []byte {
	tryHuff := true
	for len(plane) > 0 {
		blk := plane[:min(planeBlock, len(plane))]
		plane = plane[len(blk):]
		if !tryHuff {
			dst = append(dst, modeRaw)
			dst = binary.AppendUvarint(dst, uint64(len(blk)))
			dst = append(dst, blk...)
			continue
		}
		s.Reuse = huff0.ReusePolicyNone
		h, _, err := huff0.Compress4X(blk, s)
		switch {
		case errors.Is(err, huff0.ErrUseRLE):
			dst = append(dst, modeRun, 1, blk[0])
		case err != nil || len(h) >= len(blk):
			tryHuff = false
			dst = append(dst, modeRaw)
			dst = binary.AppendUvarint(dst, uint64(len(blk)))
			dst = append(dst, blk...)
		default:
			dst = append(dst, modeHuff)
			dst = binary.AppendUvarint(dst, uint64(len(h)))
			dst = append(dst, h...)
		}
	}
	return dst
}

// splitPlanes writes plane p of raw (n elements of k bytes) to buf[p*n:].
func splitPlanes(buf, raw []byte, k, n int, rotate bool) {
	switch {
	case k == 4 && rotate:
		p0, p1, p2, p3 := buf[:n], buf[n:2*n], buf[2*n:3*n], buf[3*n:4*n]
		for i := 0; i < n; i++ {
			v := bits.RotateLeft32(binary.LittleEndian.Uint32(raw[4*i:]), 1)
			p0[i], p1[i], p2[i], p3[i] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		}
	case k == 2 && rotate:
		p0, p1 := buf[:n], buf[n:2*n]
		for i := 0; i < n; i++ {
			v := bits.RotateLeft16(binary.LittleEndian.Uint16(raw[2*i:]), 1)
			p0[i], p1[i] = byte(v), byte(v>>8)
		}
	default:
		for i := 0; i < n; i++ {
			e := raw[i*k : i*k+k]
			if rotate { // k == 8
				var tmp [8]byte
				binary.LittleEndian.PutUint64(tmp[:], bits.RotateLeft64(binary.LittleEndian.Uint64(e), 1))
				e = tmp[:]
			}
			for p := 0; p < k; p++ {
				buf[p*n+i] = e[p]
			}
		}
	}
}

// joinPlanes is the inverse of splitPlanes.
func joinPlanes(raw, buf []byte, k, n int, rotate bool) {
	switch {
	case k == 4 && rotate:
		p0, p1, p2, p3 := buf[:n], buf[n:2*n], buf[2*n:3*n], buf[3*n:4*n]
		for i := 0; i < n; i++ {
			v := uint32(p0[i]) | uint32(p1[i])<<8 | uint32(p2[i])<<16 | uint32(p3[i])<<24
			binary.LittleEndian.PutUint32(raw[4*i:], bits.RotateLeft32(v, -1))
		}
	case k == 2 && rotate:
		p0, p1 := buf[:n], buf[n:2*n]
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint16(raw[2*i:], bits.RotateLeft16(uint16(p0[i])|uint16(p1[i])<<8, -1))
		}
	default:
		for i := 0; i < n; i++ {
			e := raw[i*k : i*k+k]
			for p := 0; p < k; p++ {
				e[p] = buf[p*n+i]
			}
			if rotate {
				binary.LittleEndian.PutUint64(e, bits.RotateLeft64(binary.LittleEndian.Uint64(e), -1))
			}
		}
	}
}

var errCorrupt = errors.New("vsdb: lossless chunk is corrupt")

// Decode implements Codec.
func (Lossless) Decode(raw, enc []byte, elemSize int) error {
	if len(enc) >= 2 && enc[0] == losslessVersion && enc[1] == 0 {
		if len(enc)-2 != len(raw) {
			return fmt.Errorf("%w: raw chunk of %d bytes, want %d", errCorrupt, len(enc)-2, len(raw))
		}
		copy(raw, enc[2:])
		return nil
	}
	if len(enc) < 3 || enc[0] != losslessVersion || int(enc[1]) != elemSize || enc[2] > 1 || elemSize < 1 || len(raw)%elemSize != 0 {
		return fmt.Errorf("%w: bad header", errCorrupt)
	}
	rotate := enc[2] == 1
	n := len(raw) / elemSize
	bp := getBuf(len(raw))
	defer bufs.Put(bp)
	buf := *bp
	s := scratches.Get().(*huff0.Scratch)
	defer scratches.Put(s)
	pos := 3
	for p := 0; p < elemSize; p++ {
		used, err := decodePlane(buf[p*n:(p+1)*n], enc[pos:], s)
		if err != nil {
			return fmt.Errorf("%w: plane %d: %v", errCorrupt, p, err)
		}
		pos += used
	}
	if pos != len(enc) {
		return fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(enc)-pos)
	}
	joinPlanes(raw, buf, elemSize, n, rotate)
	return nil
}

// decodePlane fills plane from the blocks at the start of enc and returns
// how many bytes of enc they took.
func decodePlane(plane, enc []byte, s *huff0.Scratch) (int, error) {
	pos := 0
	for off := 0; off < len(plane); {
		blk := plane[off:min(len(plane), off+planeBlock)]
		if pos >= len(enc) {
			return 0, errors.New("truncated")
		}
		mode := enc[pos]
		l, w := binary.Uvarint(enc[pos+1:])
		if w <= 0 || l > uint64(len(enc)-pos-1-w) {
			return 0, errors.New("bad block length")
		}
		body := enc[pos+1+w : pos+1+w+int(l)]
		if err := decodeBlock(blk, body, mode, s); err != nil {
			return 0, err
		}
		pos += 1 + w + int(l)
		off += len(blk)
	}
	return pos, nil
}

func decodeBlock(blk, body []byte, mode byte, s *huff0.Scratch) error {
	switch mode {
	case modeRaw:
		if len(body) != len(blk) {
			return fmt.Errorf("raw block of %d bytes, want %d", len(body), len(blk))
		}
		copy(blk, body)
	case modeRun:
		if len(body) != 1 {
			return errors.New("bad run block")
		}
		for i := range blk {
			blk[i] = body[0]
		}
	case modeHuff:
		s.MaxDecodedSize = len(blk)
		sc, rest, err := huff0.ReadTable(body, s)
		if err != nil {
			return err
		}
		out, err := sc.Decoder().Decompress4X(blk[:0:len(blk)], rest)
		if err != nil {
			return err
		}
		if len(out) != len(blk) {
			return fmt.Errorf("block decoded to %d bytes, want %d", len(out), len(blk))
		}
	default:
		return fmt.Errorf("unknown block mode %d", mode)
	}
	return nil
}
