package merge

import (
	"math"
	"strings"
	"testing"
)

func f32(v ...float32) []float32 { return v }

// TestErrors checks each validation error: one line, starting "vsdb: ",
// naming what is wrong.
func TestErrors(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	b4 := f32(1, 2, 3, 4)
	x4 := f32(1, 2, 3, 5)
	w2 := []float64{0.5, 0.5}
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"ties length", func() error {
			return TIES(make([]float32, 4), b4, [][]float32{x4, f32(1, 2, 3)}, Params{Weights: w2})
		}, "ties: input 1 has 3 elements but base has 4"},
		{"out length", func() error {
			return TaskArithmetic(make([]float32, 3), b4, [][]float32{x4}, Params{Weights: []float64{1}})
		}, "task_arithmetic: base has 4 elements but out has 3"},
		{"linear length", func() error {
			return Linear(make([]float32, 4), [][]float32{x4, f32(1)}, Params{Weights: w2})
		}, "linear: input 1 has 1 elements but out has 4"},
		{"slerp length", func() error {
			return SLERP(make([]float32, 4), x4, f32(1, 2), 0.5)
		}, "slerp: input 1 has 2 elements but out has 4"},
		{"model_stock length", func() error {
			return ModelStock(make([]float32, 4), b4, [][]float32{x4, f32(1, 2, 3, 4, 5)})
		}, "model_stock: input 1 has 5 elements but base has 4"},
		{"weight count", func() error {
			return Linear(make([]float32, 4), [][]float32{x4, x4}, Params{Weights: []float64{1}})
		}, "linear: 1 weights for 2 inputs"},
		{"missing weights", func() error {
			return TIES(make([]float32, 4), b4, [][]float32{x4}, Params{})
		}, "ties: 0 weights for 1 inputs"},
		{"nan weight", func() error {
			return DARE(make([]float32, 4), b4, [][]float32{x4}, Params{Weights: []float64{math.NaN()}}, true)
		}, "dare_ties: weight 0 is NaN"},
		{"nan input", func() error {
			return TIES(make([]float32, 4), b4, [][]float32{x4, f32(1, 2, nan, 4)}, Params{Weights: w2})
		}, "ties: input 1 element 2 is NaN"},
		{"inf base", func() error {
			return ModelStock(make([]float32, 4), f32(inf, 0, 0, 0), [][]float32{x4, x4})
		}, "model_stock: base element 0 is +Inf"},
		{"inf slerp", func() error {
			return SLERP(make([]float32, 2), f32(0, -inf), f32(1, 1), 0.5)
		}, "slerp: input 0 element 1 is -Inf"},
		{"density high", func() error {
			return TIES(make([]float32, 4), b4, [][]float32{x4}, Params{Weights: []float64{1}, Density: Float(1.5)})
		}, "ties: density 1.5 for input 0 is outside [0, 1]"},
		{"density negative", func() error {
			return DARE(make([]float32, 4), b4, [][]float32{x4}, Params{Weights: []float64{1}, Density: Float(-0.1)}, false)
		}, "dare_linear: density -0.1 for input 0 is outside [0, 1]"},
		{"density nan", func() error {
			return DARE(make([]float32, 4), b4, [][]float32{x4, x4}, Params{Weights: w2, Densities: []float64{1, math.NaN()}}, false)
		}, "dare_linear: density NaN for input 1 is outside [0, 1]"},
		{"densities count", func() error {
			return TIES(make([]float32, 4), b4, [][]float32{x4, x4}, Params{Weights: w2, Densities: []float64{1}})
		}, "ties: 1 densities for 2 inputs"},
		{"density and densities", func() error {
			return TIES(make([]float32, 4), b4, [][]float32{x4}, Params{Weights: []float64{1}, Density: Float(1), Densities: []float64{1}})
		}, "ties: give density or densities, not both"},
		{"t high", func() error { return SLERP(make([]float32, 4), x4, x4, 1.01) }, "slerp: t is 1.01, want a number in [0, 1]"},
		{"t nan", func() error { return SLERP(make([]float32, 4), x4, x4, math.NaN()) }, "slerp: t is NaN"},
		{"lambda inf", func() error {
			return TaskArithmetic(make([]float32, 4), b4, [][]float32{x4}, Params{Weights: []float64{1}, Lambda: Float(math.Inf(-1))})
		}, "task_arithmetic: lambda is -Inf, want a finite number"},
		{"model_stock one input", func() error {
			return ModelStock(make([]float32, 4), b4, [][]float32{x4})
		}, "model_stock takes at least 2 inputs, got 1"},
		{"no inputs", func() error {
			return Linear(nil, nil, Params{})
		}, "linear takes at least 1 inputs, got 0"},
		{"linear sum zero", func() error {
			return Linear(make([]float32, 4), [][]float32{x4, x4}, Params{Weights: []float64{1, -1}})
		}, "linear: weights sum to 0, cannot normalize"},
		{"overflow", func() error {
			return Linear(make([]float32, 2), [][]float32{f32(1, 3e38)}, Params{Weights: []float64{10}, Normalize: Bool(false)})
		}, "linear: result element 1 is +Inf (overflow)"},
		{"linear density", func() error {
			return Linear(make([]float32, 4), [][]float32{x4}, Params{Weights: []float64{1}, Density: Float(0.5)})
		}, "linear does not accept option density"},
		{"task_arithmetic rescale", func() error {
			return TaskArithmetic(make([]float32, 4), b4, [][]float32{x4}, Params{Weights: []float64{1}, Rescale: Bool(true)})
		}, "task_arithmetic does not accept option rescale"},
		{"ties seed", func() error {
			return TIES(make([]float32, 4), b4, [][]float32{x4}, Params{Weights: []float64{1}, Seed: 7})
		}, "ties does not accept option seed"},
		{"bad rescale mode", func() error {
			return DARE(make([]float32, 4), b4, [][]float32{x4}, Params{Weights: []float64{1}, RescaleMode: "l2"}, false)
		}, `dare_linear: unknown rescale_mode "l2"`},
		{"unknown method", func() error { _, err := Lookup("frankenmerge"); return err }, `unknown method "frankenmerge" (known: linear, task_arithmetic, ties, dare_linear, dare_ties, slerp, model_stock)`},
		{"run slerp three", func() error {
			return mustRun("slerp", make([]float32, 4), nil, [][]float32{x4, x4, x4}, Params{T: Float(0.5)})
		}, "slerp takes exactly 2 inputs, got 3"},
		{"run slerp no t", func() error { return mustRun("slerp", make([]float32, 4), nil, [][]float32{x4, x4}, Params{}) }, "slerp needs option t"},
		{"run slerp weights", func() error {
			return mustRun("slerp", make([]float32, 4), nil, [][]float32{x4, x4}, Params{T: Float(0.5), Weights: w2})
		}, "slerp does not accept option weights"},
		{"run model_stock weights", func() error {
			return mustRun("model_stock", make([]float32, 4), b4, [][]float32{x4, x4}, Params{Weights: w2})
		}, "model_stock does not accept option weights"},
		{"run linear base", func() error {
			return mustRun("linear", make([]float32, 4), b4, [][]float32{x4}, Params{Weights: []float64{1}})
		}, "linear takes no base"},
		{"run ties no base", func() error {
			return mustRun("ties", make([]float32, 4), nil, [][]float32{x4}, Params{Weights: []float64{1}})
		}, "ties: base has 0 elements but out has 4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "vsdb: ") || strings.Contains(msg, "\n") {
				t.Errorf("error %q is not one line starting \"vsdb: \"", msg)
			}
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q does not contain %q", msg, c.want)
			}
		})
	}
}

// mustRun runs the registered method name.
func mustRun(name string, out, base []float32, in [][]float32, p Params) error {
	m, err := Lookup(name)
	if err != nil {
		return err
	}
	return m.Run(out, base, in, p)
}
