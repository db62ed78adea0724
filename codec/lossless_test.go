package codec

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vsdb/vsdb/internal/allocbound"
)

// Special values of each float width, as little-endian bit patterns:
// NaNs with several payloads (quiet, signalling, negative), ±Inf, ±0, the
// smallest and largest denormals, the largest finite values, ±1.
var specials = map[int][]uint64{
	2: { // BF16 and F16 patterns alike
		0x7fc0, 0xffc0, 0x7f81, 0x7fff, 0xff81, 0x7e01, 0xfe00, 0x7c01, 0x7e00, 0xfc01,
		0x7f80, 0xff80, 0x7c00, 0xfc00, 0x0000, 0x8000,
		0x0001, 0x8001, 0x007f, 0x03ff, 0x807f,
		0x7f7f, 0xff7f, 0x7bff, 0x3f80, 0xbf80, 0x3c00,
	},
	4: {
		0x7fc00000, 0xffc00000, 0x7f800001, 0x7fffffff, 0xff800001, 0x7fa5a5a5,
		0x7f800000, 0xff800000, 0x00000000, 0x80000000,
		0x00000001, 0x80000001, 0x007fffff, 0x807fffff,
		0x7f7fffff, 0xff7fffff, 0x3f800000, 0xbf800000,
	},
	8: {
		0x7ff8000000000000, 0xfff8000000000000, 0x7ff0000000000001, 0x7fffffffffffffff, 0xfff0000000000001, 0x7ff5a5a5a5a5a5a5,
		0x7ff0000000000000, 0xfff0000000000000, 0, 0x8000000000000000,
		1, 0x8000000000000001, 0x000fffffffffffff, 0x800fffffffffffff,
		0x7fefffffffffffff, 0xffefffffffffffff, 0x3ff0000000000000, 0xbff0000000000000,
	},
}

// weights returns n elements of elemSize bytes that look like trained
// weights (Gaussian, σ 0.02), with every special value of that width mixed
// in at random places when withSpecials.
func weights(n, elemSize int, seed uint64, withSpecials bool) []byte {
	r := rand.New(rand.NewPCG(seed, 3))
	b := make([]byte, n*elemSize)
	for i := 0; i < n; i++ {
		f := r.NormFloat64() * 0.02
		switch elemSize {
		case 1:
			b[i] = byte(int8(f * 1000))
		case 2:
			binary.LittleEndian.PutUint16(b[2*i:], uint16(math.Float32bits(float32(f))>>16))
		case 4:
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(f)))
		case 8:
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(f))
		default:
			for j := 0; j < elemSize; j++ {
				b[i*elemSize+j] = byte(int8(f * 1000 * float64(j+1)))
			}
		}
	}
	if withSpecials && n > 0 {
		for _, v := range specials[elemSize] {
			i := r.IntN(n)
			for j := 0; j < elemSize; j++ {
				b[i*elemSize+j] = byte(v >> (8 * j))
			}
		}
	}
	return b
}

// inputs returns named test inputs of n elements of elemSize bytes.
func inputs(n, elemSize int) map[string][]byte {
	r := rand.New(rand.NewPCG(uint64(n), uint64(elemSize)))
	random := make([]byte, n*elemSize)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	equal := make([]byte, n*elemSize)
	for i := 0; i < n; i++ {
		copy(equal[i*elemSize:], []byte{0x12, 0x3c, 0x45, 0x3e, 0x01, 0x02, 0x03, 0x04}[:elemSize])
	}
	out := map[string][]byte{
		"weights":          weights(n, elemSize, 1, false),
		"weights+specials": weights(n, elemSize, 2, true),
		"random bits":      random,
		"all equal":        equal,
		"zeros":            make([]byte, n*elemSize),
	}
	if sp := specials[elemSize]; len(sp) > 0 {
		only := make([]byte, n*elemSize) // nothing but special values
		for i := 0; i < n; i++ {
			v := sp[r.IntN(len(sp))]
			for j := 0; j < elemSize; j++ {
				only[i*elemSize+j] = byte(v >> (8 * j))
			}
		}
		out["specials only"] = only
	}
	if elemSize == 2 { // few distinct exponents and low bits (k = 0 with a coded low plane)
		q := make([]byte, 2*n)
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint16(q[2*i:], uint16(0x3c00|r.IntN(4)<<7|r.IntN(2)))
		}
		out["quantized"] = q
	}
	return out
}

