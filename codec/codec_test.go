package codec

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vsdb/vsdb/internal/allocbound"
)

func floats(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, 4*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(r.NormFloat64()*0.02)))
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	inputs := map[string]struct {
		raw  []byte
		size int
	}{
		"empty":       {nil, 4},
		"one f32":     {floats(1, 1), 4},
		"gauss f32":   {floats(10000, 2), 4},
		"bytes":       {[]byte("hello hello hello hello"), 1},
		"f16 pattern": {bytes.Repeat([]byte{0x00, 0x3c}, 999), 2},
		"f64":         {floats(64, 3), 8},
		"zeros":       {make([]byte, 4096), 4},
	}
	for _, name := range Names() {
		c, _ := ByName(name)
		for label, in := range inputs {
			enc, err := c.Encode(nil, in.raw, in.size)
			if err != nil {
				t.Fatalf("%s/%s: encode: %v", name, label, err)
			}
			got := make([]byte, len(in.raw))
			if err := c.Decode(got, enc, in.size); err != nil {
				t.Fatalf("%s/%s: decode: %v", name, label, err)
			}
			if !bytes.Equal(got, in.raw) {
				t.Fatalf("%s/%s: round trip differs", name, label)
			}
		}
	}
}

func TestLosslessShrinksFloats(t *testing.T) {
	raw := floats(1<<16, 4)
	enc, _ := Lossless{}.Encode(nil, raw, 4)
	if len(enc) >= len(raw) {
		t.Fatalf("lossless stored %d bytes for %d raw", len(enc), len(raw))
	}
}

func TestDecodeRefusesCorruption(t *testing.T) {
	raw := floats(4096, 5)
	enc, _ := Lossless{}.Encode(nil, raw, 4)
	cases := map[string][]byte{
		"truncated": enc[:len(enc)/2],
		"empty":     nil,
		"trailing":  append(append([]byte{}, enc...), 0),
		"version":   append([]byte{9}, enc[1:]...),
	}
	for name, bad := range cases {
		if err := (Lossless{}).Decode(make([]byte, len(raw)), bad, 4); err == nil {
			t.Errorf("%s: corrupt chunk decoded", name)
		}
	}
	if err := (Raw{}).Decode(make([]byte, 4), []byte{1, 2, 3}, 4); err == nil {
		t.Error("short raw chunk decoded")
	}
	if _, err := ByName("nope"); err == nil {
		t.Error("unknown codec accepted")
	}
}

func FuzzLosslessDecode(f *testing.F) {
	enc, _ := Lossless{}.Encode(nil, floats(64, 6), 4)
	f.Add(enc, 64)
	f.Fuzz(func(t *testing.T, enc []byte, n int) {
		if n < 0 || n > 1<<16 {
			return
		}
		dst := make([]byte, 4*n)
		allocbound.Check(t, "Lossless.Decode", len(enc), decodeBound(len(enc), len(dst)), func() { _ = Lossless{}.Decode(dst, enc, 4) })
	})
}

func TestLosslessFallsBackToRaw(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	raw := make([]byte, 4096)
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	for _, in := range [][]byte{raw, raw[:8]} {
		enc, _ := Lossless{}.Encode(nil, in, 4)
		if len(enc) != len(in)+2 {
			t.Errorf("incompressible %d bytes stored in %d, want %d", len(in), len(enc), len(in)+2)
		}
	}
}

// decodeBound is what a decoder may allocate for an encoding of encLen
// bytes into a caller's buffer of dstLen bytes: tables and scratch of a
// fixed size, plus a small multiple of either length.
func decodeBound(encLen, dstLen int) uint64 {
	return 256<<10 + 8*uint64(encLen) + 2*uint64(dstLen)
}
