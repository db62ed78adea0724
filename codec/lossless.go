package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync"
)

// Lossless is vsdb's bit-exact codec for tensors, after ZipNN: each float's
// bits are rotated left by one so that the whole exponent sits in the top
// byte (the sign moves to the bottom bit), and the part that carries the
// exponent is Huffman-coded apart from the near-random mantissa bits.
// Exponents take few distinct values and compress well.
//
// For 2-byte elements (BF16, F16) the coded symbol is the top 8+k bits of
// the rotated value, k = 0, 1 or 2 chosen per chunk by the exact coded
// size: for BF16 the exponent and the top k mantissa bits, whose
// distribution depends on the exponent (within a binade smaller mantissas
// are likelier), so coding them jointly saves what separate byte planes
// cannot. The other 8-k bits are packed raw. For 4- and 8-byte elements
// the rotated values are split into byte planes (all top bytes, all next
// bytes, ...), each coded on its own; 1-byte elements are one plane; other
// widths are byte planes without rotation.
//
// The entropy coder (lossless_huff.go) is vsdb's own: canonical Huffman
// codes of at most 12 bits, one table per plane, four streams, and a
// decoding table that yields several symbols per lookup.
//
// Layout (version 2):
//
//	+------+----------+-------------------+----------------------------+
//	| 0x02 | elemSize | uvarint n (count) | body                       |
//	+------+----------+-------------------+----------------------------+
//
//	elemSize 0:   the chunk stored as it is (it did not shrink): no n, then
//	              the raw bytes
//	elemSize 1:   plane
//	elemSize 2:   k (0..2), symbol plane (symbols: top 8+k bits of the rotated
//	              values), then k = 0: plane of the low bytes;
//	              k > 0: the low 8-k bits of every element, packed LSB first
//	              (element i at bit (8-k)*i), zero bits to the last byte
//	elemSize 4/8: planes of the rotated values, top byte first
//	others:       planes of the bytes, last byte first (no rotation)
//
//	plane: mode 0 raw: n bytes (8-bit symbols only)
//	       mode 1 huffman: the coded plane (lossless_huff.go)
//	       mode 2 run: uvarint symbol, repeated n times
//
// Version 1 (byte planes of the rotated values, huff0 in 64 KiB blocks)
// was never deployed and is no longer decoded.
//
// Measured on the real all-MiniLM-L6-v2 in 1 MiB chunks, one core of a
// shared 2-core Zen 3 (bench/lossless.sh; docs/BENCHMARKS.md has the
// tables): version 1 stored F32 at 1.2212 and BF16 at 1.5048 and decoded
// them at 1.1–1.4 and 0.6–0.9 GB/s; version 2 stores them at 1.2196 and
// 1.5136 (ZipNN 0.5.4 on the same bytes: 1.2205 and 1.5036, 1.1 and
// 0.8 GB/s). Of BF16's gain k = 2 gives most (flat 1 MiB chunks, 11-bit
// codes: k = 0 1.5021, k = 1 1.5075, k = 2 1.5087); package-merge, 12-bit
// codes and choosing k by exact size add 0.0026.
// Huffman-coding BF16's mantissa byte as a plane saved nothing (8.0005
// bits a byte); huff0 1X against 4X, 32 to 256 KiB blocks and pairing
// exponents into one byte symbol moved the exponent's cost by under 0.01
// bits.
// Version 2's first decoder ran at 3.1–3.3 (F32) and 1.3–1.6 GB/s (BF16);
// the present one decodes the same bytes (the layout did not change) at
// 5.7–6.1 and 3.5–3.6 GB/s: the four streams at once with the refill off
// the lookups' dependency chain, 16-bit table entries stored as they are
// (the table bits sit in the low bits that the merge then replaces), the
// low bits merged with AVX2 after the whole plane (merging by parts
// evicted the table from L1), the multi-symbol table built from shared
// sub-tables.
type Lossless struct{}

func init() { register(Lossless{}) }

const (
	losslessVersion = 2
	modeRaw         = 0
	modeHuff        = 1
	modeRun         = 2
)

