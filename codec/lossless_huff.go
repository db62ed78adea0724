package codec

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"slices"
	"sync"
	"unsafe"
)

// The lossless codec's entropy coder: canonical Huffman codes of at most
// huffMaxLen bits over an alphabet of up to 1024 symbols, four interleaved
// MSB-first bit streams per coded plane, decoded with a multi-symbol table
// (one 2^huffMaxLen-entry lookup yields every whole code in the next
// huffMaxLen bits: up to six byte symbols or three 16-bit symbols), the
// four streams at once, interleaved, so that their four dependency chains
// (window, table load, shift) overlap (lossless_amd64.s on amd64 with
// BMI2). Lengths are limited with package-merge, so the limit costs what
// it must.
//
// A coded plane is laid out as
//
//	uvarint lo, uvarint span-1          symbols lo .. lo+span-1
//	ceil(span/8) bytes                  bitmap of the symbols present (LSB first;
//	                                    lo and lo+span-1 present, no bits past span)
//	ceil(count/2) bytes                 code lengths 1..12 of the present symbols,
//	                                    ascending, low nibble first (count ≥ 2)
//	4 × uvarint                         byte lengths of the four streams
//	the four streams                    stream i codes symbols [n*i/4, n*(i+1)/4)
//
// Codes are canonical (ordered by length, then symbol); the lengths must
// fill the code space exactly (Kraft sum 1) and each stream must end within
// its last byte, padded with zero bits.

const (
	huffMaxLen  = 12
	huffTabSize = 1 << huffMaxLen
	huffMaxSym  = 1024
	huffStreams = 4
	huffLookups = 4 // lookups per refill of the bit buffer (≥ 56 bits)
)

var errHuff = errors.New("bad huffman plane")

// huffTable is a decoding table of 2^bits entries, indexed by the next
// bits bits of a stream. An entry holds every whole code in its window
// (up to huffMaxN(width) of them) as their output values, ready to be
// stored as one little-endian word:
//
//	width 1: bits 0..5 the bits its codes take (6, 7 zero), 8..55 the
//	         symbol bytes
//	width 2: bits 0..47 the 16-bit values, whose low six bits are zero (the
//	         raw low bits go there later), so that bits 0..3 hold the bits
//	         its codes take (4, 5 zero)
//
// and in both bits 56..59 the length of the first code and 60..63 how many
// output bytes it fills. A shift by the entry consumes its bits.
type huffTable struct {
	e    [huffTabSize]uint64
	bits uint
}

var huffTables = sync.Pool{New: func() any { return new(huffTable) }}

// huffCoder holds an encoder's code for one plane.
type huffCoder struct {
	lo, span int
	count    [huffMaxSym]uint32
	code     [huffMaxSym]uint16
	length   [huffMaxSym]uint8
	syms     []uint16 // present symbols, ascending
	sorted   []uint16 // present symbols by ascending count
	lens     []uint8  // scratch
	out      []byte   // scratch for the streams
}

var huffCoders = sync.Pool{New: func() any { return new(huffCoder) }}

// setCounts lists the symbols present in h.count; it returns how many.
func (h *huffCoder) setCounts() int {
	h.syms = h.syms[:0]
	lo, hi := -1, -1
	for s, c := range h.count {
		if c != 0 {
			if lo < 0 {
				lo = s
			}
			hi = s
			h.syms = append(h.syms, uint16(s))
		}
	}
	h.lo, h.span = lo, hi-lo+1
	return len(h.syms)
}

// estimate returns an estimate in bytes of the coded size of n symbols
// with the counts in h (entropy plus table), without building the code.
func (h *huffCoder) estimate(n int) float64 {
	if n == 0 {
		return 0
	}
	var bitsTotal float64
	ln := log2(float64(n))
	for _, s := range h.syms {
		c := float64(h.count[s])
		bitsTotal += c * (ln - log2(c))
	}
	// Huffman's integer lengths cost ~1.5% over the entropy on weights.
	return bitsTotal*1.015/8 + float64(h.span/8+len(h.syms)/2+12)
}

