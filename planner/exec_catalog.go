package planner

import (
	"fmt"
	"sort"
	"strings"
)

// showLayers lists layers with their tensor count, parameters and sizes.
func showLayers(n *ShowLayersNode, cat Catalog) (*Result, error) {
	ts, err := listTensors(n.Model, cat)
	if err != nil {
		return nil, err
	}
	type agg struct {
		model, layer        string
		tensors             int
		params, raw, stored int64
	}
	var order []string
	sums := map[string]*agg{}
	for _, t := range ts {
		k := t.Model + "\x00" + t.Layer
		a := sums[k]
		if a == nil {
			a = &agg{model: t.Model, layer: t.Layer}
			sums[k] = a
			order = append(order, k)
		}
		e, _ := t.Shape.Elements()
		a.tensors++
		a.params += e
		a.raw += t.RawBytes
		a.stored += t.StoredBytes
	}
	r := table("model", "layer", "tensors", "parameters", "raw_bytes", "stored_bytes")
	for _, k := range order {
		a := sums[k]
		r.add(a.model, a.layer, a.tensors, a.params, a.raw, a.stored)
	}
	return r, nil
}

// describe prints one model as property / value rows.
func describe(n *DescribeNode, cat Catalog) (*Result, error) {
	m, _, err := cat.Model(n.Model)
	if err != nil {
		return nil, err
	}
	ts, err := cat.Tensors(n.Model)
	if err != nil {
		return nil, err
	}
	var params int64
	dtypes, codecs, layers := map[string]int{}, map[string]int{}, map[string]bool{}
	for _, t := range ts {
		e, _ := t.Shape.Elements()
		params += e
		dtypes[t.DType.String()]++
		codecs[t.Codec]++
		layers[t.Layer] = true
	}
	r := table("property", "value")
	r.add("model", m.Name)
	r.add("source", m.Source)
	r.add("created", m.Created)
	if m.Base != "" {
		r.add("base", m.Base)
	}
	r.add("tensors", fmt.Sprint(m.Tensors))
	r.add("layers", fmt.Sprint(len(layers)))
	r.add("parameters", fmt.Sprint(params))
	r.add("raw_bytes", fmt.Sprint(m.RawBytes))
	r.add("stored_bytes", fmt.Sprint(m.StoredBytes))
	r.add("ratio", fmt.Sprint(ratio(m.RawBytes, m.StoredBytes)))
	r.add("dtypes", counts(dtypes))
	r.add("codecs", counts(codecs))
	keys := make([]string, 0, len(m.Metadata))
	for k := range m.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r.add("metadata."+k, m.Metadata[k])
	}
	return r, nil
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// stats sums tensors, parameters and sizes per model and codec, with a
// total row per model.
func stats(n *StatsNode, cat Catalog) (*Result, error) {
	models := []string{n.Model}
	if n.Model == "" {
		ms, err := cat.Models()
		if err != nil {
			return nil, err
		}
		models = models[:0]
		for _, m := range ms {
			models = append(models, m.Name)
		}
	}
	r := table("model", "codec", "tensors", "parameters", "raw_bytes", "stored_bytes", "ratio", "max_rel_error")
	for _, model := range models {
		ts, err := cat.Tensors(model)
		if err != nil {
			return nil, err
		}
		statsRows(r, model, ts)
	}
	return r, nil
}

func statsRows(r *Result, model string, ts []TensorInfo) {
	type agg struct {
		tensors             int
		params, raw, stored int64
		maxErr              float64
	}
	per := map[string]*agg{}
	total := &agg{}
	for _, t := range ts {
		a := per[t.Codec]
		if a == nil {
			a = &agg{}
			per[t.Codec] = a
		}
		e, _ := t.Shape.Elements()
		for _, x := range []*agg{a, total} {
			x.tensors++
			x.params += e
			x.raw += t.RawBytes
			x.stored += t.StoredBytes
			x.maxErr = max(x.maxErr, t.RelError)
		}
	}
	codecs := make([]string, 0, len(per))
	for c := range per {
		codecs = append(codecs, c)
	}
	sort.Strings(codecs)
	for _, c := range codecs {
		a := per[c]
		r.add(model, c, a.tensors, a.params, a.raw, a.stored, ratio(a.raw, a.stored), a.maxErr)
	}
	r.add(model, "(all)", total.tensors, total.params, total.raw, total.stored, ratio(total.raw, total.stored), total.maxErr)
}

// deleteModel removes a model.
func deleteModel(n *DeleteNode, st Storage) (*Result, error) {
	if err := st.DeleteModel(n.Model); err != nil {
		return nil, err
	}
	r := table("deleted")
	r.add(n.Model)
	return r, nil
}

// check verifies indexes and checksums; a failed check is an error so that
// scripts notice.
func check(n *CheckNode, st Storage) (*Result, error) {
	problems, err := st.Check(n.Model)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("vsdb: CHECK found %d problems; the first: %s", len(problems), problems[0])
	}
	r := table("check")
	r.add("ok")
	return r, nil
}