var (
	bufs       sync.Pool // *[]byte plane buffers
	errCorrupt = errors.New("vsdb: lossless chunk is corrupt")
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
	n := len(raw) / elemSize
	if n == 0 {
		return append(dst, losslessVersion, 0), nil
	}
	dst = binary.AppendUvarint(append(dst, losslessVersion, byte(elemSize)), uint64(n))
	h := huffCoders.Get().(*huffCoder)
	defer huffCoders.Put(h)
	switch elemSize {
	case 1:
		dst = encodePlane(dst, raw, h)
	case 2:
		dst = encode16(dst, raw, n, h)
	default:
		bp := getBuf(len(raw))
		defer bufs.Put(bp)
		buf := *bp
		splitPlanes(buf, raw, elemSize, n)
		for p := elemSize - 1; p >= 0; p-- {
			dst = encodePlane(dst, buf[p*n:(p+1)*n], h)
			if len(dst)-start >= len(raw)+2 {
				break
			}
		}
	}
	if len(dst)-start >= len(raw)+2 {
		return append(append(dst[:start], losslessVersion, 0), raw...), nil
	}
	return dst, nil
}

// encodePlane codes a plane of bytes: run, Huffman, or raw when the
// entropy estimate plus 1.5% (Huffman's integer lengths, measured on
// exponents) does not save 0.5%. That keeps near-random mantissa bytes raw:
// coding them would save under 2% of their plane and decode at a byte or
// so per table lookup. A long plane whose first 64 KiB fail the same test
// (at 0.3%) is stored raw without counting the rest.
func encodePlane(dst, plane []byte, h *huffCoder) []byte {
	const sample = 64 << 10
	h.count = [huffMaxSym]uint32{}
	if len(plane) >= 2*sample {
		countBytes(plane[:sample], &h.count)
		if h.setCounts() > 1 && h.estimate(sample) >= sample*0.997 {
			return append(append(dst, modeRaw), plane...)
		}
		countBytes(plane[sample:], &h.count)
	} else {
		countBytes(plane, &h.count)
	}
	return encodeCounted(dst, plane, h, true)
}

// encodeCounted codes syms whose counts are in h.count.
func encodeCounted[S byte | uint16](dst []byte, syms []S, h *huffCoder, rawOK bool) []byte {
	n := len(syms)
	if h.setCounts() == 1 {
		return binary.AppendUvarint(append(dst, modeRun), uint64(syms[0]))
	}
	if rawOK && h.estimate(n) >= float64(n)*0.995 {
		return append(append(dst, modeRaw), toBytes(syms)...)
	}
	start := len(dst)
	dst = huffEncode(append(dst, modeHuff), syms, h)
	if rawOK && len(dst)-start > n {
		return append(append(dst[:start], modeRaw), toBytes(syms)...)
	}
	return dst
}

func toBytes[S byte | uint16](s []S) []byte {
	if b, ok := any(s).([]byte); ok {
		return b
	}
	panic("vsdb: lossless: raw plane of wide symbols")
}

// countBytes adds the byte histogram of p to count, four tables at a time.
func countBytes(p []byte, count *[huffMaxSym]uint32) {
	var c [4][256]uint32
	i := 0
	for ; i+4 <= len(p); i += 4 {
		c[0][p[i]]++
		c[1][p[i+1]]++
		c[2][p[i+2]]++
		c[3][p[i+3]]++
	}
	for ; i < len(p); i++ {
		c[0][p[i]]++
	}
	for s := 0; s < 256; s++ {
		count[s] += c[0][s] + c[1][s] + c[2][s] + c[3][s]
	}
}