func roundTrip(t *testing.T, label string, raw []byte, elemSize int) []byte {
	t.Helper()
	enc, err := Lossless{}.Encode([]byte("prefix"), raw, elemSize)
	if err != nil {
		t.Fatalf("%s: encode: %v", label, err)
	}
	if string(enc[:6]) != "prefix" {
		t.Fatalf("%s: encode overwrote dst", label)
	}
	enc = enc[6:]
	if len(enc) > len(raw)+2 {
		t.Errorf("%s: %d bytes stored for %d", label, len(enc), len(raw))
	}
	got := bytes.Repeat([]byte{0xa5}, len(raw)) // decode must overwrite every byte
	if err := (Lossless{}).Decode(got, enc, elemSize); err != nil {
		t.Fatalf("%s: decode: %v", label, err)
	}
	if !bytes.Equal(got, raw) {
		for i := range raw {
			if got[i] != raw[i] {
				t.Fatalf("%s: round trip differs first at byte %d: %#x, want %#x", label, i, got[i], raw[i])
			}
		}
	}
	return enc
}

func TestLosslessRoundTripBitExact(t *testing.T) {
	for _, elemSize := range []int{1, 2, 3, 4, 8} {
		lengths := []int{0, 1, 7, 64<<10 - 1, 64 << 10, 64<<10 + 1, (1 << 20) / elemSize}
		if testing.Short() {
			lengths = lengths[:4]
		}
		for _, n := range lengths {
			for name, raw := range inputs(n, elemSize) {
				roundTrip(t, fmt.Sprintf("size %d, %d elements, %s", elemSize, n, name), raw, elemSize)
			}
		}
	}
}

// TestLosslessModes checks that the inputs reach every layout branch.
func TestLosslessModes(t *testing.T) {
	n := 1 << 15
	// enc[0] version, enc[1] element size, then n (3 bytes for 32768)
	cases := []struct {
		name     string
		raw      []byte
		elemSize int
		check    func(enc []byte) bool
	}{
		{"bf16 weights use k > 0", weights(n, 2, 5, true), 2, func(e []byte) bool { return e[1] == 2 && e[5] > 0 && e[6] == modeHuff }},
		{"f16 quantized use k = 0", inputs(n, 2)["quantized"], 2, func(e []byte) bool { return e[1] == 2 && e[5] == 0 }},
		{"bf16 all equal is a run", inputs(n, 2)["all equal"], 2, func(e []byte) bool { return e[1] == 2 && e[6] == modeRun }},
		{"f32 exponents coded, mantissas raw", weights(n, 4, 6, true), 4, func(e []byte) bool { return e[1] == 4 && e[5] == modeHuff }},
		{"random bits stored", inputs(n, 4)["random bits"], 4, func(e []byte) bool { return e[1] == 0 && len(e) == 4*n+2 }},
		{"f64 shrinks", weights(n, 8, 7, true), 8, func(e []byte) bool { return e[1] == 8 && len(e) < 8*n }},
		{"bytes", weights(n, 1, 8, false), 1, func(e []byte) bool { return e[1] == 1 && e[5] == modeHuff }},
	}
	for _, c := range cases {
		enc := roundTrip(t, c.name, c.raw, c.elemSize)
		if enc[0] != losslessVersion || !c.check(enc) {
			t.Errorf("%s: unexpected layout % x", c.name, enc[:min(8, len(enc))])
		}
	}
}

