package planner

import (
	"fmt"
	"math"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/vsdb/vsdb/tensor"
)

// Fusion in factored space. A tensor stored in low rank is U·Vᵀ (or, as a
// delta, D + U·Vᵀ for its base tensor D); a linear merge of such tensors is
//
//	Σ cᵢ(D + UᵢVᵢᵀ) = β·D + [c₁U₁ c₂U₂ …]·[V₁ V₂ …]ᵀ,  β = Σ cᵢ over deltas,
//
// exact, with rank K = Σ kᵢ. Concatenating the factors costs (m+n)·K
// operations; the dense path rebuilds every input (2·m·n·kᵢ each) and sums
// them element by element. FUSE ... INTO can store the concatenated factors
// themselves (as a delta against D when β = 1) and never build an m×n
// matrix; a returned result is one product of the concatenated factors.

// Factors is a low-rank tensor's stored factors: the tensor (its delta
// against its base, for a delta) is U (M×K) · Vt (K×N), row-major.
type Factors struct {
	U, Vt   []float32
	M, N, K int
}

// FactorStorage is implemented by storages that keep tensors in low rank;
// the low-rank-fusion rule applies only over one.
type FactorStorage interface {
	// Factors reads the factors of a tensor stored in low rank.
	Factors(t TensorInfo) (Factors, error)
	// MulFactors sets dst (M×N) to f.U · f.Vt.
	MulFactors(dst []float32, f Factors) error
}

// FactorWriter is implemented by model writers that can store a tensor as
// low-rank factors.
type FactorWriter interface {
	// WriteFactors stores tensor i as f (float32 factors, kept exactly),
	// as a delta against base when base is not nil.
	WriteFactors(i int, f Factors, base *TensorInfo) error
}

// chooseLowRank marks the groups of a linear FUSE whose sources are all
// low rank (or low-rank deltas against one tensor) to merge in factored
// space when that is estimated to take fewer operations.
func chooseLowRank(p *Plan, cat Catalog) (bool, error) {
	n, ok := p.Root.(*FuseNode)
	if !ok || !n.Streaming {
		return false, nil
	}
	if _, ok := cat.(FactorStorage); !ok {
		return false, nil
	}
	changed := false
	baseModel := ""
	for i := range n.Groups {
		g := &n.Groups[i]
		path, err := lowRankPath(n, g, cat)
		if err != nil {
			return false, err
		}
		if path == nil || path.Factored.Flops >= path.Dense.Flops {
			continue
		}
		// An INTO model records one base model its deltas need.
		if path.Store && path.DeltaBase != nil && path.Beta != 0 {
			if baseModel == "" {
				baseModel = path.DeltaBase.Model
			}
			if path.DeltaBase.Model != baseModel {
				path.Store = false
				path.Factored = factoredCost(n, g, path)
			}
		}
		g.LowRank = path
		changed = true
	}
	return changed, nil
}

// lowRankPath returns the factored path of group g and its cost next to
// the dense one's, or nil when the group's sources are not all low rank.
func lowRankPath(n *FuseNode, g *FuseGroup, cat Catalog) (*LowRankPath, error) {
	if g.Copy || !g.Out.DType.IsFloat() {
		return nil, nil
	}
	m, cols, ok := matrixOf(g.Out.Shape)
	if !ok {
		return nil, nil
	}
	cs, err := coefficients(n, g)
	if err != nil {
		return nil, nil // the dense path reports it
	}
	sources := g.In
	if g.Base != nil {
		sources = append(append([]TensorInfo{}, g.In...), *g.Base)
	}
	path := &LowRankPath{M: m, N: cols}
	var deltaBase uint32
	hasDelta := false
	for _, t := range sources {
		switch {
		case t.Rank > 0 && t.Delta == "":
		case t.Rank > 0 && t.Delta == "sub" && (!hasDelta || t.DeltaBase == deltaBase):
			deltaBase, hasDelta = t.DeltaBase, true
		case t.Rank == 0 && hasDelta && t.ID == deltaBase:
			continue // the delta base itself (task arithmetic's BASE, last)
		default:
			return nil, nil
		}
		path.Rank += t.Rank
	}
	if path.Rank == 0 {
		return nil, nil
	}
	for k, t := range sources {
		if t.Rank > 0 && t.Delta == "sub" {
			path.Beta += float64(cs[k])
		}
		if t.Rank == 0 {
			path.Beta += float64(cs[k]) // the delta base
		}
	}
	if hasDelta {
		d, err := tensorByID(cat, deltaBase)
		if err != nil || d == nil {
			return nil, err
		}
		path.DeltaBase = d
	}
	if math.Abs(path.Beta) < 1e-12 {
		path.Beta = 0
	}
	if math.Abs(path.Beta-1) < 1e-12 {
		path.Beta = 1
	}
	outBytes := g.Elems * int64(g.Out.DType.Size())
	path.Store = n.Into != "" && 4*int64(path.Rank)*int64(m+cols)+14 < outBytes &&
		(path.DeltaBase == nil || path.Beta == 0 || path.Beta == 1)
	path.Dense, _ = denseGroupCost(n, g)
	path.Dense.PeakMemory = g.Elems * 4 * int64(len(sources)+1)
	if path.DeltaBase != nil {
		// Reading a delta densely reads and adds its base too.
		for _, t := range sources {
			if t.Rank > 0 && t.Delta != "" {
				path.Dense.BytesRead += path.DeltaBase.storedRead()
				path.Dense.Flops += g.Elems
			}
		}
	}
	path.Factored = factoredCost(n, g, path)
	return path, nil
}