// encode16 codes 2-byte elements: k, the symbol plane, the low bits.
func encode16(dst, raw []byte, n int, h *huffCoder) []byte {
	// Histograms of the top 10 bits and of the low byte of the rotated values.
	var top [4][1024]uint32
	var low [256]uint32
	i := 0
	for ; i+4 <= n; i += 4 {
		v0 := bits.RotateLeft16(binary.LittleEndian.Uint16(raw[2*i:]), 1)
		v1 := bits.RotateLeft16(binary.LittleEndian.Uint16(raw[2*i+2:]), 1)
		v2 := bits.RotateLeft16(binary.LittleEndian.Uint16(raw[2*i+4:]), 1)
		v3 := bits.RotateLeft16(binary.LittleEndian.Uint16(raw[2*i+6:]), 1)
		top[0][v0>>6]++
		top[1][v1>>6]++
		top[2][v2>>6]++
		top[3][v3>>6]++
	}
	for ; i < n; i++ {
		top[0][bits.RotateLeft16(binary.LittleEndian.Uint16(raw[2*i:]), 1)>>6]++
	}
	for s := range top[0] {
		top[0][s] += top[1][s] + top[2][s] + top[3][s]
	}
	// The low byte matters only for k = 0; count it on a sample first.
	step := max(1, n/4096)
	sampled := 0
	for i := 0; i < n; i += step {
		low[raw[2*i]<<1|raw[2*i+1]>>7]++ // low byte of the rotated value
		sampled++
	}
	bestK, bestCost := 0, 0.0
	for k := 0; k <= 2; k++ {
		h.count = [huffMaxSym]uint32{}
		for s, c := range top[0] {
			h.count[s>>(2-k)] += c
		}
		h.setCounts()
		cost := h.size()
		if k == 0 {
			var lc huffCoder
			copy(lc.count[:], low[:])
			lc.setCounts()
			cost += min(float64(n), lc.estimate(sampled)*float64(n)/float64(sampled))
		} else {
			cost += float64(n*(8-k)) / 8
		}
		if k == 0 || cost < bestCost {
			bestK, bestCost = k, cost
		}
	}
	k := bestK
	dst = append(dst, byte(k))
	h.count = [huffMaxSym]uint32{}
	for s, c := range top[0] {
		h.count[s>>(2-k)] += c
	}
	w := uint(8 - k)
	if k == 0 {
		bp := getBuf(2 * n)
		defer bufs.Put(bp)
		tb, lb := (*bp)[:n], (*bp)[n:2*n]
		for i := 0; i < n; i++ {
			v := bits.RotateLeft16(binary.LittleEndian.Uint16(raw[2*i:]), 1)
			tb[i], lb[i] = byte(v>>8), byte(v)
		}
		dst = encodeCounted(dst, tb, h, true)
		return encodePlane(dst, lb, h)
	}
	sp := getU16(n)
	defer u16s.Put(sp)
	syms := *sp
	// The low bits go after the symbol plane, whose size is not known yet.
	lowLen := (n*int(w) + 7) / 8
	lp := getBuf(lowLen + 8)
	defer bufs.Put(lp)
	lowb := (*lp)[:lowLen+8]
	mask := uint64(1)<<w - 1
	i = 0
	if w == 7 {
		i = pack7(raw, syms, lowb, n)
	} else {
		i = pack6(raw, syms, lowb, n)
	}
	clear(lowb[i/8*int(w):])
	for ; i < n; i++ {
		v := bits.RotateLeft16(binary.LittleEndian.Uint16(raw[2*i:]), 1)
		syms[i] = v >> w
		bit := uint(i) * w
		f := uint16(uint64(v)&mask) << (bit % 8)
		lowb[bit/8] |= byte(f)
		lowb[bit/8+1] |= byte(f >> 8)
	}
	dst = encodeCounted(dst, syms, h, false)
	return append(dst, lowb[:lowLen]...)
}

// splitPlanes writes plane p of raw (n elements of k bytes) to buf[p*n:],
// rotating 4- and 8-byte elements left by one bit.
func splitPlanes(buf, raw []byte, k, n int) {
	switch k {
	case 4:
		p0, p1, p2, p3 := buf[:n], buf[n:2*n], buf[2*n:3*n], buf[3*n:4*n]
		raw = raw[:4*n]
		for i := range p0 {
			v := bits.RotateLeft32(binary.LittleEndian.Uint32(raw[4*i:]), 1)
			p0[i], p1[i], p2[i], p3[i] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		}
	case 8:
		for i := 0; i < n; i++ {
			v := bits.RotateLeft64(binary.LittleEndian.Uint64(raw[8*i:]), 1)
			for p := 0; p < 8; p++ {
				buf[p*n+i] = byte(v >> (8 * p))
			}
		}
	default:
		for i := 0; i < n; i++ {
			for p := 0; p < k; p++ {
				buf[p*n+i] = raw[i*k+p]
			}
		}
	}
}

