package codec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/internal/allocbound"
)

// floatInputs are the value sets every float codec round-trips, at each of
// the lengths the brief names.
func floatInputs() map[string][]float32 {
	r := rand.New(rand.NewPCG(11, 12))
	gauss := func(n int, scale float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64() * scale)
		}
		return v
	}
	in := map[string][]float32{}
	for _, n := range []int{0, 1, 31, 32, 33, 1000} {
		in[fmt.Sprintf("gauss/%d", n)] = gauss(n, 0.02)
	}
	// Magnitudes from 1e-9 to 6e4, both signs: subnormal and normal halves.
	wide := make([]float32, 1000)
	for i := range wide {
		wide[i] = float32(math.Pow(10, -9+13.7*r.Float64()))
		if r.IntN(2) == 0 {
			wide[i] = -wide[i]
		}
	}
	in["wide/1000"] = wide
	in["zeros/33"] = make([]float32, 33)
	in["edges/9"] = []float32{0, float32(math.Copysign(0, -1)), 65504, -65504, 65519, 6.1035156e-05, 5.9604645e-08, 1, -1}
	// One large value per block, the rest tiny: stresses the block scales.
	spiky := gauss(100, 1e-3)
	spiky[5], spiky[40], spiky[99] = 3, -7, 0.5
	in["spiky/100"] = spiky
	return in
}