// size returns the exact size in bytes of the Huffman-coded plane for the
// counts in h (building the code), or a run's size for one symbol.
func (h *huffCoder) size() float64 {
	switch len(h.syms) {
	case 0:
		return 0
	case 1:
		return 4
	}
	h.build()
	var total uint64
	for _, s := range h.syms {
		total += uint64(h.count[s]) * uint64(h.length[s])
	}
	return float64(total/8) + float64(h.span/8+len(h.syms)/2+12+huffStreams)
}

// build computes the code lengths and canonical codes for the present
// symbols (at least two).
func (h *huffCoder) build() {
	m := len(h.syms)
	h.sorted = append(h.sorted[:0], h.syms...)
	sortByCount(h.sorted, &h.count)
	a := make([]int64, m) // Moffat–Katajainen, in place
	for i, s := range h.sorted {
		a[i] = int64(h.count[s])
	}
	minimumRedundancy(a)
	h.lens = h.lens[:0]
	longest := int64(0)
	for i := range a {
		h.lens = append(h.lens, uint8(min(a[i], 63)))
		longest = max(longest, a[i])
	}
	if longest > huffMaxLen {
		for i, s := range h.sorted {
			a[i] = int64(h.count[s])
		}
		packageMerge(a, h.lens, huffMaxLen)
	}
	for i, s := range h.sorted {
		h.length[s] = h.lens[i]
	}
	assignCodes(h.syms, &h.length, &h.code)
}

// sortByCount sorts syms by ascending count, ties by symbol.
func sortByCount(syms []uint16, count *[huffMaxSym]uint32) {
	slices.SortFunc(syms, func(a, b uint16) int {
		if count[a] != count[b] {
			if count[a] < count[b] {
				return -1
			}
			return 1
		}
		return int(a) - int(b)
	})
}

// minimumRedundancy turns ascending weights into Huffman code lengths
// (Moffat and Katajainen, "In-place calculation of minimum-redundancy
// codes", 1995).
func minimumRedundancy(a []int64) {
	n := len(a)
	if n == 1 {
		a[0] = 1
		return
	}
	a[0] += a[1]
	root, leaf := 0, 2
	for next := 1; next < n-1; next++ {
		if leaf >= n || a[root] < a[leaf] {
			a[next] = a[root]
			a[root] = int64(next)
			root++
		} else {
			a[next] = a[leaf]
			leaf++
		}
		if leaf >= n || (root < next && a[root] < a[leaf]) {
			a[next] += a[root]
			a[root] = int64(next)
			root++
		} else {
			a[next] += a[leaf]
			leaf++
		}
	}
	a[n-2] = 0
	for next := n - 3; next >= 0; next-- {
		a[next] = a[a[next]] + 1
	}
	avbl, used, dpth := 1, 0, int64(0)
	root, next := n-2, n-1
	for avbl > 0 {
		for root >= 0 && a[root] == dpth {
			used++
			root--
		}
		for avbl > used {
			a[next] = dpth
			next--
			avbl--
		}
		avbl, dpth, used = 2*used, dpth+1, 0
	}
}

// packageMerge sets lens to optimal code lengths of at most max bits for
// the ascending weights w (Larmore and Hirschberg's package-merge): the
// lists at each depth are merges of the leaves with the pairs ("packages")
// of the list below; the code takes the first 2n-2 items at depth 1, and
// those are a prefix of every list, so a symbol's length is the number of
// depths whose chosen prefix includes its leaf.
func packageMerge(w []int64, lens []uint8, max int) {
	n := len(w)
	flags := make([][]bool, max+1) // flags[d][j]: item j of depth d's list is a leaf
	prev := append([]int64(nil), w...)
	flags[max] = make([]bool, n)
	for j := range flags[max] {
		flags[max][j] = true
	}
	cur := make([]int64, 0, 2*n)
	for d := max - 1; d >= 1; d-- {
		cur = cur[:0]
		f := make([]bool, 0, 2*n)
		li, pi := 0, 0
		np := len(prev) / 2
		for li < n || pi < np {
			if pi >= np || li < n && w[li] <= prev[2*pi]+prev[2*pi+1] {
				cur = append(cur, w[li])
				f = append(f, true)
				li++
			} else {
				cur = append(cur, prev[2*pi]+prev[2*pi+1])
				f = append(f, false)
				pi++
			}
		}
		flags[d] = f
		prev, cur = cur, prev
	}
	for i := range lens {
		lens[i] = 0
	}
	m := 2*n - 2
	for d := 1; d <= max && m > 0; d++ {
		leaves := 0
		for _, leaf := range flags[d][:m] {
			if leaf {
				lens[leaves]++
				leaves++
			}
		}
		m = 2 * (m - leaves)
	}
}

