package planner

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vsdb/vsdb/merge"
	"github.com/vsdb/vsdb/query"
	"github.com/vsdb/vsdb/tensor"
)

// TestStreamingMatchesMerge: linear and task_arithmetic run window by
// window through the kernel; their results must equal the merge package's
// whole-tensor functions.
func TestStreamingMatchesMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	vals := func() []float32 {
		v := make([]float32, 300) // several 64-byte windows
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	m := newMem()
	x, y, base := vals(), vals(), vals()
	m.add("x", "layers.0.w", tensor.F32, tensor.Shape{300}, x)
	m.add("y", "layers.0.w", tensor.F32, tensor.Shape{300}, y)
	m.add("b", "layers.0.w", tensor.F32, tensor.Shape{300}, base)
	cases := []struct {
		stmt string
		want func(out []float32) error
	}{
		{"FUSE x, y WEIGHTS 0.3, 0.9 USING linear", func(out []float32) error {
			return merge.Linear(out, [][]float32{x, y}, merge.Params{Weights: []float64{0.3, 0.9}})
		}},
		{"FUSE x, y WEIGHTS 0.3, 0.9 USING linear(normalize = false)", func(out []float32) error {
			return merge.Linear(out, [][]float32{x, y}, merge.Params{Weights: []float64{0.3, 0.9}, Normalize: merge.Bool(false)})
		}},
		{"FUSE x, y WEIGHTS 0.3, 0.9 USING task_arithmetic(lambda = 0.7) BASE b", func(out []float32) error {
			return merge.TaskArithmetic(out, base, [][]float32{x, y}, merge.Params{Weights: []float64{0.3, 0.9}, Lambda: merge.Float(0.7)})
		}},
		{"FUSE x, y WEIGHTS 0.3, 0.9 USING task_arithmetic(normalize = true) BASE b", func(out []float32) error {
			return merge.TaskArithmetic(out, base, [][]float32{x, y}, merge.Params{Weights: []float64{0.3, 0.9}, Normalize: merge.Bool(true)})
		}},
	}
	for _, c := range cases {
		stmt, err := query.Parse(c.stmt)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Build(c.stmt, stmt, m)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Root.(*FuseNode).Streaming {
			t.Fatalf("%s: not streamed", c.stmt)
		}
		res, err := Run(context.Background(), p, m)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := res.Tensors[0].Float32s()
		want := make([]float32, 300)
		if err := c.want(want); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-6*math.Max(1, math.Abs(float64(want[i]))) {
				t.Fatalf("%s: element %d = %v, merge says %v", c.stmt, i, got[i], want[i])
			}
		}
	}
}
