package planner

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// ErrNonFinite is what DIFF reports (wrapped, naming the tensors) when a
// tensor holds NaN or ±Inf, or its sums overflow: no figure is defined.
var ErrNonFinite = errors.New("non-finite values")

// runDiff compares paired tensors window by window: relative L2 change
// ‖b−a‖/‖a‖, cosine similarity and the largest absolute change, summed in
// float64. Undefined figures (a zero norm) are null.
func runDiff(ctx context.Context, n *DiffNode, st Storage) (*Result, error) {
	r := table("name", "other", "shape", "rel_l2", "cosine", "max_abs")
	window := max(1, st.ChunkBytes()/4)
	for _, g := range n.Groups {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("vsdb: DIFF cancelled")
		}
		d, err := diffGroup(g, st, window)
		if err != nil {
			return nil, err
		}
		r.add(g.In[0].Name, g.In[1].Ref(), shapeList(g.In[0]), d.relL2(), d.cosine(), d.maxAbs)
	}
	return r, nil
}

type diffSums struct {
	aa, bb, ab, dd, maxAbs float64
}

func (d diffSums) relL2() any {
	if d.aa == 0 {
		if d.dd == 0 {
			return 0.0
		}
		return nil
	}
	return math.Sqrt(d.dd / d.aa)
}

func (d diffSums) cosine() any {
	if d.aa == 0 || d.bb == 0 {
		return nil
	}
	return d.ab / math.Sqrt(d.aa*d.bb)
}

func diffGroup(g FuseGroup, st Storage, window int64) (d diffSums, err error) {
	ra, err := st.Open(g.In[0])
	if err != nil {
		return d, err
	}
	defer func() { err = errors.Join(err, ra.Close()) }()
	rb, err := st.Open(g.In[1])
	if err != nil {
		return d, err
	}
	defer func() { err = errors.Join(err, rb.Close()) }()
	a, b := make([]float32, window), make([]float32, window)
	for off := int64(0); off < g.Elems; off += window {
		n := min(window, g.Elems-off)
		if err := ra.ReadFloat32(off, a[:n]); err != nil {
			return d, err
		}
		if err := rb.ReadFloat32(off, b[:n]); err != nil {
			return d, err
		}
		for i := int64(0); i < n; i++ {
			x, y := float64(a[i]), float64(b[i])
			d.aa += x * x
			d.bb += y * y
			d.ab += x * y
			d.dd += (y - x) * (y - x)
			d.maxAbs = max(d.maxAbs, math.Abs(y-x))
		}
	}
	if math.IsNaN(d.aa+d.bb+d.dd) || math.IsInf(d.aa+d.bb+d.dd, 0) {
		return d, fmt.Errorf("vsdb: DIFF of %s and %s: %w", g.In[0].Ref(), g.In[1].Ref(), ErrNonFinite)
	}
	return d, nil
}