// assignCodes gives the symbols (ascending) canonical codes for their
// lengths.
func assignCodes(syms []uint16, length *[huffMaxSym]uint8, code *[huffMaxSym]uint16) {
	var blCount [huffMaxLen + 1]int
	for _, s := range syms {
		blCount[length[s]]++
	}
	var next [huffMaxLen + 2]int
	c := 0
	for l := 1; l <= huffMaxLen; l++ {
		c = (c + blCount[l-1]) << 1
		next[l] = c
	}
	for _, s := range syms {
		l := length[s]
		code[s] = uint16(next[l])
		next[l]++
	}
}

// appendTable writes the plane header's table part.
func (h *huffCoder) appendTable(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(h.lo))
	dst = binary.AppendUvarint(dst, uint64(h.span-1))
	start := len(dst)
	dst = append(dst, make([]byte, (h.span+7)/8)...)
	for _, s := range h.syms {
		i := int(s) - h.lo
		dst[start+i/8] |= 1 << (i % 8)
	}
	for i := 0; i < len(h.syms); i += 2 {
		b := h.length[h.syms[i]]
		if i+1 < len(h.syms) {
			b |= h.length[h.syms[i+1]] << 4
		}
		dst = append(dst, b)
	}
	return dst
}

// huffEncode appends the coded plane of syms (the counts in h must be
// those of syms, with at least two distinct symbols).
func huffEncode[S byte | uint16](dst []byte, syms []S, h *huffCoder) []byte {
	h.build()
	dst = h.appendTable(dst)
	n := len(syms)
	need := n*huffMaxLen/8 + 8*huffStreams + 8
	if cap(h.out) < need {
		h.out = make([]byte, need)
	}
	out := h.out[:need]
	var ends [huffStreams]int
	o := 0
	var tab [huffMaxSym]uint32
	for _, s := range h.syms {
		tab[s] = uint32(h.code[s])<<8 | uint32(h.length[s])
	}
	for st := 0; st < huffStreams; st++ {
		seg := syms[n*st/huffStreams : n*(st+1)/huffStreams]
		// acc holds nb pending bits (right-aligned, older bits above them
		// are stale); every four codes (≤ 48 bits) the whole bytes go out
		// as one 8-byte store, without branches.
		var acc uint64
		var nb uint
		i := 0
		for ; i+4 <= len(seg); i += 4 {
			c0 := tab[uint16(seg[i])&(huffMaxSym-1)]
			c1 := tab[uint16(seg[i+1])&(huffMaxSym-1)]
			c2 := tab[uint16(seg[i+2])&(huffMaxSym-1)]
			c3 := tab[uint16(seg[i+3])&(huffMaxSym-1)]
			acc = acc<<(c0&15) | uint64(c0>>8)
			acc = acc<<(c1&15) | uint64(c1>>8)
			acc = acc<<(c2&15) | uint64(c2>>8)
			acc = acc<<(c3&15) | uint64(c3>>8)
			nb += uint(c0&15 + c1&15 + c2&15 + c3&15)
			binary.BigEndian.PutUint64(out[o:], acc<<(64-nb))
			o += int(nb >> 3)
			nb &= 7
		}
		for ; i < len(seg); i++ {
			c := tab[uint16(seg[i])&(huffMaxSym-1)]
			acc = acc<<(c&15) | uint64(c>>8)
			nb += uint(c & 15)
		}
		for nb >= 8 {
			nb -= 8
			out[o] = byte(acc >> nb)
			o++
		}
		if nb > 0 {
			out[o] = byte(acc << (8 - nb))
			o++
		}
		ends[st] = o
	}
	prev := 0
	for _, e := range ends {
		dst = binary.AppendUvarint(dst, uint64(e-prev))
		prev = e
	}
	return append(dst, out[:o]...)
}