// joinPlanes is the inverse of splitPlanes; planes[p] holds byte p.
func joinPlanes(raw []byte, planes [][]byte, k, n int) {
	switch k {
	case 4:
		p0, p1, p2, p3 := planes[0][:n], planes[1][:n], planes[2][:n], planes[3][:n]
		raw = raw[:4*n]
		for i := joinRot32(raw, p0, p1, p2, p3, n); i < n; i++ {
			v := uint32(p0[i]) | uint32(p1[i])<<8 | uint32(p2[i])<<16 | uint32(p3[i])<<24
			binary.LittleEndian.PutUint32(raw[4*i:], bits.RotateLeft32(v, -1))
		}
	case 8:
		for i := 0; i < n; i++ {
			var v uint64
			for p := 0; p < 8; p++ {
				v |= uint64(planes[p][i]) << (8 * p)
			}
			binary.LittleEndian.PutUint64(raw[8*i:], bits.RotateLeft64(v, -1))
		}
	default:
		for i := 0; i < n; i++ {
			for p := 0; p < k; p++ {
				raw[i*k+p] = planes[p][i]
			}
		}
	}
}

// Decode implements Codec.
func (Lossless) Decode(raw, enc []byte, elemSize int) error {
	if len(enc) < 2 || enc[0] != losslessVersion {
		return fmt.Errorf("%w: bad header", errCorrupt)
	}
	if enc[1] == 0 {
		if len(enc)-2 != len(raw) {
			return fmt.Errorf("%w: raw chunk of %d bytes, want %d", errCorrupt, len(enc)-2, len(raw))
		}
		copy(raw, enc[2:])
		return nil
	}
	if int(enc[1]) != elemSize || elemSize < 1 || elemSize > 8 || len(raw)%elemSize != 0 || len(raw) == 0 {
		return fmt.Errorf("%w: bad header", errCorrupt)
	}
	n := len(raw) / elemSize
	if v, w := binary.Uvarint(enc[2:]); w <= 0 || v != uint64(n) {
		return fmt.Errorf("%w: chunk of %d elements, want %d", errCorrupt, v, n)
	}
	_, pos := binary.Uvarint(enc[2:])
	pos += 2
	d := huffDecoders.Get().(*huffDecoder)
	defer huffDecoders.Put(d)
	var err error
	switch elemSize {
	case 1:
		var p []byte
		p, pos, err = decodePlane(raw, enc, pos, d)
		if err == nil && len(p) > 0 {
			copy(raw, p)
		}
	case 2:
		pos, err = decode16(raw, enc, pos, n, d)
	default:
		bp := getBuf(len(raw))
		defer bufs.Put(bp)
		var planes [8][]byte
		for p := elemSize - 1; p >= 0 && err == nil; p-- {
			planes[p], pos, err = decodePlane((*bp)[p*n:(p+1)*n], enc, pos, d)
		}
		if err == nil {
			joinPlanes(raw, planes[:elemSize], elemSize, n)
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %v", errCorrupt, err)
	}
	if pos != len(enc) {
		return fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(enc)-pos)
	}
	return nil
}

// decodePlane decodes the byte plane at enc[pos:] into buf (its length is
// the plane's) and returns the plane's bytes: buf, or for a raw plane the
// bytes inside enc.
func decodePlane(buf, enc []byte, pos int, d *huffDecoder) ([]byte, int, error) {
	n := len(buf)
	if pos >= len(enc) {
		return nil, 0, errors.New("truncated")
	}
	mode := enc[pos]
	pos++
	switch mode {
	case modeRaw:
		if len(enc)-pos < n {
			return nil, 0, errors.New("truncated raw plane")
		}
		return enc[pos : pos+n], pos + n, nil
	case modeRun:
		v, w := binary.Uvarint(enc[pos:])
		if w <= 0 || v > 255 {
			return nil, 0, errors.New("bad run")
		}
		for i := range buf {
			buf[i] = byte(v)
		}
		return buf, pos + w, nil
	case modeHuff:
		used, err := d.readTable(enc[pos:], 256)
		if err != nil {
			return nil, 0, err
		}
		pos += used
		for _, s := range d.asc {
			d.vals[s] = uint64(s)
		}
		st, used, err := huffSplit(enc[pos:])
		if err != nil {
			return nil, 0, err
		}
		pos += used
		t := huffTables.Get().(*huffTable)
		defer huffTables.Put(t)
		d.buildTable(t, 1, n >= 4096)
		if err := huffDecode(buf, &st, t, n, 1); err != nil {
			return nil, 0, err
		}
		return buf, pos, nil
	}
	return nil, 0, fmt.Errorf("unknown plane mode %d", mode)
}

