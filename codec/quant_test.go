package codec

import (
	"bytes"
	"testing"
)

// The fixed vectors below were worked out by hand from llama.cpp's
// quantize_row_q8_0_ref and quantize_row_q4_0_ref (ggml-quants.c):
//
//	Q8_0: d = amax/127, id = 1/d, q = roundf(x*id), y.d = fp16(d)
//	Q4_0: max = the x of largest |x| (first wins), d = max/-8, id = 1/d,
//	      q = MIN(15, (int8_t)(x*id + 8.5f)), qs[j] = q[j] | q[j+16]<<4
//
// and decode as q·fp16(d) and (q−8)·fp16(d).

func TestQ8FixedVectors(t *testing.T) {
	// Block 0: amax = 127, so d = 1 exactly (fp16 0x3c00) and id = 1:
	// q = roundf(x), halves away from zero (−2.5 → −3, −0.5 → −1).
	// The header is version 1 and 3, the number of values in the last block.
	// Block 1 (3 values, 29 padding zeros): amax = 1, d = 1/127 =
	// 0.007874016 in float32, id = 127 exactly; fp16(d): 1/127 =
	// 2^-7·1.0078740, mantissa 0.0078740·1024 = 8.06 → 8, exponent −7+15 =
	// 8, so 0x2008 = 2^-7·(1+8/1024) = 129/16384. q = roundf(127·x):
	// 1 → 127, −0.25 → −31.75 → −32, 0.1 → 12.7 → 13; decoded 127·129/16384
	// = 16383/16384, −32·129/16384 = −0.251953125, 13·129/16384 =
	// 1677/16384.
	vals := make([]float32, 35)
	copy(vals, []float32{127, -2.5, 2.5, 0.49, -0.5, 1.5, -127, 3.75})
	copy(vals[32:], []float32{1, -0.25, 0.1})

	want := []byte{0x01, 0x03, 0x00, 0x3c, 0x7f, 0xfd, 0x03, 0x00, 0xff, 0x02, 0x81, 0x04}
	want = append(want, make([]byte, 24)...)
	want = append(want, 0x08, 0x20, 0x7f, 0xe0, 0x0d)
	want = append(want, make([]byte, 29)...)
	enc, err := Q8{}.EncodeFloats(nil, vals)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, want) {
		t.Fatalf("q8 encoding\n got % x\nwant % x", enc, want)
	}
	got := make([]float32, len(vals))
	if err := (Q8{}).DecodeFloats(got, enc); err != nil {
		t.Fatal(err)
	}
	wantDec := make([]float32, 35)
	copy(wantDec, []float32{127, -3, 3, 0, -1, 2, -127, 4})
	copy(wantDec[32:], []float32{16383.0 / 16384, -0.251953125, 1677.0 / 16384})
	for i := range got {
		if got[i] != wantDec[i] {
			t.Errorf("q8 value %d: %g decoded as %g, want %g", i, vals[i], got[i], wantDec[i])
		}
	}
}

func TestQ4FixedVectors(t *testing.T) {
	// Block 0: max = −8 (first of largest magnitude), d = −8/−8 = 1 (fp16
	// 0x3c00), id = 1, q = MIN(15, trunc(x + 8.5)):
	//   x[0] −8 → 0.5 → 0;  x[1] 7 → 15;  x[2] 2.5 → 11;  x[3] −2.5 → 6;
	//   x[4] 0.49 → 8.99 → 8;  x[5] 7.4 → 15.9 → 15;  x[6] 3.5 → 12;
	//   x[16] 1 → 9;  x[17] −1.5 → 7;  zeros → 8.
	// Bytes q[j] | q[j+16]<<4: 0x90 0x7f 0x8b 0x86 0x88 0x8f 0x8c, then 0x88.
	// The header is version 1 and 4, the values in the last block.
	// Block 1 (4 values, 28 padding zeros → q 8): max = 4 (−4 ties, but
	// the first wins), d = 4/−8 = −0.5 (fp16 0xb800), id = −2:
	//   4 → −8+8.5 = 0.5 → 0 (decodes to 4);
	//   −4 → 8+8.5 = 16.5 → 16, clamped to 15 (decodes to −3.5);
	//   1 → −2+8.5 = 6.5 → 6 (decodes to 1);
	//   −1.3 → 2.6+8.5 = 11.1 → 11 (decodes to −1.5).
	// Bytes 0x80 0x8f 0x86 0x8b, then 0x88.
	vals := make([]float32, 36)
	copy(vals, []float32{-8, 7, 2.5, -2.5, 0.49, 7.4, 3.5})
	vals[16], vals[17] = 1, -1.5
	copy(vals[32:], []float32{4, -4, 1, -1.3})

	want := []byte{0x01, 0x04, 0x00, 0x3c, 0x90, 0x7f, 0x8b, 0x86, 0x88, 0x8f, 0x8c}
	want = append(want, bytes.Repeat([]byte{0x88}, 9)...)
	want = append(want, 0x00, 0xb8, 0x80, 0x8f, 0x86, 0x8b)
	want = append(want, bytes.Repeat([]byte{0x88}, 12)...)
	enc, err := Q4{}.EncodeFloats(nil, vals)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, want) {
		t.Fatalf("q4 encoding\n got % x\nwant % x", enc, want)
	}
	got := make([]float32, len(vals))
	if err := (Q4{}).DecodeFloats(got, enc); err != nil {
		t.Fatal(err)
	}
	wantDec := make([]float32, 36)
	copy(wantDec, []float32{-8, 7, 3, -2, 0, 7, 4})
	wantDec[16], wantDec[17] = 1, -1
	copy(wantDec[32:], []float32{4, -3.5, 1, -1.5})
	for i := range got {
		if got[i] != wantDec[i] {
			t.Errorf("q4 value %d: %g decoded as %g, want %g", i, vals[i], got[i], wantDec[i])
		}
	}
}

// TestQuantZeroBlocks: an all-zero block has scale 0 and decodes to zeros
// (Q4's scale is 0/−8 = −0, as in llama.cpp, so its zeros come back as −0).
func TestQuantZeroBlocks(t *testing.T) {
	for _, c := range []FloatCodec{Q8{}, Q4{}} {
		enc, err := c.EncodeFloats(nil, make([]float32, 40))
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, 40)
		got[3] = 9
		if err := c.DecodeFloats(got, enc); err != nil {
			t.Fatal(err)
		}
		for _, v := range got {
			if v != 0 {
				t.Fatalf("%s: zeros decoded as %v", c.Name(), got)
			}
		}
	}
}