// huffDecoder reads a coded plane's table.
type huffDecoder struct {
	asc   []uint16 // present symbols, ascending
	syms  []uint16 // present symbols in canonical order (length, symbol)
	lens  [huffMaxSym]uint8
	codes [huffMaxSym]uint16
	vals  [huffMaxSym]uint64
	b     tableBuilder
}

var huffDecoders = sync.Pool{New: func() any { return new(huffDecoder) }}

// readTable parses the table at the start of enc, checks that every symbol
// is below limit and that the code is complete, and returns the bytes used.
func (d *huffDecoder) readTable(enc []byte, limit int) (int, error) {
	lo, w1 := binary.Uvarint(enc)
	if w1 <= 0 {
		return 0, errHuff
	}
	sp, w2 := binary.Uvarint(enc[w1:])
	if w2 <= 0 || lo >= uint64(limit) || sp >= uint64(limit) || lo+sp >= uint64(limit) {
		return 0, errHuff
	}
	pos := w1 + w2
	span := int(sp) + 1
	nb := (span + 7) / 8
	if len(enc)-pos < nb {
		return 0, errHuff
	}
	bm := enc[pos : pos+nb]
	pos += nb
	var byLen [huffMaxLen + 1]int
	count := 0
	for i := 0; i < span; i++ {
		if bm[i/8]>>(i%8)&1 != 0 {
			count++
		}
	}
	// canonical: symbols lo and lo+span-1 are present, no bits past span
	if bm[0]&1 == 0 || bm[(span-1)/8]>>((span-1)%8) != 1 {
		return 0, errHuff
	}
	if count < 2 || len(enc)-pos < (count+1)/2 {
		return 0, errHuff
	}
	lb := enc[pos : pos+(count+1)/2]
	pos += (count + 1) / 2
	if count%2 == 1 && lb[len(lb)-1]>>4 != 0 {
		return 0, errHuff
	}
	d.asc = d.asc[:0]
	j := 0
	kraft := 0
	for i := 0; i < span; i++ {
		if bm[i/8]>>(i%8)&1 == 0 {
			continue
		}
		l := lb[j/2] >> (4 * (j % 2)) & 15
		j++
		if l == 0 || l > huffMaxLen {
			return 0, errHuff
		}
		s := uint16(int(lo) + i)
		d.lens[s] = l
		byLen[l]++
		kraft += huffTabSize >> l
		d.asc = append(d.asc, s)
	}
	if kraft != huffTabSize {
		return 0, errHuff
	}
	// canonical order: by length, then symbol
	var start [huffMaxLen + 2]int
	for l := 1; l <= huffMaxLen; l++ {
		start[l+1] = start[l] + byLen[l]
	}
	d.syms = append(d.syms[:0], d.asc...)
	for _, s := range d.asc {
		l := d.lens[s]
		d.syms[start[l]] = s
		start[l]++
	}
	assignCodes(d.asc, &d.lens, &d.codes)
	return pos, nil
}

