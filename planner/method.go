package planner

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
	"github.com/vsdb/vsdb/merge"
	"github.com/vsdb/vsdb/query"
)

// checkNames refuses unknown models named by SHOW LAYERS OF, DESCRIBE,
// STATS, DELETE MODEL, CHECK, DETACH MODEL and SHOW TENSORS FROM, at their
// position.
func checkNames(p *Plan, cat Catalog) (bool, error) {
	var name string
	var pos lexer.Position
	switch s := p.Stmt.(type) {
	case *query.ShowLayers:
		name, pos = s.Of, s.OfPos
	case *query.ShowTensors:
		name, pos = s.From, s.FromPos
	case *query.Describe:
		name, pos = s.Model, s.ModelPos
	case *query.Stats:
		name, pos = s.Model, s.ModelPos
	case *query.DeleteModel:
		name, pos = s.Model, s.ModelPos
	case *query.Check:
		name, pos = s.Model, s.ModelPos
	case *query.Detach:
		name, pos = s.Model, s.ModelPos
	}
	if name == "" {
		return false, nil
	}
	if _, ok, err := cat.Model(name); err != nil {
		return false, err
	} else if !ok {
		return false, noModel(p.Src, pos, name, cat)
	}
	return false, nil
}

// streamingMethods are linear combinations of their inputs (and base): they
// run window by window through the fused kernel; the others need whole
// tensors in memory.
var streamingMethods = map[string]bool{"": true, "linear": true, "task_arithmetic": true}

// resolveMethod checks USING, its options, WEIGHTS and BASE against the
// method, and fills the node's merge parameters.
func resolveMethod(p *Plan, _ Catalog) (bool, error) {
	n, ok := p.Root.(*FuseNode)
	if !ok {
		return false, nil
	}
	f := p.fuseStmt()
	n.Streaming = streamingMethods[n.Method]
	if n.Method == "" {
		if n.Base != "" {
			return false, query.ErrorAt(p.Src, f.BasePos, "BASE needs a method that uses it (USING task_arithmetic, ties, dare_linear, dare_ties or model_stock)")
		}
		return true, nil
	}
	m, err := merge.Lookup(n.Method)
	if err != nil {
		return false, query.ErrorAt(p.Src, f.MethodPos, "unknown merge method %q (methods: %s)%s", n.Method, strings.Join(merge.Names(), ", "), didYouMean(n.Method, merge.Names()))
	}
	if err := checkArity(p, f, m); err != nil {
		return false, err
	}
	return true, setOptions(p, f, n, m)
}

// checkArity checks inputs, weights and base against the method.
func checkArity(p *Plan, f *query.Fuse, m merge.Method) error {
	inputs := len(f.Inputs)
	switch {
	case inputs < m.MinInputs:
		return query.ErrorAt(p.Src, f.Pos, "%s needs at least %d inputs, got %d", m.Name, m.MinInputs, inputs)
	case m.MaxInputs >= 0 && inputs > m.MaxInputs:
		return query.ErrorAt(p.Src, f.Inputs[m.MaxInputs].Pos, "%s takes exactly %d inputs, got %d", m.Name, m.MaxInputs, inputs)
	case m.NeedsBase && f.Base == "":
		return query.ErrorAt(p.Src, f.MethodPos, "%s needs a BASE model (FUSE ... USING %s BASE m)", m.Name, m.Name)
	case !m.NeedsBase && f.Base != "":
		return query.ErrorAt(p.Src, f.BasePos, "%s takes no BASE", m.Name)
	}
	needsWeights := hasOption(m, "weight")
	switch {
	case needsWeights && f.Weights == nil:
		return query.ErrorAt(p.Src, f.MethodPos, "%s needs WEIGHTS, one per input", m.Name)
	case !needsWeights && f.Weights != nil:
		return query.ErrorAt(p.Src, f.WeightsPos, "%s takes no WEIGHTS", m.Name)
	}
	return nil
}

func hasOption(m merge.Method, key string) bool {
	for _, o := range m.Options {
		if o.Key == key {
			return true
		}
	}
	return false
}

// setOptions validates the USING options and sets them on the parameters.
func setOptions(p *Plan, f *query.Fuse, n *FuseNode, m merge.Method) error {
	for _, o := range f.Options {
		if o.Key == "vocab" {
			if o.Kind != query.OptString || o.Str != "common" {
				return query.ErrorAt(p.Src, o.ValuePos, "vocab takes 'common' (merge the rows all vocabularies share)")
			}
			n.Vocab = "common"
			continue
		}
		spec, ok := optionSpec(m, o.Key)
		if !ok || spec.Key == "weight" {
			return query.ErrorAt(p.Src, o.Pos, "%s has no option %q (options: %s)", m.Name, o.Key, optionKeys(m))
		}
		if err := setOption(&n.Params, spec, o); err != nil {
			return query.ErrorAt(p.Src, o.ValuePos, "%s: %s", o.Key, err)
		}
	}
	for _, spec := range m.Options {
		if spec.Required && spec.Key != "weight" {
			if _, given := f.Option(spec.Key); !given {
				return query.ErrorAt(p.Src, f.MethodPos, "%s needs the option %s (USING %s(%s = ...))", m.Name, spec.Key, m.Name, spec.Key)
			}
		}
	}
	return nil
}

