package planner

import (
	"github.com/alecthomas/participle/v2/lexer"
	"sort"
	"strings"

	"github.com/vsdb/vsdb/query"
	"github.com/vsdb/vsdb/tensor"
)

// selection is what one selector resolved to.
type selection struct {
	sel query.Selector
	// kind is "tensor", "layer", "prefix" or "model".
	kind    string
	tensors []TensorInfo
	keys    []string
}

// checkTarget refuses FUSE ... INTO an existing model.
func checkTarget(p *Plan, cat Catalog) (bool, error) {
	n, ok := p.Root.(*FuseNode)
	if !ok || n.Into == "" {
		return false, nil
	}
	if err := query.ValidModelName(n.Into); err != nil {
		return false, query.ErrorAt(p.Src, p.fuseStmt().IntoPos, "%s", strings.TrimPrefix(err.Error(), "vsdb: "))
	}
	if _, exists, err := cat.Model(n.Into); err != nil {
		return false, err
	} else if exists {
		f := p.fuseStmt()
		return false, query.ErrorAt(p.Src, f.IntoPos, "model %q already exists; INTO needs a new name", n.Into)
	}
	return false, nil
}

func (p *Plan) fuseStmt() *query.Fuse {
	s := p.Stmt
	if ex, ok := s.(*query.Explain); ok {
		s = ex.Stmt
	}
	f, _ := s.(*query.Fuse)
	return f
}

// resolveSelectors checks that GET names one tensor; FUSE selectors are
// resolved by pairInputs, which needs them all at once.
func resolveSelectors(p *Plan, cat Catalog) (bool, error) {
	g, ok := p.Root.(*GetNode)
	if !ok {
		return false, nil
	}
	s, err := resolve(p.Src, g.Sel, cat)
	if err != nil {
		return false, err
	}
	if s.kind != "tensor" {
		return false, query.ErrorAt(p.Src, g.Sel.Pos, "GET needs one tensor, but %s is a %s of %d tensors", g.Sel, s.kind, len(s.tensors))
	}
	g.Tensor = s.tensors[0]
	return true, nil
}

// resolve finds the tensors a selector names: a whole model, one tensor, a
// layer (tensors keyed by parameter) or a dotted name prefix.
func resolve(src string, sel query.Selector, cat Catalog) (*selection, error) {
	if _, ok, err := cat.Model(sel.Model); err != nil {
		return nil, err
	} else if !ok {
		return nil, noModel(src, sel.Pos, sel.Model, cat)
	}
	all, err := cat.Tensors(sel.Model)
	if err != nil {
		return nil, err
	}
	s := &selection{sel: sel}
	if sel.Path == "" {
		s.kind = "model"
		for _, t := range all {
			s.tensors, s.keys = append(s.tensors, t), append(s.keys, t.Name)
		}
		return s, nil
	}
	for _, t := range all {
		if t.Name == sel.Path {
			s.kind, s.tensors, s.keys = "tensor", []TensorInfo{t}, []string{""}
			return s, nil
		}
	}
	for _, t := range all {
		switch {
		case t.Layer == sel.Path:
			s.kind = "layer"
			s.tensors, s.keys = append(s.tensors, t), append(s.keys, t.Param)
		case strings.HasPrefix(t.Name, sel.Path+"."):
			s.kind = "prefix"
			s.tensors, s.keys = append(s.tensors, t), append(s.keys, t.Name[len(sel.Path)+1:])
		}
	}
	if len(s.tensors) == 0 {
		return nil, query.ErrorAt(src, sel.Pos, "model %q has no tensor or layer %q%s", sel.Model, sel.Path, suggestPath(sel.Path, all))
	}
	return s, nil
}

// suggestPath proposes the nearest layer or tensor name, else lists a few
// layers.
func suggestPath(path string, all []TensorInfo) string {
	var layers, tensors []string
	for _, t := range all {
		layers = append(layers, t.Layer)
		tensors = append(tensors, t.Name)
	}
	layers = names(layers)
	if s := nearest(path, append(append([]string{}, layers...), tensors...)); s != "" && !digitsOnly(path, s) {
		return " (did you mean " + s + "?)"
	}
	if len(layers) == 0 {
		return ""
	}
	sort.Strings(layers)
	return " (layers: " + quoteList(layers, 4) + ")"
}

