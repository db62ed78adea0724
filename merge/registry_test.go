package merge

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// setters sets one option of Params to a valid non-default value, by
// Option.Key.
var setters = map[string]func(*Params, int){
	"weight": func(p *Params, n int) {
		p.Weights = make([]float64, n)
		for i := range p.Weights {
			p.Weights[i] = 0.5
		}
	},
	"density":      func(p *Params, _ int) { p.Density = Float(0.5) },
	"normalize":    func(p *Params, _ int) { p.Normalize = Bool(true) },
	"rescale":      func(p *Params, _ int) { p.Rescale = Bool(false) },
	"rescale_mode": func(p *Params, _ int) { p.RescaleMode = RescaleInverseDensity },
	"lambda":       func(p *Params, _ int) { p.Lambda = Float(0.5) },
	"seed":         func(p *Params, _ int) { p.Seed = 9 },
	"t":            func(p *Params, _ int) { p.T = Float(0.5) },
}

// TestRegistryOptions checks that Method.Options lists exactly the options
// Run accepts: every listed option can be set, and setting any other one is
// an error.
func TestRegistryOptions(t *testing.T) {
	if got, want := Names(), []string{"linear", "task_arithmetic", "ties", "dare_linear", "dare_ties", "slerp", "model_stock"}; !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	const n = 8
	for _, m := range Methods() {
		inputs := max(m.MinInputs, 2)
		in := make([][]float32, inputs)
		for i := range in {
			in[i] = make([]float32, n)
			for j := range in[i] {
				in[i][j] = float32(i*n + j)
			}
		}
		var base []float32
		if m.NeedsBase {
			base = make([]float32, n)
		}
		all := Params{}
		for _, o := range m.Options {
			if o.Field == "" {
				continue // accepted, no effect
			}
			set, ok := setters[o.Key]
			if !ok {
				t.Fatalf("%s: no setter for option %q", m.Name, o.Key)
			}
			set(&all, inputs)
		}
		if err := m.Run(make([]float32, n), base, in, all); err != nil {
			t.Fatalf("%s with all its options: %v", m.Name, err)
		}
		for key, set := range setters {
			if slices.ContainsFunc(m.Options, func(o Option) bool { return o.Key == key }) {
				continue
			}
			p := all
			set(&p, inputs)
			if err := m.Run(make([]float32, n), base, in, p); err == nil {
				t.Errorf("%s accepts option %q, which Options does not list", m.Name, key)
			}
		}
		for _, o := range m.Options {
			if o.Required == (o.Default != "") {
				t.Errorf("%s option %s: Required=%v with Default %q", m.Name, o.Key, o.Required, o.Default)
			}
		}
		if got, err := Lookup(m.Name); err != nil || got.Name != m.Name {
			t.Errorf("Lookup(%q) = %v, %v", m.Name, got.Name, err)
		}
	}
	if m, err := Lookup("TIES"); err != nil || m.Name != "ties" {
		t.Errorf("Lookup is not case-insensitive: %v %v", m.Name, err)
	}
}

