package tensor

import (
	"math"
	"testing"
)

func TestParseDType(t *testing.T) {
	for _, name := range []string{"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL"} {
		d, err := ParseDType(name)
		if err != nil || d.String() != name || d.Size() == 0 {
			t.Errorf("ParseDType(%q) = %v, %v", name, d, err)
		}
	}
	for _, bad := range []string{"", "f32", "F12", "INVALID"} {
		if _, err := ParseDType(bad); err == nil {
			t.Errorf("ParseDType(%q) accepted", bad)
		}
	}
}

func TestShapeElements(t *testing.T) {
	cases := []struct {
		shape Shape
		n     int64
		ok    bool
	}{
		{Shape{}, 1, true},
		{nil, 1, true},
		{Shape{0}, 0, true},
		{Shape{2, 0, 3}, 0, true},
		{Shape{384, 1536}, 589824, true},
		{Shape{1 << 30, 1 << 30}, 0, false},
		{Shape{-1}, 0, false},
		{Shape{0, 1 << 62, 1 << 62}, 0, true}, // empty whatever the other dimensions
	}
	for _, c := range cases {
		n, err := c.shape.Elements()
		if (err == nil) != c.ok || (c.ok && n != c.n) {
			t.Errorf("%v.Elements() = %d, %v; want %d ok=%v", c.shape, n, err, c.n, c.ok)
		}
	}
	if _, err := (Shape{1 << 47}).Bytes(F64); err != nil {
		t.Errorf("2^47 F64 elements: %v", err)
	}
}

func TestConversions(t *testing.T) {
	// Bit patterns and the values they must decode to.
	cases := []struct {
		d    DType
		raw  []byte
		want []float32
	}{
		{BF16, []byte{0x80, 0x3f, 0x00, 0x40}, []float32{1, 2}},
		{F16, []byte{0x00, 0x3c, 0x00, 0xc0}, []float32{1, -2}},
		{F8E4M3, []byte{0x38, 0xb8, 0x7e, 0x01}, []float32{1, -1, 448, 1.0 / 512}},
		{F8E5M2, []byte{0x3c, 0x7c}, []float32{1, float32(math.Inf(1))}},
		{I64, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, []float32{-1}},
		{U8, []byte{200}, []float32{200}},
		{Bool, []byte{0, 1}, []float32{0, 1}},
	}
	for _, c := range cases {
		got := make([]float32, len(c.want))
		if err := ToFloat32(c.d, c.raw, got); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s %x: element %d = %v, want %v", c.d, c.raw, i, got[i], c.want[i])
			}
		}
		back := make([]byte, len(c.raw))
		if err := FromFloat32(c.d, got, back); err != nil {
			t.Fatal(err)
		}
		if string(back) != string(c.raw) {
			t.Errorf("%s: %x came back as %x", c.d, c.raw, back)
		}
	}
	if e4 := F8E4M3; nearestF8(f8e4m3Sorted, 1e6, 0x7f) != 0x7f {
		t.Errorf("%s overflow should be NaN", e4)
	}
	if err := ToFloat32(F32, []byte{1, 2}, make([]float32, 1)); err == nil {
		t.Error("short input accepted")
	}
}

func TestBF16Rounding(t *testing.T) {
	cases := map[float32]uint16{1: 0x3f80, -2: 0xc000, 1.00390625: 0x3f80 /* tie to even */, 1.01171875: 0x3f82}
	for v, want := range cases {
		if got := BF16FromFloat32(v); got != want {
			t.Errorf("BF16FromFloat32(%v) = %#x, want %#x", v, got, want)
		}
	}
	if got := BF16FromFloat32(float32(math.NaN())); got&0x7f80 != 0x7f80 || got&0x7f == 0 {
		t.Errorf("NaN became %#x", got)
	}
}

func TestValidate(t *testing.T) {
	good := &Tensor{Name: "x", DType: F32, Shape: Shape{2}, Data: make([]byte, 8)}
	if err := good.Validate(); err != nil {
		t.Error(err)
	}
	bad := &Tensor{Name: "x", DType: F32, Shape: Shape{2}, Data: make([]byte, 7)}
	if err := bad.Validate(); err == nil {
		t.Error("7 bytes for F32 [2] accepted")
	}
}