// decode16 decodes the body of a chunk of 2-byte elements into raw: first
// each element's symbol s as s<<w (w = 8-k; the low w bits may hold
// anything), then mergeLow puts in the low bits and rotates.
func decode16(raw, enc []byte, pos, n int, d *huffDecoder) (int, error) {
	if pos >= len(enc) || enc[pos] > 2 {
		return 0, errors.New("bad k")
	}
	k := uint(enc[pos])
	pos++
	w := 8 - k
	if pos >= len(enc) {
		return 0, errors.New("truncated")
	}
	mode := enc[pos]
	pos++
	switch {
	case mode == modeRun:
		v, wd := binary.Uvarint(enc[pos:])
		if wd <= 0 || v >= 1<<(8+k) {
			return 0, errors.New("bad run")
		}
		pos += wd
		fv := v << w * 0x0001000100010001
		i := 0
		for ; i+8 <= 2*n; i += 8 {
			binary.LittleEndian.PutUint64(raw[i:], fv)
		}
		for ; i < 2*n; i += 2 {
			binary.LittleEndian.PutUint16(raw[i:], uint16(fv))
		}
	case mode == modeRaw && k == 0:
		if len(enc)-pos < n {
			return 0, errors.New("truncated raw plane")
		}
		src := enc[pos : pos+n]
		for i, b := range src {
			raw[2*i+1] = b
		}
		pos += n
	case mode == modeHuff:
		used, err := d.readTable(enc[pos:], 1<<(8+k))
		if err != nil {
			return 0, err
		}
		pos += used
		for _, s := range d.asc {
			d.vals[s] = uint64(s) << w
		}
		st, used, err := huffSplit(enc[pos:])
		if err != nil {
			return 0, err
		}
		pos += used
		t := huffTables.Get().(*huffTable)
		defer huffTables.Put(t)
		d.buildTable(t, 2, n >= 4096)
		// The whole plane before the low bits: interleaving the two by
		// parts measured slower (the merge evicts the table from L1).
		if err := huffDecode(raw, &st, t, n, 2); err != nil {
			return 0, err
		}
	default:
		return 0, fmt.Errorf("bad symbol plane mode %d", mode)
	}
	var low []byte
	var err error
	if k == 0 {
		bp := getBuf(n)
		defer bufs.Put(bp)
		low, pos, err = decodePlane(*bp, enc, pos, d)
	} else {
		low, pos, err = lowBits(enc, pos, n, w)
	}
	if err != nil {
		return 0, err
	}
	mergeLow(raw, low, 0, n, w)
	return pos, nil
}

// lowBits returns the packed low bits of n elements at enc[pos:] and the
// position after them.
func lowBits(enc []byte, pos, n int, w uint) ([]byte, int, error) {
	l := (n*int(w) + 7) / 8
	if len(enc)-pos < l {
		return nil, 0, errors.New("truncated low bits")
	}
	low := enc[pos : pos+l]
	// the padding bits of the last byte must be zero
	if r := uint(n*int(w)) % 8; r != 0 && low[l-1]>>r != 0 {
		return nil, 0, errors.New("bad low bits padding")
	}
	return low, pos + l, nil
}

// mergeLow finishes elements lo..hi-1 of raw, 2-byte values u whose top
// 16-w bits are the symbol: with f the element's low field (w bits, packed
// LSB first at bit w*i of low), each becomes rotr16(u&^(1<<w-1) | f, 1).
func mergeLow(raw, low []byte, lo, hi int, w uint) {
	fmask := uint64(1)<<w - 1
	keep4 := (uint64(1)<<(w-1) - 1) * 0x0001000100010001
	high4 := (uint64(0x7fff) &^ (uint64(1)<<(w-1) - 1)) * 0x0001000100010001
	const sign4 = 0x0001000100010001
	i := lo
	one := func(i int) {
		bit := uint(i) * w
		f := uint64(low[bit/8]) >> (bit % 8)
		if bit%8+w > 8 {
			f |= uint64(low[bit/8+1]) << (8 - bit%8)
		}
		u := uint64(binary.LittleEndian.Uint16(raw[2*i:]))&^fmask | f&fmask
		binary.LittleEndian.PutUint16(raw[2*i:], uint16(u>>1|u<<15))
	}
	for ; i < hi && i%8 != 0; i++ {
		one(i)
	}
	if i < hi {
		i += mergeLowFast(raw[2*i:2*hi], low[i/8*int(w):], hi-i, w)
	}
	// eight elements (w bytes of fields) per step
	for g := i / 8 * int(w); i+8 <= hi && g+8 <= len(low); g += int(w) {
		x := binary.LittleEndian.Uint64(low[g:])
		a := x&fmask | x<<(16-w)&(fmask<<16) | x<<(32-2*w)&(fmask<<32) | x<<(48-3*w)&(fmask<<48)
		y := x >> (4 * w)
		b := y&fmask | y<<(16-w)&(fmask<<16) | y<<(32-2*w)&(fmask<<32) | y<<(48-3*w)&(fmask<<48)
		o := raw[2*i : 2*i+16]
		ua, ub := binary.LittleEndian.Uint64(o), binary.LittleEndian.Uint64(o[8:])
		a = ua>>1&high4 | a>>1&keep4 | (a&sign4)<<15
		b = ub>>1&high4 | b>>1&keep4 | (b&sign4)<<15
		binary.LittleEndian.PutUint64(o, a)
		binary.LittleEndian.PutUint64(o[8:], b)
		i += 8
	}
	for ; i < hi; i++ {
		one(i)
	}
}

