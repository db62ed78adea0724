package merge

import (
	"fmt"
	"strings"
)

// Method describes one merge method for a planner: what it needs, which
// options it accepts with their defaults, and a uniform entry point.
type Method struct {
	// Name is mergekit's name for the method (merge_method in its YAML).
	Name string
	// NeedsBase says whether the method takes a base tensor. slerp has none
	// here: mergekit's base_model is its first input (t = 0).
	NeedsBase bool
	// MinInputs and MaxInputs bound the number of inputs, not counting the
	// base; MaxInputs < 0 means no upper bound.
	MinInputs, MaxInputs int
	// Options lists the accepted options in a fixed order.
	Options []Option
	// Source is the mergekit file (in arcee-ai/mergekit) the math follows.
	Source string

	run func(out, base []float32, in [][]float32, p Params) error
}

// Option describes one option of a method.
type Option struct {
	// Key is the option's name as mergekit spells it ("weight", "density",
	// "normalize", ...), except "seed" and "rescale_mode", which are vsdb's.
	Key string
	// Field is the Params field that carries it; empty for an option
	// accepted only so that mergekit configurations validate, which does
	// not change the result (int8_mask: the dtype of mergekit's sign mask)
	// and which the planner does not pass on.
	Field string
	// Type is "float", "bool", "uint64" or "string".
	Type string
	// Default is the default shown by EXPLAIN, "" when Required.
	Default string
	// Required says the option has no default.
	Required bool
	// PerInput says the option takes one value per input (mergekit's
	// tensor parameters).
	PerInput bool
}

// Run checks that base is given exactly when m.NeedsBase and merges in
// (onto base) into out with p, as the method's own function does.
func (m Method) Run(out, base []float32, in [][]float32, p Params) error {
	if !m.NeedsBase && base != nil {
		return fmt.Errorf("vsdb: merge: %s takes no base", m.Name)
	}
	return m.run(out, base, in, p)
}

var (
	optWeight = Option{Key: "weight", Field: "Weights", Type: "float", Required: true, PerInput: true}
	optDens   = Option{Key: "density", Field: "Density, Densities", Type: "float", Default: "1", PerInput: true}
	optLam    = Option{Key: "lambda", Field: "Lambda", Type: "float", Default: "1"}
	optSeedO  = Option{Key: "seed", Field: "Seed", Type: "uint64", Default: "0"}
	optModeO  = Option{Key: "rescale_mode", Field: "RescaleMode", Type: "string", Default: string(RescaleL1)}
	optInt8   = Option{Key: "int8_mask", Type: "bool", Default: "false"}
)

// normalizeOpt and rescaleOpt describe the boolean options with a
// method-specific default.
func normalizeOpt(def bool) Option {
	return Option{Key: "normalize", Field: "Normalize", Type: "bool", Default: fmt.Sprint(def)}
}

func rescaleOpt(def bool) Option {
	return Option{Key: "rescale", Field: "Rescale", Type: "bool", Default: fmt.Sprint(def)}
}

const (
	srcGTA = "mergekit/merge_methods/generalized_task_arithmetic.py, mergekit/sparsify.py"
)

// methods is the registry, in the order Methods returns it.
var methods = []Method{
	{
		Name: "linear", MinInputs: 1, MaxInputs: -1,
		Options: []Option{optWeight, normalizeOpt(true)},
		Source:  "mergekit/merge_methods/linear.py",
		run: func(out, base []float32, in [][]float32, p Params) error {
			return Linear(out, in, p)
		},
	},
	{
		Name: "task_arithmetic", NeedsBase: true, MinInputs: 1, MaxInputs: -1,
		Options: []Option{optWeight, normalizeOpt(false), optLam},
		Source:  "mergekit/merge_methods/generalized_task_arithmetic.py",
		run:     TaskArithmetic,
	},
	{
		Name: "ties", NeedsBase: true, MinInputs: 1, MaxInputs: -1,
		Options: []Option{optWeight, optDens, normalizeOpt(true), rescaleOpt(false), optModeO, optLam, optInt8},
		Source:  srcGTA,
		run:     TIES,
	},
	{
		Name: "dare_linear", NeedsBase: true, MinInputs: 1, MaxInputs: -1,
		Options: []Option{optWeight, optDens, normalizeOpt(false), rescaleOpt(true), optModeO, optLam, optSeedO},
		Source:  srcGTA,
		run: func(out, base []float32, in [][]float32, p Params) error {
			return DARE(out, base, in, p, false)
		},
	},
	{
		Name: "dare_ties", NeedsBase: true, MinInputs: 1, MaxInputs: -1,
		Options: []Option{optWeight, optDens, normalizeOpt(false), rescaleOpt(true), optModeO, optLam, optSeedO, optInt8},
		Source:  srcGTA,
		run: func(out, base []float32, in [][]float32, p Params) error {
			return DARE(out, base, in, p, true)
		},
	},
	{
		Name: "slerp", MinInputs: 2, MaxInputs: 2,
		Options: []Option{{Key: "t", Field: "T", Type: "float", Required: true}},
		Source:  "mergekit/merge_methods/slerp.py",
		run:     runSLERP,
	},
	{
		Name: "model_stock", NeedsBase: true, MinInputs: 2, MaxInputs: -1,
		Source: "mergekit/merge_methods/model_stock.py",
		run: func(out, base []float32, in [][]float32, p Params) error {
			if err := checkOptions("model_stock", p, 0); err != nil {
				return err
			}
			return ModelStock(out, base, in)
		},
	},
}

// runSLERP is slerp's uniform entry: exactly two inputs and option t.
func runSLERP(out, _ []float32, in [][]float32, p Params) error {
	if err := checkOptions("slerp", p, optT); err != nil {
		return err
	}
	if err := checkInputCount("slerp", len(in), 2, 2); err != nil {
		return err
	}
	if p.T == nil {
		return fmt.Errorf("vsdb: merge: slerp needs option t")
	}
	return SLERP(out, in[0], in[1], *p.T)
}

// Lookup returns the method called name (case-insensitive), or an error
// listing the known names.
func Lookup(name string) (Method, error) {
	for _, m := range methods {
		if strings.EqualFold(m.Name, name) {
			m.Options = append([]Option(nil), m.Options...)
			return m, nil
		}
	}
	return Method{}, fmt.Errorf("vsdb: merge: unknown method %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Methods returns every method, in a fixed order. The result is a copy
// the caller may modify.
func Methods() []Method {
	ms := append([]Method(nil), methods...)
	for i := range ms {
		ms[i].Options = append([]Option(nil), ms[i].Options...)
	}
	return ms
}

// Names returns the names of every method, in the order of Methods.
func Names() []string {
	names := make([]string, len(methods))
	for i, m := range methods {
		names[i] = m.Name
	}
	return names
}
