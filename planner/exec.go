package planner

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/vsdb/vsdb/query"
)

// Run executes a plan (or prints it, for EXPLAIN).
func Run(ctx context.Context, p *Plan, st Storage) (*Result, error) {
	if p.Explain {
		r := table("plan")
		for _, line := range strings.Split(strings.TrimRight(Explain(p), "\n"), "\n") {
			r.add(line)
		}
		return r, nil
	}
	switch n := p.Root.(type) {
	case *ShowModelsNode:
		return showModels(st)
	case *ShowTensorsNode:
		return showTensors(n, st)
	case *GetNode:
		return get(n, st)
	case *FuseNode:
		return runFuse(ctx, n, st)
	}
	return nil, fmt.Errorf("vsdb: cannot run %T", p.Root)
}

func showModels(cat Catalog) (*Result, error) {
	ms, err := cat.Models()
	if err != nil {
		return nil, err
	}
	r := table("model", "tensors", "raw_bytes", "stored_bytes", "ratio", "source", "created")
	for _, m := range ms {
		r.add(m.Name, m.Tensors, m.RawBytes, m.StoredBytes, ratio(m.RawBytes, m.StoredBytes), m.Source, m.Created)
	}
	return r, nil
}

func ratio(raw, stored int64) float64 {
	if stored == 0 {
		return 1
	}
	return float64(int64(float64(raw)/float64(stored)*1000+0.5)) / 1000
}

func showTensors(n *ShowTensorsNode, cat Catalog) (*Result, error) {
	ts, err := candidates(n, cat)
	if err != nil {
		return nil, err
	}
	r := table("model", "name", "layer", "param", "dtype", "shape", "codec", "raw_bytes", "stored_bytes")
	for _, t := range ts {
		if !matchAll(n.Filter, t) {
			continue
		}
		r.add(t.Model, t.Name, t.Layer, t.Param, t.DType.String(), shapeList(t), t.Codec, t.RawBytes, t.StoredBytes)
	}
	return r, nil
}

func shapeList(t TensorInfo) []int64 {
	if t.Shape == nil {
		return []int64{}
	}
	return t.Shape
}

// candidates intersects the bitmap indexes chosen by the planner, or lists
// the model (or every model) when no index applies.
func candidates(n *ShowTensorsNode, cat Catalog) ([]TensorInfo, error) {
	if len(n.Index) == 0 {
		return listTensors(n.Model, cat)
	}
	var ids *roaring.Bitmap
	for _, pr := range n.Index {
		bm, err := cat.Index(pr.Field, pr.Value)
		if err != nil {
			return nil, err
		}
		if ids == nil {
			ids = bm
		} else {
			ids.And(bm)
		}
	}
	ts, err := cat.TensorsByID(ids)
	if err != nil || n.Model == "" {
		return ts, err
	}
	out := ts[:0]
	for _, t := range ts {
		if t.Model == n.Model {
			out = append(out, t)
		}
	}
	return out, nil
}

func listTensors(model string, cat Catalog) ([]TensorInfo, error) {
	if model != "" {
		return cat.Tensors(model)
	}
	ms, err := cat.Models()
	if err != nil {
		return nil, err
	}
	var out []TensorInfo
	for _, m := range ms {
		ts, err := cat.Tensors(m.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
	}
	return out, nil
}

func matchAll(preds []query.Predicate, t TensorInfo) bool {
	for _, p := range preds {
		if !match(p, t) {
			return false
		}
	}
	return true
}

func match(p query.Predicate, t TensorInfo) bool {
	v := map[string]string{query.FieldLayer: t.Layer, query.FieldParam: t.Param, query.FieldDType: t.DType.String(), query.FieldCodec: t.Codec, query.FieldName: t.Name}[p.Field]
	switch p.Op {
	case query.OpEq:
		return v == p.Value
	case query.OpNe:
		return v != p.Value
	case query.OpLike:
		return like(p.Value, v)
	}
	return false
}

// like matches SQL LIKE patterns: % any run, _ one character.
func like(pattern, s string) bool {
	var b strings.Builder
	for _, r := range pattern {
		switch r {
		case '%':
			b.WriteByte('*')
		case '_':
			b.WriteByte('?')
		case '*', '?', '[', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	ok, _ := path.Match(b.String(), s)
	return ok
}