// factoredCost estimates the factored path: the stored factors read, the
// concatenation scaled by the coefficients, then either the factors
// written or the product built (and β·D added).
func factoredCost(n *FuseNode, g *FuseGroup, p *LowRankPath) Cost {
	var c Cost
	for _, t := range g.In {
		if t.Rank > 0 {
			c.BytesRead += t.storedRead()
		}
	}
	if g.Base != nil && g.Base.Rank > 0 {
		c.BytesRead += g.Base.storedRead()
	}
	factors := int64(p.Rank) * int64(p.M+p.N)
	c.Flops = factors
	c.PeakMemory = 4 * factors
	if p.Store {
		c.BytesWritten = 4*factors + 14
		return c
	}
	elems := int64(p.M) * int64(p.N)
	c.Flops += 2 * elems * int64(p.Rank)
	c.PeakMemory += 4 * elems
	if p.DeltaBase != nil && p.Beta != 0 {
		c.BytesRead += p.DeltaBase.storedRead()
		c.Flops += 2 * elems
	}
	if n.Into != "" {
		c.BytesWritten = g.Elems * int64(g.Out.DType.Size())
	}
	return c
}

// matrixOf is the matrix a tensor of shape s is stored as in low rank: its
// first dimension by the product of the rest.
func matrixOf(s tensor.Shape) (m, n int, ok bool) {
	if len(s) < 2 {
		return 0, 0, false
	}
	n = 1
	for _, d := range s[1:] {
		n *= int(d)
	}
	return int(s[0]), n, s[0] >= 1 && n >= 1
}

// factored merges group i in factored space (see LowRankPath).
func (f *fuser) factored(i int, g *FuseGroup, sink *outSink) error {
	fs, ok := f.st.(FactorStorage)
	if !ok {
		return fmt.Errorf("vsdb: the storage cannot read low-rank factors")
	}
	p := g.LowRank
	cs, err := coefficients(f.n, g)
	if err != nil {
		return err
	}
	sources := g.In
	if g.Base != nil {
		sources = append(append([]TensorInfo{}, g.In...), *g.Base)
	}
	cat := Factors{M: p.M, N: p.N, K: p.Rank, U: make([]float32, p.M*p.Rank), Vt: make([]float32, 0, p.Rank*p.N)}
	col := 0
	for k, t := range sources {
		if t.Rank == 0 {
			continue // the delta base: β·D below
		}
		fk, err := fs.Factors(t)
		if err != nil {
			return err
		}
		if fk.M != p.M || fk.N != p.N || col+fk.K > p.Rank {
			return fmt.Errorf("vsdb: %s is stored as %d×%d at rank %d, the plan expected %d×%d at rank %d", t.Ref(), fk.M, fk.N, fk.K, p.M, p.N, t.Rank)
		}
		c := cs[k]
		for r := 0; r < p.M; r++ {
			dst := cat.U[r*p.Rank+col : r*p.Rank+col+fk.K]
			for j, v := range fk.U[r*fk.K : (r+1)*fk.K] {
				dst[j] = c * v
			}
		}
		cat.Vt = append(cat.Vt, fk.Vt...)
		col += fk.K
	}
	if col != p.Rank {
		return fmt.Errorf("vsdb: %s: the inputs' ranks sum to %d, the plan expected %d", g.Out.Name, col, p.Rank)
	}
	if j := firstNonFinite(cat.U); j >= 0 {
		return fmt.Errorf("vsdb: FUSE result for %s overflows float32 in factored space; nothing was written", g.Out.Name)
	}
	if p.Store {
		fw, ok := f.w.(FactorWriter)
		if !ok {
			return fmt.Errorf("vsdb: the model writer cannot store low-rank factors")
		}
		var base *TensorInfo
		if p.Beta == 1 {
			base = p.DeltaBase
		}
		return fw.WriteFactors(i, cat, base)
	}
	return f.denseFromFactors(g, fs, cat, sink)
}

// denseFromFactors builds the product of the concatenated factors, adds
// β·D, and writes the result.
func (f *fuser) denseFromFactors(g *FuseGroup, fs FactorStorage, cat Factors, sink *outSink) error {
	p := g.LowRank
	out := make([]float32, g.Elems)
	if err := fs.MulFactors(out, cat); err != nil {
		return err
	}
	if p.DeltaBase != nil && p.Beta != 0 {
		r, err := f.st.Open(*p.DeltaBase)
		if err != nil {
			return err
		}
		d := make([]float32, g.Elems)
		err = r.ReadFloat32(0, d)
		if cerr := r.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		beta := float32(p.Beta)
		for k, v := range d {
			out[k] += beta * v
		}
	}
	if j := firstNonFinite(out); j >= 0 {
		return fmt.Errorf("vsdb: FUSE result for %s is %v at element %d; nothing was written", g.Out.Name, out[j], j)
	}
	for off := 0; off < len(out); off += int(f.window) {
		raw, err := f.narrow(g, out[off:min(len(out), off+int(f.window))])
		if err != nil {
			return err
		}
		if err := sink.write(raw); err != nil {
			return err
		}
	}
	return nil
}

// tensorByID returns the catalog's record of tensor id (nil if none).
func tensorByID(cat Catalog, id uint32) (*TensorInfo, error) {
	ts, err := cat.TensorsByID(roaring.BitmapOf(id))
	if err != nil || len(ts) == 0 {
		return nil, err
	}
	return &ts[0], nil
}