// maxErr is the largest error |x − decoded[i]| a codec may make at index
// i of vals, from the format.
func maxErr(t *testing.T, name string, vals []float32, i int) float64 {
	x := float64(vals[i])
	ax := math.Abs(x)
	switch name {
	case "f16":
		if ax >= 0x1p-14 {
			return ax * 0x1p-11
		}
		return 0x1p-25 // half of the subnormal half step 2^-24
	case "bf16":
		if ax >= 0x1p-126 {
			return ax * 0x1p-8
		}
		return 0x1p-134
	case "q8":
		blk := vals[i/32*32 : min(len(vals), i/32*32+32)]
		var amax float32
		for _, v := range blk {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := float64(amax / 127)
		d16 := float64(castFromF16(castToF16(amax / 127)))
		// d/2 for the rounding to an integer, 127·|d − d16| for the fp16
		// scale, and a little float32 arithmetic slack.
		return d/2 + 127*math.Abs(d-d16) + 1e-6*d + 0x1p-23*ax
	case "q4":
		blk := vals[i/32*32 : min(len(vals), i/32*32+32)]
		var amax, mx float32
		for _, v := range blk {
			if a := float32(math.Abs(float64(v))); amax < a {
				amax, mx = a, v
			}
		}
		d := float64(mx / -8)
		d16 := float64(castFromF16(castToF16(mx / -8)))
		bound := math.Abs(d) / 2
		if d != 0 && x/d > 7.5 {
			bound = math.Abs(d) // clamped at q = 15
		}
		return bound + 8*math.Abs(d-d16) + 1e-6*math.Abs(d) + 0x1p-23*ax
	}
	t.Fatalf("no bound for codec %s", name)
	return 0
}

func TestFloatCodecRoundTrip(t *testing.T) {
	if got, want := strings.Join(FloatCodecNames(), ","), "bf16,f16,q4,q8"; got != want {
		t.Fatalf("FloatCodecNames() = %s, want %s", got, want)
	}
	bits := map[string]float64{"f16": 16, "bf16": 16, "q8": 8.5, "q4": 4.5}
	for _, name := range FloatCodecNames() {
		c, err := FloatCodecByName(strings.ToUpper(name))
		if err != nil {
			t.Fatal(err)
		}
		if c.Name() != name || c.Lossless() || c.BitsPerValue() != bits[name] {
			t.Errorf("%s: Name %q Lossless %v BitsPerValue %v", name, c.Name(), c.Lossless(), c.BitsPerValue())
		}
		for label, vals := range floatInputs() {
			t.Run(name+"/"+label, func(t *testing.T) {
				prefix := []byte("keep")
				enc, err := c.EncodeFloats(append([]byte{}, prefix...), vals)
				if err != nil {
					t.Fatalf("encode: %v", err)
				}
				if string(enc[:4]) != "keep" {
					t.Fatal("EncodeFloats changed dst's existing bytes")
				}
				enc = enc[4:]
				wantLen := 1 + 2*len(vals)
				switch name {
				case "q8":
					wantLen = 2 + 34*((len(vals)+31)/32)
				case "q4":
					wantLen = 2 + 18*((len(vals)+31)/32)
				}
				if len(enc) != wantLen {
					t.Fatalf("encoding of %d values is %d bytes, want %d", len(vals), len(enc), wantLen)
				}
				got := make([]float32, len(vals))
				if err := c.DecodeFloats(got, enc); err != nil {
					t.Fatalf("decode: %v", err)
				}
				for i, v := range vals {
					e := math.Abs(float64(v) - float64(got[i]))
					if b := maxErr(t, name, vals, i); !(e <= b) {
						t.Fatalf("value %d: %g decoded as %g, error %g > bound %g", i, v, got[i], e, b)
					}
				}
				// Encoding is deterministic and decoding twice agrees.
				enc2, _ := c.EncodeFloats(nil, vals)
				if string(enc2) != string(enc) {
					t.Fatal("two encodings of the same values differ")
				}
			})
		}
	}
	if _, err := FloatCodecByName("q3"); err == nil || !strings.HasPrefix(err.Error(), "vsdb: ") {
		t.Errorf("unknown float codec: err = %v", err)
	}
}

func TestFloatSpecialValues(t *testing.T) {
	nan := float32(math.NaN())
	oddNaN := math.Float32frombits(0x7f800001) // payload only in the low bits
	inf := float32(math.Inf(1))
	for _, name := range []string{"f16", "bf16"} {
		c, _ := FloatCodecByName(name)
		vals := []float32{1, nan, inf, -inf, oddNaN, -2}
		enc, err := c.EncodeFloats(nil, vals)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := make([]float32, len(vals))
		if err := c.DecodeFloats(got, enc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got[0] != 1 || !isNaN32(got[1]) || got[2] != inf || got[3] != -inf || !isNaN32(got[4]) || got[5] != -2 {
			t.Errorf("%s: special values decoded as %v", name, got)
		}
	}
	// f16: 65519 rounds down to 65504; 65520 and beyond would be Inf.
	f16, _ := FloatCodecByName("f16")
	if _, err := f16.EncodeFloats(nil, []float32{65519, -65519}); err != nil {
		t.Errorf("f16 refused 65519: %v", err)
	}
	for _, v := range []float32{65520, -70000, 1e30} {
		_, err := f16.EncodeFloats(nil, []float32{0, 1, v})
		if err == nil || !strings.Contains(err.Error(), "index 2") || !strings.HasPrefix(err.Error(), "vsdb: ") {
			t.Errorf("f16 of %g: err = %v, want one naming index 2", v, err)
		}
	}
	bf16, _ := FloatCodecByName("bf16")
	if _, err := bf16.EncodeFloats(nil, []float32{1, math.MaxFloat32}); err == nil || !strings.Contains(err.Error(), "index 1") {
		t.Errorf("bf16 of MaxFloat32: err = %v, want overflow at index 1", err)
	}
	if _, err := bf16.EncodeFloats(nil, []float32{3.38e38, -3.38e38}); err != nil {
		t.Errorf("bf16 refused 3.38e38: %v", err)
	}
	for _, name := range []string{"q8", "q4"} {
		c, _ := FloatCodecByName(name)
		for _, bad := range []float32{nan, inf, -inf} {
			vals := make([]float32, 40)
			vals[37] = bad
			_, err := c.EncodeFloats(nil, vals)
			if err == nil || !strings.Contains(err.Error(), "index 37") || !strings.HasPrefix(err.Error(), "vsdb: ") {
				t.Errorf("%s of %g: err = %v, want one naming index 37", name, bad, err)
			}
		}
		// A block whose scale overflows fp16.
		if _, err := c.EncodeFloats(nil, []float32{1, 2e7}); err == nil {
			t.Errorf("%s accepted a block whose scale overflows fp16", name)
		}
		// Subnormal float32 blocks: 1/d overflows; they decode to zeros.
		tiny := []float32{1e-44, -3e-44, 0}
		enc, err := c.EncodeFloats(nil, tiny)
		if err != nil {
			t.Fatalf("%s of subnormals: %v", name, err)
		}
		got := make([]float32, 3)
		if err := c.DecodeFloats(got, enc); err != nil {
			t.Fatalf("%s of subnormals: decode: %v", name, err)
		}
		for i, v := range got {
			if v != 0 {
				t.Errorf("%s: subnormal %g decoded as %g, want 0", name, tiny[i], v)
			}
		}
	}
}

func isNaN32(v float32) bool { return v != v }

func TestErrorSums(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	orig := make([]float32, 1000)
	for i := range orig {
		orig[i] = float32(r.NormFloat64())
	}
	for _, name := range FloatCodecNames() {
		c, _ := FloatCodecByName(name)
		// Chunked as the engine does: 1000 values in chunks of 300.
		var num, den float64
		dec := make([]float32, len(orig))
		for lo := 0; lo < len(orig); lo += 300 {
			hi := min(len(orig), lo+300)
			enc, err := c.EncodeFloats(nil, orig[lo:hi])
			if err != nil {
				t.Fatal(err)
			}
			if err := c.DecodeFloats(dec[lo:hi], enc); err != nil {
				t.Fatal(err)
			}
			n, d := ErrorSums(orig[lo:hi], dec[lo:hi])
			num += n
			den += d
		}
		var wn, wd float64
		for i := range orig {
			x, y := float64(orig[i]), float64(dec[i])
			wn += (x - y) * (x - y)
			wd += x * x
		}
		if math.Abs(num-wn) > 1e-12*wn || math.Abs(den-wd) > 1e-12*wd {
			t.Errorf("%s: ErrorSums over chunks = %g/%g, recomputed %g/%g", name, num, den, wn, wd)
		}
		rel := RelativeError(num, den)
		t.Logf("%s: relative Frobenius error %.3g on N(0,1)", name, rel)
		if rel <= 0 || rel > 0.2 {
			t.Errorf("%s: relative error %g out of range", name, rel)
		}
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	if n, d := ErrorSums([]float32{nan, inf, 3}, []float32{nan, inf, 1}); n != 4 || d != 9 {
		t.Errorf("matching NaN/Inf: ErrorSums = %g, %g; want 4, 9", n, d)
	}
	if n, _ := ErrorSums([]float32{nan, 1}, []float32{0, 1}); !math.IsInf(n, 1) {
		t.Errorf("lost NaN: num = %g, want +Inf", n)
	}
	if n, _ := ErrorSums([]float32{1}, []float32{1, 2}); !math.IsInf(n, 1) {
		t.Errorf("length mismatch: num = %g, want +Inf", n)
	}
	if RelativeError(0, 0) != 0 || !math.IsInf(RelativeError(1, 0), 1) || RelativeError(1, 4) != 0.5 {
		t.Error("RelativeError edge cases")
	}
}

type corruptChunk struct {
	enc []byte
	n   int
}

// TestFloatDecodeRefusesCorruption: wrong lengths, versions, padding and
// scales are errors, never panics.
func TestFloatDecodeRefusesCorruption(t *testing.T) {
	vals := floatInputs()["gauss/33"]
	for _, name := range FloatCodecNames() {
		c, _ := FloatCodecByName(name)
		enc, err := c.EncodeFloats(nil, vals)
		if err != nil {
			t.Fatal(err)
		}
		cases := map[string]corruptChunk{
			"empty":     {nil, 33},
			"truncated": {enc[:len(enc)-1], 33},
			"half":      {enc[:len(enc)/2], 33},
			"trailing":  {append(append([]byte{}, enc...), 0), 33},
			"version 0": {append([]byte{0}, enc[1:]...), 33},
			"version 2": {append([]byte{2}, enc[1:]...), 33},
			"n+1":       {enc, 34},
			"n-1":       {enc, 32},
			"n=0":       {enc, 0},
		}
		switch name {
		case "q8", "q4":
			bs := map[string]int{"q8": 34, "q4": 18}[name]
			// n = 33 leaves 31 padding quants in the second block.
			bad := append([]byte{}, enc...)
			bad[len(bad)-1] ^= 0x11
			cases["padding"] = corruptChunk{bad, 33}
			inf := append([]byte{}, enc...)
			inf[2+bs], inf[2+bs+1] = 0x00, 0x7c // second block's scale = +Inf
			cases["inf scale"] = corruptChunk{inf, 33}
			nan := append([]byte{}, enc...)
			nan[2], nan[3] = 0x01, 0xfe // first block's scale = NaN
			cases["nan scale"] = corruptChunk{nan, 33}
			tail := append([]byte{}, enc...)
			tail[1] = 2 // says the last block holds 2 values
			cases["tail"] = corruptChunk{tail, 33}
		}
		for label, tc := range cases {
			err := c.DecodeFloats(make([]float32, tc.n), tc.enc)
			if err == nil {
				t.Errorf("%s/%s: corrupt chunk decoded", name, label)
			} else if !strings.HasPrefix(err.Error(), "vsdb: ") || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s/%s: error %q is not one line starting vsdb:", name, label, err)
			}
		}
	}
}

func FuzzDecodeFloats(f *testing.F) {
	vals := floatInputs()["gauss/33"]
	for _, name := range FloatCodecNames() {
		c, _ := FloatCodecByName(name)
		for _, n := range []int{0, 1, 33} {
			enc, _ := c.EncodeFloats(nil, vals[:n])
			f.Add(enc, uint16(n))
		}
	}
	f.Fuzz(func(t *testing.T, enc []byte, n uint16) {
		for _, name := range FloatCodecNames() {
			c, _ := FloatCodecByName(name)
			out := make([]float32, n)
			var err error
			allocbound.Check(t, name+" DecodeFloats", len(enc), decodeBound(len(enc), 4*len(out)), func() { err = c.DecodeFloats(out, enc) })
			if err != nil {
				continue
			}
			if name == "q8" || name == "q4" {
				for i, v := range out {
					if v != v || math.IsInf(float64(v), 0) {
						t.Fatalf("%s decoded non-finite %g at %d", name, v, i)
					}
				}
			}
			// What decodes re-encodes to the same length.
			if re, err := c.EncodeFloats(nil, out); err == nil && len(re) != len(enc) {
				t.Fatalf("%s: %d bytes decoded to %d values that re-encode to %d bytes", name, len(enc), n, len(re))
			}
		}
	})
}
