package codec

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// Lossless splits each element into byte planes (all first bytes, then all
// second bytes, ...) so that the sign/exponent byte of floats, which takes
// few distinct values, forms its own stream; each plane is compressed with
// zstd, or kept raw when zstd does not make it at least 1/64 smaller.
//
// Layout (version 1):
//
//	+---------+----------+-------------------------------------+-----------+
//	| version | elemSize | elemSize × (mode byte, uvarint len) | planes... |
//	|   0x01  |  1 byte  |  mode 0 = raw, 1 = zstd             |           |
//	+---------+----------+-------------------------------------+-----------+
//
// Plane p holds byte p of every element; its decoded length is
// len(raw)/elemSize. len is the stored length of the plane.
//
// When that layout would not be smaller than the input (tiny or random
// chunks), the chunk is stored as version, a zero byte, then the raw bytes.
type Lossless struct{}

func init() { register(Lossless{}) }

const losslessVersion = 1

var (
	zenc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	zdec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<30))
)

// Name implements Codec.
func (Lossless) Name() string { return "lossless" }

// Encode implements Codec.
func (Lossless) Encode(dst, raw []byte, elemSize int) ([]byte, error) {
	if elemSize < 1 || elemSize > 8 || len(raw)%elemSize != 0 {
		return nil, fmt.Errorf("vsdb: lossless: %d bytes do not split into %d-byte elements", len(raw), elemSize)
	}
	n := len(raw) / elemSize
	planes := splitPlanes(raw, elemSize, n)
	start := len(dst)
	dst = append(dst, losslessVersion, byte(elemSize))
	bodies := make([][]byte, elemSize)
	for p, plane := range planes {
		z := zenc.EncodeAll(plane, nil)
		mode := byte(1)
		if len(z) >= n-n/64 {
			z, mode = plane, 0
		}
		bodies[p] = z
		dst = append(dst, mode)
		dst = binary.AppendUvarint(dst, uint64(len(z)))
	}
	size := len(dst) - start
	for _, b := range bodies {
		size += len(b)
	}
	if size >= len(raw)+2 {
		return append(append(dst[:start], losslessVersion, 0), raw...), nil
	}
	for _, b := range bodies {
		dst = append(dst, b...)
	}
	return dst, nil
}

func splitPlanes(raw []byte, k, n int) [][]byte {
	buf := make([]byte, len(raw))
	planes := make([][]byte, k)
	for p := range planes {
		planes[p] = buf[p*n : (p+1)*n]
	}
	switch k {
	case 1:
		copy(buf, raw)
	case 2:
		p0, p1 := planes[0], planes[1]
		for i := 0; i < n; i++ {
			p0[i], p1[i] = raw[2*i], raw[2*i+1]
		}
	case 4:
		p0, p1, p2, p3 := planes[0], planes[1], planes[2], planes[3]
		for i := 0; i < n; i++ {
			e := raw[4*i : 4*i+4 : 4*i+4]
			p0[i], p1[i], p2[i], p3[i] = e[0], e[1], e[2], e[3]
		}
	default:
		for i := 0; i < n; i++ {
			for p := 0; p < k; p++ {
				planes[p][i] = raw[i*k+p]
			}
		}
	}
	return planes
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
	if len(enc) < 2 || enc[0] != losslessVersion || int(enc[1]) != elemSize || elemSize < 1 || len(raw)%elemSize != 0 {
		return fmt.Errorf("%w: bad header", errCorrupt)
	}
	n := len(raw) / elemSize
	pos := 2
	modes := make([]byte, elemSize)
	lens := make([]int, elemSize)
	for p := 0; p < elemSize; p++ {
		if pos >= len(enc) {
			return fmt.Errorf("%w: truncated header", errCorrupt)
		}
		modes[p] = enc[pos]
		l, w := binary.Uvarint(enc[pos+1:])
		if w <= 0 || l > uint64(len(enc)) {
			return fmt.Errorf("%w: bad plane length", errCorrupt)
		}
		lens[p], pos = int(l), pos+1+w
	}
	plane := make([]byte, n)
	for p := 0; p < elemSize; p++ {
		if pos+lens[p] > len(enc) {
			return fmt.Errorf("%w: plane %d runs past the end", errCorrupt, p)
		}
		if err := decodePlane(plane, enc[pos:pos+lens[p]], modes[p]); err != nil {
			return fmt.Errorf("%w: plane %d: %v", errCorrupt, p, err)
		}
		pos += lens[p]
		for i, b := range plane {
			raw[i*elemSize+p] = b
		}
	}
	if pos != len(enc) {
		return fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(enc)-pos)
	}
	return nil
}

func decodePlane(plane, body []byte, mode byte) error {
	switch mode {
	case 0:
		if len(body) != len(plane) {
			return fmt.Errorf("raw plane of %d bytes, want %d", len(body), len(plane))
		}
		copy(plane, body)
		return nil
	case 1:
		out, err := zdec.DecodeAll(body, plane[:0])
		if err != nil {
			return err
		}
		if len(out) != len(plane) || (len(out) > 0 && &out[0] != &plane[0]) {
			return fmt.Errorf("decoded %d bytes, want %d", len(out), len(plane))
		}
		return nil
	}
	return fmt.Errorf("unknown plane mode %d", mode)
}
