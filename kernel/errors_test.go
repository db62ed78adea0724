package kernel

import (
	"strings"
	"testing"
)

// TestBadLengths checks every length mismatch is an error starting with
// "vsdb: " that leaves out untouched.
func TestBadLengths(t *testing.T) {
	v := func(n int) []float32 { return make([]float32, n) }
	weighted := []struct {
		name string
		out  []float32
		in   [][]float32
		w    []float32
	}{
		{"no inputs", v(4), nil, nil},
		{"no inputs, no output", nil, [][]float32{}, []float32{}},
		{"fewer weights", v(4), [][]float32{v(4), v(4)}, []float32{1}},
		{"more weights", v(4), [][]float32{v(4)}, []float32{1, 2}},
		{"short input", v(4), [][]float32{v(4), v(3)}, []float32{1, 1}},
		{"long input", v(4), [][]float32{v(5), v(4), v(4)}, []float32{1, 1, 1}},
		{"empty output", nil, [][]float32{v(1)}, []float32{1}},
	}
	for _, c := range weighted {
		fill(c.out)
		for name, f := range map[string]func([]float32, [][]float32, []float32) error{
			"WeightedSum": WeightedSum, "WeightedSumParallel": WeightedSumParallel,
		} {
			requireVsdbError(t, name+"/"+c.name, f(c.out, c.in, c.w))
			requireUntouched(t, name+"/"+c.name, c.out)
		}
	}
	pairs := []struct {
		name      string
		out, a, b []float32
	}{
		{"short a", v(9), v(8), v(9)},
		{"long b", v(9), v(9), v(10)},
		{"empty output", nil, v(1), v(1)},
		{"nil inputs", v(2), nil, nil},
	}
	for _, c := range pairs {
		fill(c.out)
		for name, f := range map[string]func(out, a, b []float32, wa, wb float32) error{
			"Axpby": Axpby, "AxpbyParallel": AxpbyParallel,
		} {
			requireVsdbError(t, name+"/"+c.name, f(c.out, c.a, c.b, 1, 1))
			requireUntouched(t, name+"/"+c.name, c.out)
		}
	}
}

// TestEmpty checks zero-length calls succeed.
func TestEmpty(t *testing.T) {
	if err := Axpby(nil, nil, nil, 1, 2); err != nil {
		t.Error(err)
	}
	if err := AxpbyParallel([]float32{}, nil, []float32{}, 1, 2); err != nil {
		t.Error(err)
	}
	if err := WeightedSum(nil, [][]float32{nil, {}}, []float32{1, 2}); err != nil {
		t.Error(err)
	}
	if err := WeightedSumParallel(nil, [][]float32{nil}, []float32{1}); err != nil {
		t.Error(err)
	}
}

func fill(out []float32) {
	for i := range out {
		out[i] = 42
	}
}

func requireVsdbError(t *testing.T, name string, err error) {
	t.Helper()
	if err == nil || !strings.HasPrefix(err.Error(), "vsdb: ") {
		t.Errorf("%s: error %v, want one starting with \"vsdb: \"", name, err)
	}
}

func requireUntouched(t *testing.T, name string, out []float32) {
	t.Helper()
	for i, x := range out {
		if x != 42 {
			t.Fatalf("%s: out[%d] = %g after an error, want it untouched", name, i, x)
		}
	}
}