// buildTable fills t for the code read by readTable, each symbol s
// standing for the output value d.vals[s] of width bytes (1 or 2; for 2
// the low six bits of every value must be zero). With multi the table has
// huffMaxLen-bit windows and several symbols per entry; without, one symbol
// per entry and windows as long as the longest code (cheaper to build for
// small planes).
func (d *huffDecoder) buildTable(t *huffTable, width int, multi bool) {
	b := &d.b
	b.maxN = 1
	t.bits = 1
	for _, s := range d.syms {
		t.bits = max(t.bits, uint(d.lens[s]))
	}
	if multi {
		b.maxN = huffMaxN(width)
		t.bits = huffMaxLen
	}
	b.width = uint64(width)
	base := uint(8)
	if width == 2 {
		base = 0
	}
	m := len(d.syms)
	b.lens, b.codes = b.lens[:0], b.codes[:0]
	for i, s := range d.syms {
		b.lens = append(b.lens, uint(d.lens[s]))
		b.codes = append(b.codes, int(d.codes[s]))
		for k := 0; k < b.maxN; k++ {
			b.vals[k][i] = d.vals[s] << (base + 8*uint(width*k)&63)
		}
	}
	// b.upTo[r]: how many symbols have codes of at most r bits
	for r := 0; r <= huffMaxLen; r++ {
		c := 0
		for c < m && b.lens[c] <= uint(r) {
			c++
		}
		b.upTo[r] = c
	}
	b.memo = [huffMaxNAll][huffMaxLen + 1][]uint64{}
	b.store = b.store[:0]
	b.fill(t.e[:1<<t.bits], 0, t.bits)
}

// huffMaxN is how many symbols of width bytes an entry holds at most.
func huffMaxN(width int) int {
	if width == 2 {
		return 3
	}
	return 6
}

const huffMaxNAll = 6

// tableBuilder holds buildTable's per-code data, in canonical order.
type tableBuilder struct {
	maxN  int
	width uint64
	lens  []uint
	codes []int
	vals  [huffMaxNAll][huffMaxSym]uint64 // vals[k][i]: symbol i's value as the k-th of an entry
	upTo  [huffMaxLen + 1]int
	memo  [huffMaxNAll][huffMaxLen + 1][]uint64 // sub-tables by level and window bits
	store []uint64                              // the sub-tables' memory
}

// fill fills t, the 2^r windows of r bits that follow level whole codes,
// with the codes that fit in them from the level-th on (values in the
// level-th slot on, the bits they take, the bytes they fill and, at level
// 0, the first one's length). Canonical codes of at most r bits, aligned
// left, cover t from its start, in order; the windows past them decode
// nothing. The windows after a code of l bits are the same sub-table for
// every code of that length, built once and added to the code's fields.
func (b *tableBuilder) fill(t []uint64, level int, r uint) {
	end := 0
	n := b.upTo[r]
	for i := 0; i < n; i++ {
		l := b.lens[i]
		k := b.vals[level][i] | uint64(l) | b.width<<60
		if level == 0 {
			k |= uint64(l) << 56
		}
		lo := b.codes[i] << ((r - l) & 63)
		hi := lo + 1<<((r-l)&63)
		end = hi
		dst := t[lo:hi]
		if level+1 == b.maxN || b.upTo[r-l] == 0 {
			for j := range dst {
				dst[j] = k
			}
			continue
		}
		sub := b.memo[level+1][r-l]
		if sub == nil {
			at := len(b.store)
			b.store = append(b.store, make([]uint64, len(dst))...)
			sub = b.store[at : at+len(dst)]
			b.fill(sub, level+1, r-l)
			b.memo[level+1][r-l] = sub
		}
		for j, e := range sub[:len(dst)] {
			dst[j] = e + k
		}
	}
	clear(t[end:])
}

// huffStreams4 is a coded plane's four streams: stream i is
// all[start[i]:start[i+1]].
type huffStreams4 struct {
	all   []byte
	start [huffStreams + 1]int
}

// huffSplit reads the four stream lengths and returns the streams and the
// bytes used.
func huffSplit(enc []byte) (st huffStreams4, used int, err error) {
	pos := 0
	var lens [huffStreams]uint64
	total := uint64(0)
	for i := range lens {
		l, w := binary.Uvarint(enc[pos:])
		if w <= 0 || l > uint64(len(enc)) {
			return st, 0, errHuff
		}
		lens[i] = l
		total += l
		pos += w
	}
	if total > uint64(len(enc)-pos) {
		return st, 0, errHuff
	}
	st.all = enc[pos : pos+int(total)]
	for i, l := range lens {
		st.start[i+1] = st.start[i] + int(l)
	}
	return st, pos + int(total), nil
}