var u16s sync.Pool // *[]uint16 symbol buffers

func getU16(n int) *[]uint16 {
	if b, ok := u16s.Get().(*[]uint16); ok && cap(*b) >= n {
		*b = (*b)[:n]
		return b
	}
	b := make([]uint16, n)
	return &b
}

// pack7 splits the first n/8*8 rotated 2-byte elements of raw into their
// top 9 bits (syms) and their low 7 bits, packed into low; it returns
// how many elements it did. Eight at a time, four per 64-bit word.
func pack7(raw []byte, syms []uint16, low []byte, n int) int {
	const (
		mask = 1<<7 - 1
		m4   = mask * 0x0001000100010001
		s4   = (1<<(16-7) - 1) * 0x0001000100010001
	)
	lane := func(x uint64) (sym, lo uint64) {
		x = x<<1&0xfffefffefffefffe | x>>15&0x0001000100010001
		f := x & m4
		return x >> 7 & s4, f&mask | f>>(16-7)&(mask<<7) | f>>(32-2*7)&(mask<<(2*7)) | f>>(48-3*7)&(mask<<(3*7))
	}
	i := 0
	for g := 0; i+8 <= n; g += 7 {
		r := raw[2*i : 2*i+16]
		sa, la := lane(binary.LittleEndian.Uint64(r))
		sb, lb := lane(binary.LittleEndian.Uint64(r[8:]))
		ss := syms[i : i+8]
		ss[0], ss[1], ss[2], ss[3] = uint16(sa), uint16(sa>>16), uint16(sa>>32), uint16(sa>>48)
		ss[4], ss[5], ss[6], ss[7] = uint16(sb), uint16(sb>>16), uint16(sb>>32), uint16(sb>>48)
		binary.LittleEndian.PutUint64(low[g:], la|lb<<(4*7))
		i += 8
	}
	return i
}

// pack6 splits the first n/8*8 rotated 2-byte elements of raw into their
// top 10 bits (syms) and their low 6 bits, packed into low; it returns
// how many elements it did. Eight at a time, four per 64-bit word.
func pack6(raw []byte, syms []uint16, low []byte, n int) int {
	const (
		mask = 1<<6 - 1
		m4   = mask * 0x0001000100010001
		s4   = (1<<(16-6) - 1) * 0x0001000100010001
	)
	lane := func(x uint64) (sym, lo uint64) {
		x = x<<1&0xfffefffefffefffe | x>>15&0x0001000100010001
		f := x & m4
		return x >> 6 & s4, f&mask | f>>(16-6)&(mask<<6) | f>>(32-2*6)&(mask<<(2*6)) | f>>(48-3*6)&(mask<<(3*6))
	}
	i := 0
	for g := 0; i+8 <= n; g += 6 {
		r := raw[2*i : 2*i+16]
		sa, la := lane(binary.LittleEndian.Uint64(r))
		sb, lb := lane(binary.LittleEndian.Uint64(r[8:]))
		ss := syms[i : i+8]
		ss[0], ss[1], ss[2], ss[3] = uint16(sa), uint16(sa>>16), uint16(sa>>32), uint16(sa>>48)
		ss[4], ss[5], ss[6], ss[7] = uint16(sb), uint16(sb>>16), uint16(sb>>32), uint16(sb>>48)
		binary.LittleEndian.PutUint64(low[g:], la|lb<<(4*6))
		i += 8
	}
	return i
}
