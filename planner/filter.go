package planner

import (
	"strings"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/vsdb/vsdb/query"
	"github.com/vsdb/vsdb/tensor"
)

// chooseIndexes splits SHOW TENSORS' WHERE into the top-level conjuncts
// answered by indexes and a residual filter: equality on model, layer,
// param, dtype and codec and tier hot/warm come from roaring bitmaps,
// reads > n and reads >= n from the bit-sliced index of read counts.
func chooseIndexes(p *Plan, _ Catalog) (bool, error) {
	n, ok := p.Root.(*ShowTensorsNode)
	if !ok || n.Where == nil {
		return false, nil
	}
	if err := checkDTypes(p.Src, n.Where); err != nil {
		return false, err
	}
	var rest []query.Expr
	for _, c := range query.Conjuncts(n.Where) {
		cmp, ok := c.(*query.Compare)
		if ok && indexable(cmp) {
			norm := *cmp // never modify the AST
			norm.Str = normalizeValue(norm.Field, norm.Str)
			n.Index = append(n.Index, &norm)
			continue
		}
		rest = append(rest, c)
	}
	n.Filter = joinAnd(rest)
	return len(n.Index) > 0, nil
}

// checkDTypes refuses dtype values no tensor can have, at their position.
func checkDTypes(src string, e query.Expr) error {
	var err error
	query.Walk(e, func(x query.Expr) bool {
		c, ok := x.(*query.Compare)
		if ok && err == nil && c.Field == query.FieldDType && c.Op != query.OpLike && c.Op != query.OpNotLike {
			if _, perr := tensor.ParseDType(strings.ToUpper(c.Str)); perr != nil {
				err = query.ErrorAt(src, c.ValuePos, "%s", strings.TrimPrefix(perr.Error(), "vsdb: "))
			}
		}
		return err == nil
	})
	return err
}

func indexable(c *query.Compare) bool {
	switch c.Field {
	case query.FieldModel, query.FieldLayer, query.FieldParam, query.FieldDType, query.FieldCodec:
		return c.Op == query.OpEq
	case query.FieldTier:
		return c.Op == query.OpEq && c.Str != query.TierCold
	case query.FieldReads:
		return (c.Op == query.OpGt || c.Op == query.OpGe) && c.Num >= 0
	}
	return false
}

func joinAnd(es []query.Expr) query.Expr {
	var out query.Expr
	for _, e := range es {
		if out == nil {
			out = e
		} else {
			out = &query.And{L: out, R: e}
		}
	}
	return out
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

// indexCandidates intersects the chosen indexes; nil means "no index".
func indexCandidates(n *ShowTensorsNode, cat Catalog) (*roaring.Bitmap, error) {
	var ids *roaring.Bitmap
	and := func(bm *roaring.Bitmap) {
		if ids == nil {
			ids = bm
		} else {
			ids = roaring.And(ids, bm) // index bitmaps are shared: never modify them
		}
	}
	if n.Model != "" {
		bm, err := cat.Index("model", n.Model)
		if err != nil {
			return nil, err
		}
		and(bm)
	}
	var reads []*query.Compare
	for _, c := range n.Index {
		if c.Field == query.FieldReads {
			reads = append(reads, c)
			continue
		}
		bm, err := cat.Index(c.Field, c.Str)
		if err != nil {
			return nil, err
		}
		and(bm)
	}
	if len(reads) > 0 && ids == nil {
		all, err := cat.AllTensors()
		if err != nil {
			return nil, err
		}
		ids = all
	}
	for _, c := range reads {
		n := uint64(c.Num)
		if c.Op == query.OpGe && n > 0 {
			n--
		}
		bm, err := cat.ReadsAbove(n, ids)
		if err != nil {
			return nil, err
		}
		ids = bm
	}
	return ids, nil
}

// eval decides a WHERE expression for one tensor.
func eval(e query.Expr, t TensorInfo) bool {
	switch x := e.(type) {
	case nil:
		return true
	case *query.And:
		return eval(x.L, t) && eval(x.R, t)
	case *query.Or:
		return eval(x.L, t) || eval(x.R, t)
	case *query.Not:
		return !eval(x.X, t)
	case *query.Compare:
		if x.IsNum {
			return compareNum(x.Op, numField(x.Field, t), x.Num)
		}
		return compareStr(x.Op, strField(x.Field, t), normalizeValue(x.Field, x.Str))
	}
	return false
}

func strField(f string, t TensorInfo) string {
	switch f {
	case query.FieldModel:
		return t.Model
	case query.FieldLayer:
		return t.Layer
	case query.FieldParam:
		return t.Param
	case query.FieldDType:
		return t.DType.String()
	case query.FieldCodec:
		return t.Codec
	case query.FieldName:
		return t.Name
	case query.FieldTier:
		return t.Tier
	}
	return ""
}

func numField(f string, t TensorInfo) float64 {
	switch f {
	case query.FieldSize:
		return float64(t.RawBytes)
	case query.FieldElements:
		n, _ := t.Shape.Elements()
		return float64(n)
	case query.FieldReads:
		return float64(t.Reads)
	}
	return 0
}

func compareStr(op, v, want string) bool {
	switch op {
	case query.OpEq:
		return v == want
	case query.OpNe:
		return v != want
	case query.OpLike:
		return like(want, v)
	case query.OpNotLike:
		return !like(want, v)
	}
	return false
}

func compareNum(op string, v, want float64) bool {
	switch op {
	case query.OpEq:
		return v == want
	case query.OpNe:
		return v != want
	case query.OpLt:
		return v < want
	case query.OpLe:
		return v <= want
	case query.OpGt:
		return v > want
	case query.OpGe:
		return v >= want
	}
	return false
}