// huffDecode decodes a plane of n symbols of width bytes from the four
// streams into dst (len n*width). Stream i fills dst[w*(n*i/4) : w*(n*(i+1)/4)].
// The four streams are decoded together, interleaved, until one of them
// nears the end of its output or of the source; each stream's last symbols
// then one stream at a time. Bit positions count from st.all. For width 2
// the low six bits of each value are left undefined (they hold table bits;
// mergeLow replaces them).
func huffDecode(dst []byte, st *huffStreams4, t *huffTable, n, width int) error {
	s := huffState{shift: 64 - t.bits}
	var e [huffStreams]int
	for i := range e {
		s.o[i], e[i] = width*(n*i/huffStreams), width*(n*(i+1)/huffStreams)
		s.p[i] = 8 * st.start[i]
	}
	end := len(st.all) // loads may read into the next streams: memory-safe
	// Planes with smaller tables (under 4096 symbols) go one stream at a time.
	for t.bits == huffMaxLen {
		r := huffRounds4(s.p[0], end, e[0]-s.o[0])
		for i := 1; i < huffStreams; i++ {
			r = min(r, huffRounds4(s.p[i], end, e[i]-s.o[i]))
		}
		if r <= 0 {
			break
		}
		huffRun4(dst, st.all, t, &s, r, width)
	}
	for i := range e {
		o, p := s.o[i], s.p[i]
		for r := huffRounds(8*(end-8)-p, e[i]-o); r > 0; r = huffRounds(8*(end-8)-p, e[i]-o) {
			o, p = huffRun1(dst, st.all, t, o, p, r, width)
		}
		str := st.all[st.start[i]:st.start[i+1]]
		if err := huffTail(dst, str, t, o, e[i], p-8*st.start[i], width); err != nil {
			return err
		}
	}
	return nil
}

// huffState is the state of huffRun4: each stream's output offset in dst
// and bit position in src, and 64 minus the table's bits (always
// 64-huffMaxLen so far: huffDecode runs it on full tables only).
type huffState struct {
	o, p  [huffStreams]int
	shift uint
}

// huffRounds is how many rounds of huffLookups lookups a stream can run
// with bits bits before its last whole-word load position and room bytes
// of output.
func huffRounds(bits, room int) int {
	const roundOut = huffLookups*6 + 8 // lookups of at most 6 bytes, 8 of store slack
	return min(bits/(huffLookups*huffMaxLen), (room-roundOut)/(huffLookups*6))
}

// huffRounds4 is how many rounds huffRun4 can run on a stream at bit p of
// a source of end bytes with room bytes of output: it loads eight bytes at
// p/8, then eight bytes at most seven bytes further each round, and each
// round stores four eight-byte words, advancing at most six bytes a word.
func huffRounds4(p, end, room int) int {
	const roundOut = huffLookups*6 + 8
	return min((end-p>>3-8)/7, (room-roundOut)/(huffLookups*6))
}

// huffStoreShift is the shift that turns a table entry into the word to
// store for symbols of width bytes.
func huffStoreShift(width int) uint {
	if width == 2 {
		return 0
	}
	return 8
}