// TestRegistryDefaults checks the documented defaults against behaviour:
// running with the option unset equals running with it set to Default.
func TestRegistryDefaults(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n = 50
	for _, m := range Methods() {
		inputs := max(m.MinInputs, 3)
		if m.MaxInputs >= 0 {
			inputs = m.MaxInputs
		}
		in := make([][]float32, inputs)
		base := make([]float32, n)
		for j := range base {
			base[j] = float32(r.NormFloat64())
		}
		for i := range in {
			in[i] = make([]float32, n)
			for j := range in[i] {
				in[i][j] = base[j] + float32(0.1*r.NormFloat64())
			}
		}
		if !m.NeedsBase {
			base = nil
		}
		p := Params{}
		if slices.ContainsFunc(m.Options, func(o Option) bool { return o.Key == "weight" }) {
			p.Weights = []float64{0.7, 0.2, 0.4}[:inputs]
		}
		if m.Name == "slerp" {
			p.T = Float(0.3)
		}
		if slices.ContainsFunc(m.Options, func(o Option) bool { return o.Key == "density" }) {
			p.Density = Float(0.6)
		}
		want := make([]float32, n)
		if err := m.Run(want, base, in, p); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		for _, o := range m.Options {
			q := p
			switch o.Key {
			case "normalize":
				q.Normalize = Bool(o.Default == "true")
			case "rescale":
				q.Rescale = Bool(o.Default == "true")
			case "lambda":
				q.Lambda = Float(1)
				if o.Default != "1" {
					t.Fatalf("%s: lambda default %q", m.Name, o.Default)
				}
			case "rescale_mode":
				q.RescaleMode = RescaleMode(o.Default)
			default:
				continue
			}
			got := make([]float32, n)
			if err := m.Run(got, base, in, q); err != nil {
				t.Fatalf("%s %s=%s: %v", m.Name, o.Key, o.Default, err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: setting %s to its documented default %s changes the result", m.Name, o.Key, o.Default)
			}
			// And the option matters: flipping a boolean changes the result.
			if o.Type == "bool" && o.Field != "" {
				q.Normalize, q.Rescale = p.Normalize, p.Rescale
				if o.Key == "normalize" {
					q.Normalize = Bool(o.Default != "true")
				} else {
					q.Rescale = Bool(o.Default != "true")
				}
				if err := m.Run(got, base, in, q); err != nil {
					t.Fatal(err)
				}
				if slices.Equal(got, want) {
					t.Errorf("%s: flipping %s changes nothing", m.Name, o.Key)
				}
			}
		}
	}
}

// TestNeverNaN runs every method on degenerate finite inputs (zeros, equal,
// opposite and colinear vectors, tiny and huge values, cancelling weights)
// and checks each either fails or returns finite values.
func TestNeverNaN(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const n = 16
	gen := []func(j int) float32{
		func(int) float32 { return 0 },
		func(j int) float32 { return float32(j%3) - 1 },
		func(int) float32 { return 1e-30 },
		func(int) float32 { return math.MaxFloat32 },
		func(int) float32 { return -math.MaxFloat32 },
		func(int) float32 { return float32(r.NormFloat64()) },
		func(int) float32 { return math.SmallestNonzeroFloat32 },
	}
	vec := func(g func(int) float32, scale float32) []float32 {
		v := make([]float32, n)
		for j := range v {
			v[j] = g(j) * scale
		}
		return v
	}
	weightSets := [][]float64{{1, 1}, {1, -1}, {0, 0}, {1e-9, -1e-9}, {1e300, 1e300}}
	for _, m := range Methods() {
		ok := 0
		for trial := range 400 {
			a := vec(gen[trial%len(gen)], 1)
			b := vec(gen[(trial/len(gen))%len(gen)], []float32{1, -1, 2, 0.5}[trial%4])
			base := vec(gen[(trial/7)%len(gen)], 1)
			if trial%5 == 0 {
				b = append([]float32(nil), a...)
			}
			in := [][]float32{a, b}
			p := Params{}
			if slices.ContainsFunc(m.Options, func(o Option) bool { return o.Key == "weight" }) {
				p.Weights = weightSets[trial%len(weightSets)]
			}
			if m.Name == "slerp" {
				p.T = Float(float64(trial%5) / 4)
			}
			if slices.ContainsFunc(m.Options, func(o Option) bool { return o.Key == "density" }) {
				p.Density = Float([]float64{0, 0.1, 0.5, 1}[trial%4])
				p.Normalize = Bool(trial%2 == 0)
			}
			if !m.NeedsBase {
				base = nil
			}
			out := make([]float32, n)
			if err := m.Run(out, base, in, p); err != nil {
				continue
			}
			ok++
			for j, v := range out {
				if v-v != 0 {
					t.Fatalf("%s trial %d: out[%d] = %v", m.Name, trial, j, v)
				}
			}
		}
		t.Logf("%s: %d of 400 degenerate trials succeeded, the rest failed cleanly", m.Name, ok)
		if ok < 100 {
			t.Errorf("%s: only %d trials succeeded", m.Name, ok)
		}
	}
}