// noModel is the error for an unknown model name, with the nearest one.
func noModel(src string, pos lexer.Position, name string, cat Catalog) error {
	hint := " (SHOW MODELS lists them)"
	if ms, err := cat.Models(); err == nil {
		all := make([]string, len(ms))
		for i, m := range ms {
			all[i] = m.Name
		}
		if s := didYouMean(name, all); s != "" {
			hint = s
		}
	}
	return query.ErrorAt(src, pos, "no model %q%s", name, hint)
}

// MaxFuseInputs bounds the inputs of one FUSE: its memory grows with the
// number of inputs (a few chunks each).
const MaxFuseInputs = 64

// pairInputs resolves every FUSE selector and matches their tensors: one
// group per output tensor.
func pairInputs(p *Plan, cat Catalog) (bool, error) {
	n, ok := p.Root.(*FuseNode)
	if !ok {
		return false, nil
	}
	if len(n.Inputs) > MaxFuseInputs {
		return false, query.ErrorAt(p.Src, n.Inputs[MaxFuseInputs].Pos, "FUSE takes at most %d inputs (%d given)", MaxFuseInputs, len(n.Inputs))
	}
	sels := make([]*selection, len(n.Inputs))
	for i, in := range n.Inputs {
		s, err := resolve(p.Src, in, cat)
		if err != nil {
			return false, err
		}
		sels[i] = s
	}
	if err := sameKind(p.Src, sels); err != nil {
		return false, err
	}
	n.Pairing = map[string]string{"tensor": "tensor", "layer": "parameter", "prefix": "parameter", "model": "name"}[sels[0].kind]
	groups, err := matchKeys(p.Src, sels)
	if err != nil {
		return false, err
	}
	n.Groups = groups
	return true, nil
}

func sameKind(src string, sels []*selection) error {
	tensorSel := sels[0].kind == "tensor"
	for _, s := range sels[1:] {
		if (s.kind == "tensor") != tensorSel || (s.kind == "model") != (sels[0].kind == "model") {
			return query.ErrorAt(src, s.sel.Pos, "%s is a %s but %s is a %s: FUSE inputs must all be tensors, all layers, or all models",
				s.sel, s.kind, sels[0].sel, sels[0].kind)
		}
	}
	return nil
}

// matchKeys pairs tensors by key, in the first input's order, and checks
// that every key is in every input with one shape.
func matchKeys(src string, sels []*selection) ([]FuseGroup, error) {
	index := make([]map[string]TensorInfo, len(sels))
	for i, s := range sels {
		index[i] = map[string]TensorInfo{}
		for j, k := range s.keys {
			index[i][k] = s.tensors[j]
		}
	}
	for _, s := range sels[1:] {
		for j, k := range s.keys {
			if _, ok := index[0][k]; !ok {
				return nil, query.ErrorAt(src, sels[0].sel.Pos, "%s has no %s matching %s", sels[0].sel, describeKey(k), s.tensors[j].Ref())
			}
		}
	}
	groups := make([]FuseGroup, 0, len(sels[0].keys))
	for j, k := range sels[0].keys {
		first := sels[0].tensors[j]
		g := FuseGroup{Key: k, In: []TensorInfo{first}}
		for i := 1; i < len(sels); i++ {
			t, ok := index[i][k]
			if !ok {
				return nil, query.ErrorAt(src, sels[i].sel.Pos, "%s has no %s matching %s", sels[i].sel, describeKey(k), first.Ref())
			}
			if !t.Shape.Equal(first.Shape) {
				return nil, query.ErrorAt(src, sels[i].sel.Pos, "shape mismatch: %s is %s %s but %s is %s %s", first.Ref(), first.DType, first.Shape, t.Ref(), t.DType, t.Shape)
			}
			g.In = append(g.In, t)
		}
		copyOnly, err := checkFusable(src, sels, g)
		if err != nil {
			return nil, err
		}
		g.Copy = copyOnly
		g.Out = OutTensor{Name: first.Name, DType: outDType(g.In), Shape: first.Shape}
		g.Elems, _ = first.Shape.Elements()
		groups = append(groups, g)
	}
	return groups, nil
}

