package planner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
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

// filter keeps the tensors an expression accepts.
func (s *selection) filter(where query.Expr) {
	if where == nil {
		return
	}
	var ts []TensorInfo
	var keys []string
	for i, t := range s.tensors {
		if eval(where, t) {
			ts, keys = append(ts, t), append(keys, s.keys[i])
		}
	}
	s.tensors, s.keys = ts, keys
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
	f, _ := p.Stmt.(*query.Fuse)
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
	if sel.Path != "" {
		// The common case of one whole tensor name: a key lookup.
		if t, ok, err := cat.Tensor(sel.Model, sel.Path); err != nil {
			return nil, err
		} else if ok {
			return &selection{sel: sel, kind: "tensor", tensors: []TensorInfo{t}, keys: []string{""}}, nil
		}
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

// pairInputs resolves the selectors of FUSE and DIFF and matches their
// tensors (one group per output tensor), then finds FUSE's base tensors.
func pairInputs(p *Plan, cat Catalog) (bool, error) {
	switch n := p.Root.(type) {
	case *FuseNode:
		if len(n.Inputs) > MaxFuseInputs {
			return false, query.ErrorAt(p.Src, n.Inputs[MaxFuseInputs].Pos, "FUSE takes at most %d inputs (%d given)", MaxFuseInputs, len(n.Inputs))
		}
		pairing, groups, err := pairSelections(p.Src, n.Inputs, cat, n.Vocab == "common", n.Where, true)
		if err != nil {
			return false, err
		}
		n.Pairing, n.Groups = pairing, groups
		return true, resolveBase(p, n, cat)
	case *DiffNode:
		pairing, groups, err := pairSelections(p.Src, []query.Selector{n.Left, n.Right}, cat, false, nil, false)
		n.Pairing, n.Groups = pairing, groups
		return true, err
	}
	return false, nil
}

// pairSelections resolves selectors, keeps the tensors WHERE accepts and
// pairs them.
func pairSelections(src string, in []query.Selector, cat Catalog, vocab bool, where query.Expr, fuse bool) (string, []FuseGroup, error) {
	sels := make([]*selection, len(in))
	for i, sel := range in {
		s, err := resolve(src, sel, cat)
		if err != nil {
			return "", nil, err
		}
		s.filter(where)
		sels[i] = s
	}
	if err := sameKind(src, sels); err != nil {
		return "", nil, err
	}
	pairing := map[string]string{"tensor": "tensor", "layer": "parameter", "prefix": "parameter", "model": "name"}[sels[0].kind]
	if fuse {
		untie(sels)
	}
	groups, err := matchKeys(src, sels, vocab, fuse)
	return pairing, groups, err
}

// resolveBase finds, for every group, the BASE model's tensor of the same
// name as the group's output.
func resolveBase(p *Plan, n *FuseNode, cat Catalog) error {
	if n.Base == "" {
		return nil
	}
	f := p.fuseStmt()
	if _, ok, err := cat.Model(n.Base); err != nil {
		return err
	} else if !ok {
		return noModel(p.Src, f.BasePos, n.Base, cat)
	}
	all, err := cat.Tensors(n.Base)
	if err != nil {
		return err
	}
	byName := make(map[string]TensorInfo, len(all))
	for _, t := range all {
		byName[t.Name] = t
	}
	for i := range n.Groups {
		g := &n.Groups[i]
		b, ok := byName[g.Out.Name]
		if !ok && g.Out.Name == lmHead {
			b, ok = tiedIn(all, g.Out.Shape) // a tied base
		}
		if !ok {
			return query.ErrorAt(p.Src, f.BasePos, "base model %q has no tensor %q (for %s)%s", n.Base, g.Out.Name, g.In[0].Ref(), didYouMean(g.Out.Name, names(tensorNames(all))))
		}
		if !b.Shape.Equal(g.In[0].Shape) && !(n.Vocab == "common" && vocabRows(g.In[0], b)) {
			return query.ErrorAt(p.Src, f.BasePos, "shape mismatch: %s is %s %s but base %s is %s %s%s", g.In[0].Ref(), g.In[0].DType, g.In[0].Shape, b.Ref(), b.DType, b.Shape, vocabHint(g.In[0], b))
		}
		if b.DType.IsFloat() != g.In[0].DType.IsFloat() {
			return query.ErrorAt(p.Src, f.BasePos, "cannot fuse %s (%s) onto base %s (%s)", g.In[0].Ref(), g.In[0].DType, b.Ref(), b.DType)
		}
		g.Base = &b
		g.shrinkRows(b)
	}
	return nil
}

func tensorNames(ts []TensorInfo) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

// vocabRows reports whether two tensors differ only in their number of rows
// and look like a vocabulary matrix (token embeddings or the LM head).
func vocabRows(a, b TensorInfo) bool {
	if len(a.Shape) != 2 || len(b.Shape) != 2 || a.Shape[1] != b.Shape[1] || a.Shape[0] == b.Shape[0] {
		return false
	}
	n := strings.ToLower(a.Name)
	return strings.Contains(n, "embed") || strings.Contains(n, "lm_head") || strings.Contains(n, "wte")
}

// vocabHint explains the vocabulary case and how to merge it anyway.
func vocabHint(a, b TensorInfo) string {
	if !vocabRows(a, b) {
		return ""
	}
	return " (vocabulary sizes differ: add the option vocab = 'common' to merge the first " + fmt.Sprint(min(a.Shape[0], b.Shape[0])) + " rows)"
}

// shrinkRows limits the group to the rows t has too (vocab = 'common').
func (g *FuseGroup) shrinkRows(t TensorInfo) {
	if len(t.Shape) == 2 && len(g.Out.Shape) == 2 && t.Shape[0] < g.Out.Shape[0] {
		g.Out.Shape = tensor.Shape{t.Shape[0], g.Out.Shape[1]}
		g.Elems, _ = g.Out.Shape.Elements()
	}
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
func matchKeys(src string, sels []*selection, vocab, fuse bool) ([]FuseGroup, error) {
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
			if !t.Shape.Equal(first.Shape) && !(vocab && vocabRows(first, t)) {
				hint := ""
				if fuse {
					hint = vocabHint(first, t)
				}
				return nil, query.ErrorAt(src, sels[i].sel.Pos, "shape mismatch: %s is %s %s but %s is %s %s%s", first.Ref(), first.DType, first.Shape, t.Ref(), t.DType, t.Shape, hint)
			}
			g.In = append(g.In, t)
		}
		copyOnly, err := checkFusable(src, sels, g)
		if err != nil {
			return nil, err
		}
		g.Copy = copyOnly
		out := first.Name
		if k == lmHead && sels[0].kind == "model" {
			out = lmHead // the first input's tied embedding stands in for it
		}
		g.Out = OutTensor{Name: out, DType: outDType(g.In), Shape: first.Shape}
		g.Elems, _ = first.Shape.Elements()
		for _, t := range g.In[1:] {
			g.shrinkRows(t)
		}
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