// TestLosslessCorruptionNeverPanics changes every byte of encoded chunks of
// each layout: decoding must fail or give different bytes, never panic or
// read out of bounds; every truncation must fail.
func TestLosslessCorruptionNeverPanics(t *testing.T) {
	n := 3000
	cases := map[string]struct {
		raw      []byte
		elemSize int
	}{
		"bf16":       {weights(n, 2, 9, true), 2},
		"f16 k=0":    {inputs(n, 2)["quantized"], 2},
		"f32":        {weights(n, 4, 10, true), 4},
		"f64":        {weights(n/4, 8, 11, true), 8},
		"bytes":      {weights(n, 1, 12, false), 1},
		"run":        {inputs(n, 4)["all equal"], 4},
		"stored":     {inputs(n/8, 4)["random bits"], 4},
		"odd size 3": {weights(n/3, 3, 13, false), 3},
	}
	got := make([]byte, 4*n)
	for name, c := range cases {
		enc, err := Lossless{}.Encode(nil, c.raw, c.elemSize)
		if err != nil {
			t.Fatal(err)
		}
		out := got[:len(c.raw)]
		same := 0
		for i := range enc {
			for _, x := range []byte{0x01, 0x80, 0xff} {
				bad := bytes.Clone(enc)
				bad[i] ^= x
				if err := (Lossless{}).Decode(out, bad, c.elemSize); err == nil && bytes.Equal(out, c.raw) {
					same++
					t.Errorf("%s: byte %d ^ %#x decoded to the original bytes without error", name, i, x)
				}
			}
		}
		for l := 0; l < len(enc); l++ {
			if err := (Lossless{}).Decode(out, enc[:l], c.elemSize); err == nil {
				t.Errorf("%s: truncated to %d of %d bytes decoded", name, l, len(enc))
			}
		}
		if err := (Lossless{}).Decode(out, append(bytes.Clone(enc), 0), c.elemSize); err == nil {
			t.Errorf("%s: trailing byte accepted", name)
		}
		if err := (Lossless{}).Decode(out[:len(out)-c.elemSize], enc, c.elemSize); err == nil {
			t.Errorf("%s: wrong length accepted", name)
		}
		if c.elemSize != 4 {
			if err := (Lossless{}).Decode(out, enc, 4); err == nil && enc[1] != 0 {
				t.Errorf("%s: wrong element size accepted", name)
			}
		}
	}
}

func TestLosslessRejectsBadArguments(t *testing.T) {
	for _, c := range []struct{ n, size int }{{7, 2}, {6, 4}, {4, 0}, {9, 9}} {
		if _, err := (Lossless{}).Encode(nil, make([]byte, c.n), c.size); err == nil {
			t.Errorf("encode of %d bytes as %d-byte elements accepted", c.n, c.size)
		}
	}
	enc, _ := Lossless{}.Encode(nil, []byte{1, 2, 3, 4}, 2)
	if err := (Lossless{}).Decode(make([]byte, 4), []byte{1, 0, 1, 2, 3, 4}, 2); err == nil {
		t.Error("version 1 chunk accepted")
	}
	if err := (Lossless{}).Decode(make([]byte, 4), enc, 2); err != nil {
		t.Error(err)
	}
}

// TestHuffLengthsLimited checks the length-limited codes on skewed counts
// (Fibonacci counts force the longest unlimited codes).
func TestHuffLengthsLimited(t *testing.T) {
	h := new(huffCoder)
	a, b := uint32(1), uint32(1)
	for s := 0; s < 40; s++ {
		h.count[s] = a
		a, b = b, a+b
	}
	h.setCounts()
	h.build()
	kraft := 0
	for _, s := range h.syms {
		l := h.length[s]
		if l < 1 || l > huffMaxLen {
			t.Fatalf("symbol %d: length %d", s, l)
		}
		kraft += 1 << (huffMaxLen - l)
	}
	if kraft != 1<<huffMaxLen {
		t.Fatalf("Kraft sum %d, want %d", kraft, 1<<huffMaxLen)
	}
	syms := make([]byte, 0, 1<<16)
	for len(syms) < cap(syms) {
		syms = append(syms, byte(len(syms)*7919%40))
	}
	h.count = [huffMaxSym]uint32{}
	countBytes(syms, &h.count)
	h.setCounts()
	enc := huffEncode(nil, syms, h)
	d := new(huffDecoder)
	used, err := d.readTable(enc, 256)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range d.asc {
		d.vals[s] = uint64(s)
	}
	st, _, err := huffSplit(enc[used:])
	if err != nil {
		t.Fatal(err)
	}
	for _, multi := range []bool{false, true} {
		tab := new(huffTable)
		d.buildTable(tab, 1, multi)
		got := make([]byte, len(syms))
		if err := huffDecode(got, &st, tab, len(syms), 1); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, syms) {
			t.Fatalf("multi %v: decoded symbols differ", multi)
		}
	}
}