func optionSpec(m merge.Method, key string) (merge.Option, bool) {
	for _, o := range m.Options {
		if o.Key == key {
			return o, true
		}
	}
	return merge.Option{}, false
}

func optionKeys(m merge.Method) string {
	keys := []string{"vocab"}
	for _, o := range m.Options {
		if o.Key != "weight" {
			keys = append(keys, o.Key)
		}
	}
	return strings.Join(keys, ", ")
}

// setOption stores one option value in the field its spec names.
func setOption(pr *merge.Params, spec merge.Option, o query.Option) error {
	want := map[string]query.OptionKind{"float": query.OptNumber, "uint64": query.OptNumber, "bool": query.OptBool, "string": query.OptString}[spec.Type]
	if o.Kind != want {
		return fmt.Errorf("expected a %s, got a %s", spec.Type, o.Kind)
	}
	switch spec.Key {
	case "normalize":
		pr.Normalize = merge.Bool(o.Bool)
	case "rescale":
		pr.Rescale = merge.Bool(o.Bool)
	case "lambda":
		pr.Lambda = merge.Float(o.Number)
	case "density":
		if o.Number < 0 || o.Number > 1 {
			return fmt.Errorf("must be between 0 and 1")
		}
		pr.Density = merge.Float(o.Number)
	case "t":
		if o.Number < 0 || o.Number > 1 {
			return fmt.Errorf("must be between 0 and 1")
		}
		pr.T = merge.Float(o.Number)
	case "seed":
		if o.Number < 0 || o.Number != math.Trunc(o.Number) || o.Number >= 1<<53 {
			return fmt.Errorf("must be a whole number from 0 to 2^53")
		}
		pr.Seed = uint64(o.Number)
	case "rescale_mode":
		mode := merge.RescaleMode(o.Str)
		if mode != merge.RescaleL1 && mode != merge.RescaleInverseDensity {
			return fmt.Errorf("must be '%s' or '%s'", merge.RescaleL1, merge.RescaleInverseDensity)
		}
		pr.RescaleMode = mode
	}
	return nil
}

// filterGroups reports a FUSE whose WHERE (applied to every input's
// tensors before pairing) left nothing to merge.
func filterGroups(p *Plan, _ Catalog) (bool, error) {
	n, ok := p.Root.(*FuseNode)
	if !ok || n.Where == nil {
		return false, nil
	}
	if len(n.Groups) == 0 {
		return false, query.ErrorAt(p.Src, n.Where.Position(), "WHERE %s leaves no tensor to fuse", n.Where)
	}
	return true, nil
}

var layerNumber = regexp.MustCompile(`(\d+)$`)

// resolveWeights gives every group its weights: plain weights as written,
// gradients ([a, b, ...], mergekit's) interpolated linearly over the
// groups' layer numbers. Tensors outside numbered layers take the
// gradient's first value before the first numbered layer and its last
// value after.
func resolveWeights(p *Plan, _ Catalog) (bool, error) {
	n, ok := p.Root.(*FuseNode)
	if !ok || n.Weights == nil {
		return false, nil
	}
	lo, hi := math.MaxInt, -1
	for _, g := range n.Groups {
		if k, ok := layerIndex(g.In[0].Layer); ok {
			lo, hi = min(lo, k), max(hi, k)
		}
	}
	seenLayer := false
	for i := range n.Groups {
		g := &n.Groups[i]
		k, numbered := layerIndex(g.In[0].Layer)
		seenLayer = seenLayer || numbered
		x := 0.0 // position in [0, 1] along the layers
		switch {
		case numbered && hi > lo:
			x = float64(k-lo) / float64(hi-lo)
		case !numbered && seenLayer:
			x = 1
		}
		g.Weights = make([]float64, len(n.Weights))
		for j, w := range n.Weights {
			g.Weights[j] = interpolate(w, x)
		}
	}
	return true, nil
}

func layerIndex(layer string) (int, bool) {
	m := layerNumber.FindString(layer)
	if m == "" {
		return 0, false
	}
	k, err := strconv.Atoi(m)
	return k, err == nil
}

// interpolate evaluates a weight at position x in [0, 1]: a plain weight is
// constant; a gradient's values are spread evenly over [0, 1].
func interpolate(w query.Weight, x float64) float64 {
	if len(w.Gradient) == 0 {
		return w.Value
	}
	pos := x * float64(len(w.Gradient)-1)
	i := min(int(pos), len(w.Gradient)-2)
	frac := pos - float64(i)
	return w.Gradient[i]*(1-frac) + w.Gradient[i+1]*frac
}