// huffRun4Go runs r rounds (huffLookups lookups, then a refill) on each of
// the four streams, two at a time (Go keeps two streams in registers), with
// a table of huffMaxLen bits.
// Each stream's bit buffer b holds c valid bits at its top (the bits from
// q-c to q, q the byte after the last one counted) and correct stream bits
// below them; the refill adds the whole bytes that fit, with a load whose
// address does not wait for the lookups (Giesen's bit reader, variant 4).
// The caller (huffRounds4) has made sure that every load and store stays
// inside src and dst.
func huffRun4Go(dst, src []byte, t *huffTable, s *huffState, r, width int) {
	d := unsafe.Pointer(unsafe.SliceData(dst))
	sp := unsafe.Pointer(unsafe.SliceData(src))
	sh := huffStoreShift(width)
	tab := &t.e
	for i := 0; i < huffStreams; i += 2 {
		pa, pb := s.p[i], s.p[i+1]
		ba := bits.ReverseBytes64(*(*uint64)(unsafe.Add(sp, pa>>3))) << (pa & 7)
		bb := bits.ReverseBytes64(*(*uint64)(unsafe.Add(sp, pb>>3))) << (pb & 7)
		ca, cb := 56-uint64(pa&7), 56-uint64(pb&7)
		qa, qb := pa>>3+7, pb>>3+7
		oa, ob := s.o[i], s.o[i+1]
		for n := r; n > 0; n-- {
			for k := 0; k < huffLookups; k++ {
				ea := tab[ba>>(64-huffMaxLen)]
				eb := tab[bb>>(64-huffMaxLen)]
				ba <<= ea & 63
				bb <<= eb & 63
				ca -= ea & 63
				cb -= eb & 63
				*(*uint64)(unsafe.Add(d, oa)) = ea >> sh
				*(*uint64)(unsafe.Add(d, ob)) = eb >> sh
				oa += int(ea >> 60)
				ob += int(eb >> 60)
			}
			xa := bits.ReverseBytes64(*(*uint64)(unsafe.Add(sp, qa)))
			xb := bits.ReverseBytes64(*(*uint64)(unsafe.Add(sp, qb)))
			ba |= xa >> ca
			bb |= xb >> cb
			qa += int(63-ca) >> 3
			qb += int(63-cb) >> 3
			ca |= 56
			cb |= 56
		}
		s.o[i], s.p[i] = oa, 8*qa-int(ca)
		s.o[i+1], s.p[i+1] = ob, 8*qb-int(cb)
	}
}

// huffRun1 runs r rounds on one stream at bit position pa (a load from
// pa, then huffLookups lookups).
func huffRun1(dst, src []byte, t *huffTable, oa, pa, r, width int) (int, int) {
	d := unsafe.Pointer(unsafe.SliceData(dst))
	a := unsafe.Pointer(unsafe.SliceData(src))
	sh, tb := huffStoreShift(width), (64-t.bits)&63
	for ; r > 0; r-- {
		ba := bits.ReverseBytes64(*(*uint64)(unsafe.Add(a, pa>>3))) << (pa & 7)
		for k := 0; k < huffLookups; k++ {
			ea := t.e[ba>>tb&(huffTabSize-1)]
			*(*uint64)(unsafe.Add(d, oa)) = ea >> sh
			oa += int(ea >> 60)
			ba <<= ea & 63
			pa += int(ea & 63)
		}
	}
	return oa, pa
}

// huffTail decodes a stream's last symbols one at a time, reading past its
// end as zeros, and checks that the stream ends in its last byte, padded
// with zero bits.
func huffTail(dst, s []byte, t *huffTable, o, end, p, width int) error {
	tb := (64 - t.bits) & 63
	for o < end {
		var x uint64
		q := p >> 3
		if q+8 <= len(s) {
			x = binary.BigEndian.Uint64(s[q:])
		} else {
			for j := 0; j < 8; j++ {
				x <<= 8
				if q+j < len(s) {
					x |= uint64(s[q+j])
				}
			}
		}
		x <<= p & 7
		e := t.e[x>>tb&(huffTabSize-1)]
		if width == 1 {
			dst[o] = byte(e >> 8)
		} else {
			binary.LittleEndian.PutUint16(dst[o:], uint16(e))
		}
		o += width
		p += int(e>>56) & 15
	}
	rem := 8*len(s) - p
	if rem < 0 || rem >= 8 || rem > 0 && s[len(s)-1]&(1<<rem-1) != 0 {
		return errHuff
	}
	return nil
}

func log2(x float64) float64 { return math.Log2(x) }