func FuzzLosslessRoundTrip(f *testing.F) {
	f.Add(weights(100, 2, 1, true), uint8(2))
	f.Add(weights(100, 4, 2, true), uint8(4))
	f.Add(weights(50, 8, 3, true), uint8(8))
	f.Add([]byte("hello hello hello"), uint8(1))
	f.Fuzz(func(t *testing.T, raw []byte, size uint8) {
		elemSize := int(size%8) + 1
		raw = raw[:len(raw)/elemSize*elemSize]
		enc, err := Lossless{}.Encode(nil, raw, elemSize)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(raw))
		if err := (Lossless{}).Decode(got, enc, elemSize); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !bytes.Equal(got, raw) {
			t.Fatal("round trip differs")
		}
	})
}

// TestLosslessCorruptionLarge flips bytes of chunks large enough for the
// multi-symbol tables and the four-stream loop: decoding must fail or give
// different bytes, never panic or read out of bounds.
func TestLosslessCorruptionLarge(t *testing.T) {
	n := 1 << 14
	step := 7
	if testing.Short() {
		step = 61
	}
	for name, c := range map[string]struct {
		raw      []byte
		elemSize int
	}{
		"bf16":    {weights(n, 2, 21, true), 2},
		"f16 k=0": {inputs(n, 2)["quantized"], 2},
		"f32":     {weights(n, 4, 22, true), 4},
	} {
		enc, err := Lossless{}.Encode(nil, c.raw, c.elemSize)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, len(c.raw))
		for i := 0; i < len(enc); i += step {
			for _, x := range []byte{0x01, 0x80, 0xff} {
				bad := bytes.Clone(enc)
				bad[i] ^= x
				if err := (Lossless{}).Decode(out, bad, c.elemSize); err == nil && bytes.Equal(out, c.raw) {
					t.Errorf("%s: byte %d ^ %#x decoded to the original bytes without error", name, i, x)
				}
			}
		}
		for _, l := range []int{len(enc) - 1, len(enc) - 9, len(enc) / 2, 8} {
			if err := (Lossless{}).Decode(out, enc[:l], c.elemSize); err == nil {
				t.Errorf("%s: truncated to %d of %d bytes decoded", name, l, len(enc))
			}
		}
	}
}

// refTable is buildTable's meaning, window by window: the whole codes at
// the start of each window of t.bits bits, at most maxN of them.
func refTable(d *huffDecoder, bits uint, width, maxN int) []uint64 {
	out := make([]uint64, 1<<bits)
	base := uint(8)
	if width == 2 {
		base = 0
	}
	for x := range out {
		var e uint64
		used, k := uint(0), 0
		for k < maxN {
			found := false
			for _, s := range d.syms {
				l := uint(d.lens[s])
				if used+l > bits || uint64(x)>>(bits-used-l)&(1<<l-1) != uint64(d.codes[s]) {
					continue
				}
				e |= d.vals[s] << (base + uint(8*width*k))
				if k == 0 {
					e |= uint64(l) << 56
				}
				used += l
				k++
				found = true
				break
			}
			if !found {
				break
			}
		}
		out[x] = e | uint64(used) | uint64(k*width)<<60
	}
	return out
}