// checkFusable lets non-float tensors through only as copies (it reports
// whether the group is one): every input must have that same dtype, and
// equality of values is checked when running.
func checkFusable(src string, sels []*selection, g FuseGroup) (bool, error) {
	float := g.In[0].DType.IsFloat()
	for i, t := range g.In {
		if t.DType.IsFloat() != float || (!float && t.DType != g.In[0].DType) {
			return false, query.ErrorAt(src, sels[i].sel.Pos, "cannot fuse %s (%s) with %s (%s)", g.In[0].Ref(), g.In[0].DType, t.Ref(), t.DType)
		}
	}
	return !float, nil
}

func describeKey(k string) string {
	if k == "" {
		return "tensor"
	}
	return "parameter " + quote(k)
}

func quote(s string) string { return `"` + s + `"` }

// chooseIndexes answers equality predicates of SHOW TENSORS from bitmaps.
func chooseIndexes(p *Plan, cat Catalog) (bool, error) {
	n, ok := p.Root.(*ShowTensorsNode)
	if !ok {
		return false, nil
	}
	if err := checkShowTensors(p, n, cat); err != nil {
		return false, err
	}
	var rest []query.Predicate
	for _, pr := range n.Filter {
		pr.Value = normalizeValue(pr.Field, pr.Value)
		if pr.Op == query.OpEq && pr.Field != query.FieldName {
			n.Index = append(n.Index, pr)
			continue
		}
		rest = append(rest, pr)
	}
	n.Filter = rest
	return len(n.Index) > 0, nil
}

// checkShowTensors refuses an unknown FROM model and dtype values no
// tensor can have, pointing at them.
func checkShowTensors(p *Plan, n *ShowTensorsNode, cat Catalog) error {
	st, _ := p.Stmt.(*query.ShowTensors)
	if ex, ok := p.Stmt.(*query.Explain); ok {
		st, _ = ex.Stmt.(*query.ShowTensors)
	}
	if n.Model != "" {
		if _, ok, err := cat.Model(n.Model); err != nil {
			return err
		} else if !ok && st != nil {
			return noModel(p.Src, st.FromPos, n.Model, cat)
		}
	}
	for _, pr := range n.Filter {
		if pr.Field != query.FieldDType || pr.Op == query.OpLike {
			continue
		}
		if _, err := tensor.ParseDType(strings.ToUpper(pr.Value)); err != nil {
			return query.ErrorAt(p.Src, pr.Pos, "%s", strings.TrimPrefix(err.Error(), "vsdb: "))
		}
	}
	return nil
}

// normalizeValue spells dtype and codec values the way they are stored
// (F16, lossless), so users may write them in any case.
func normalizeValue(field, v string) string {
	switch field {
	case query.FieldDType:
		return strings.ToUpper(v)
	case query.FieldCodec:
		return strings.ToLower(v)
	}
	return v
}

// estimateCost fills in FUSE's cost: every input read once, the output
// written once (or returned), one multiply-add per input element, and
// memory of one chunk window per input plus the output.
func estimateCost(p *Plan, cat Catalog) (bool, error) {
	n, ok := p.Root.(*FuseNode)
	if !ok {
		return false, nil
	}
	var c Cost
	window := cat.ChunkBytes()
	for _, g := range n.Groups {
		for _, t := range g.In {
			c.BytesRead += t.StoredBytes
		}
		outBytes := g.Elems * int64(g.Out.DType.Size())
		if n.Into != "" {
			c.BytesWritten += outBytes
		} else {
			c.PeakMemory += outBytes
		}
		if !g.Copy {
			c.Flops += 2 * g.Elems * int64(len(g.In))
		}
	}
	// Per input: the encoded chunk, the decoded chunk and its float32
	// window; plus the float32 output window and its encoded form.
	c.PeakMemory += window * int64(3*len(n.Inputs)+2)
	n.Cost = c
	return true, nil
}
