package merge

import (
	"errors"
	"testing"
)

// A closed Done stops every whole-tensor method that loops over blocks,
// and nil or open Done changes nothing.
func TestDoneStopsAMerge(t *testing.T) {
	n := 3 * stopEvery * 1024
	base := make([]float32, n)
	in := [][]float32{make([]float32, n), make([]float32, n)}
	for i := range base {
		in[0][i], in[1][i] = float32(i%7), -float32(i%5)
	}
	closed := make(chan struct{})
	close(closed)
	for _, name := range []string{"task_arithmetic", "ties", "dare_linear", "dare_ties"} {
		m, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		p := Params{Weights: []float64{0.5, 0.5}}
		want := make([]float32, n)
		if err := m.Run(want, base, in, p); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p.Done = make(chan struct{})
		got := make([]float32, n)
		if err := m.Run(got, base, in, p); err != nil || got[n-1] != want[n-1] {
			t.Errorf("%s with an open Done: %v", name, err)
		}
		p.Done = closed
		if err := m.Run(got, base, in, p); !errors.Is(err, ErrCancelled) {
			t.Errorf("%s with a closed Done: %v, want ErrCancelled", name, err)
		}
	}
}