// TestHuffBuildTable checks the memoised table builder against refTable on
// random codes (random counts, lengths limited to 12 bits).
func TestHuffBuildTable(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 40; trial++ {
		h := new(huffCoder)
		nsym := 2 + r.IntN(300)
		for i := 0; i < nsym; i++ {
			s := r.IntN(1024)
			h.count[s] += uint32(1 + r.IntN(1<<uint(r.IntN(20))))
		}
		h.setCounts()
		h.build()
		enc := h.appendTable(nil)
		d := new(huffDecoder)
		if _, err := d.readTable(enc, huffMaxSym); err != nil {
			t.Fatal(err)
		}
		for _, width := range []int{1, 2} {
			for _, s := range d.asc {
				if width == 1 {
					d.vals[s] = uint64(s) & 0xff
				} else {
					d.vals[s] = uint64(s) << 6
				}
			}
			for _, multi := range []bool{false, true} {
				tab := new(huffTable)
				d.buildTable(tab, width, multi)
				maxN := 1
				if multi {
					maxN = huffMaxN(width)
				}
				want := refTable(d, tab.bits, width, maxN)
				for x, e := range want {
					if tab.e[x] != e {
						t.Fatalf("trial %d width %d multi %v (%d bits): entry %#x is %#x, want %#x", trial, width, multi, tab.bits, x, tab.e[x], e)
					}
				}
			}
		}
	}
}

// TestMergeLow checks mergeLow (vector and scalar paths) on every field
// width and unaligned ranges against its definition.
func TestMergeLow(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, w := range []uint{6, 7, 8} {
		for trial := 0; trial < 50; trial++ {
			n := 1 + r.IntN(300)
			low := make([]byte, (n*int(w)+7)/8)
			for i := range low {
				low[i] = byte(r.Uint32())
			}
			if rem := uint(n*int(w)) % 8; rem != 0 {
				low[len(low)-1] &= 1<<rem - 1
			}
			raw := make([]byte, 2*n)
			for i := range raw {
				raw[i] = byte(r.Uint32())
			}
			want := bytes.Clone(raw)
			lo := r.IntN(n)
			hi := lo + r.IntN(n-lo+1)
			for i := lo; i < hi; i++ {
				var f uint64
				for b := uint(0); b < w; b++ {
					bit := uint(i)*w + b
					f |= uint64(low[bit/8]>>(bit%8)&1) << b
				}
				u := uint64(binary.LittleEndian.Uint16(want[2*i:]))&^(1<<w-1) | f
				binary.LittleEndian.PutUint16(want[2*i:], uint16(u>>1|u<<15))
			}
			mergeLow(raw, low, lo, hi, w)
			if !bytes.Equal(raw, want) {
				t.Fatalf("w %d, n %d, elements %d..%d differ", w, n, lo, hi)
			}
		}
	}
}

func benchmarkDecode(b *testing.B, elemSize int) {
	n := (1 << 20) / elemSize
	raw := weights(n, elemSize, 31, false)
	enc, err := Lossless{}.Encode(nil, raw, elemSize)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]byte, len(raw))
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := (Lossless{}).Decode(out, enc, elemSize); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLosslessDecodeBF16 and ...FP32 decode a 1 MiB chunk of
// Gaussian weights (bench/lossless.sh measures the real model).
func BenchmarkLosslessDecodeBF16(b *testing.B) { benchmarkDecode(b, 2) }
func BenchmarkLosslessDecodeFP32(b *testing.B) { benchmarkDecode(b, 4) }

// FuzzLosslessDecodeWide decodes mutated chunks big enough for the
// multi-symbol tables and the four-stream loop (2- and 4-byte elements):
// never a panic or an out-of-bounds access.
func FuzzLosslessDecodeWide(f *testing.F) {
	for _, c := range []struct {
		raw  []byte
		size int
	}{
		{weights(5000, 2, 41, true), 2},
		{inputs(5000, 2)["quantized"], 2},
		{weights(5000, 4, 42, true), 4},
	} {
		enc, err := Lossless{}.Encode(nil, c.raw, c.size)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc, len(c.raw)/c.size, uint8(c.size))
	}
	f.Fuzz(func(t *testing.T, enc []byte, n int, size uint8) {
		if n < 0 || n > 1<<16 || (size != 2 && size != 4) {
			return
		}
		dst := make([]byte, int(size)*n)
		allocbound.Check(t, "Lossless.Decode", len(enc), decodeBound(len(enc), len(dst)), func() { _ = Lossless{}.Decode(dst, enc, int(size)) })
	})
}
