package planner

import (
	"fmt"

	"github.com/vsdb/vsdb/tensor"
)

// The memory storage keeps low-rank tensors as their factors (and the
// dense values reads return), so the planner's factored path runs in tests.

// addLowRank stores model:name (shape m×n) as u (m×k) · vt (k×n), as a
// delta against base when base is not "" (a tensor of the same name in
// model base).
func (m *memStorage) addLowRank(model, name, base string, shape tensor.Shape, u, vt []float32, k int) {
	rows, cols := int(shape[0]), int(shape[1])
	vals := make([]float32, rows*cols)
	mulNaive(vals, Factors{U: u, Vt: vt, M: rows, N: cols, K: k})
	var d *TensorInfo
	if base != "" {
		b, err := m.find(TensorInfo{Model: base, Name: name})
		if err != nil {
			panic(err)
		}
		bv := make([]float32, len(vals))
		tensor.ToFloat32(b.info.DType, b.raw, bv)
		for i := range vals {
			vals[i] += bv[i]
		}
		d = &b.info
	}
	m.add(model, name, tensor.F32, shape, vals)
	t := &m.models[model][len(m.models[model])-1]
	t.info.Codec, t.info.Rank = "lowrank", k
	t.info.StoredBytes = int64(2*k*(rows+cols) + 14)
	t.factors = &Factors{U: u, Vt: vt, M: rows, N: cols, K: k}
	if d != nil {
		t.info.Delta, t.info.DeltaBase = "sub", d.ID
	}
}

func mulNaive(dst []float32, f Factors) {
	for i := 0; i < f.M; i++ {
		for j := 0; j < f.N; j++ {
			var s float32
			for r := 0; r < f.K; r++ {
				s += f.U[i*f.K+r] * f.Vt[r*f.N+j]
			}
			dst[i*f.N+j] = s
		}
	}
}

func (m *memStorage) Factors(t TensorInfo) (Factors, error) {
	x, err := m.find(t)
	if err != nil {
		return Factors{}, err
	}
	if x.factors == nil {
		return Factors{}, fmt.Errorf("vsdb: %s is not low rank", t.Ref())
	}
	return *x.factors, nil
}

func (m *memStorage) MulFactors(dst []float32, f Factors) error {
	mulNaive(dst, f)
	return nil
}

// WriteFactors keeps the factors and writes the values reads will return.
func (w *memWriter) WriteFactors(i int, f Factors, base *TensorInfo) error {
	vals := make([]float32, f.M*f.N)
	mulNaive(vals, f)
	if base != nil {
		b, err := w.m.find(*base)
		if err != nil {
			return err
		}
		bv := make([]float32, len(vals))
		tensor.ToFloat32(b.info.DType, b.raw, bv)
		for k := range vals {
			vals[k] += bv[k]
		}
	}
	raw := make([]byte, len(vals)*w.outs[i].DType.Size())
	tensor.FromFloat32(w.outs[i].DType, vals, raw)
	w.data[i] = raw
	if w.factored == nil {
		w.factored = map[int]string{}
	}
	w.factored[i] = "lowrank"
	if base != nil {
		w.factored[i] = "lowrank delta against " + base.Ref()
	}
	return nil
}

// lowRankFixture: a base, two fine-tunes stored as rank-1 deltas against
// it, a plain low-rank model, and a dense fine-tune.
func lowRankFixture() *memStorage {
	m := newMem()
	shape := tensor.Shape{8, 6}
	m.add("base", "layers.0.w", tensor.F32, shape, ramp(48, 1, 1))
	m.add("base", "layers.0.b", tensor.F32, tensor.Shape{3}, ramp(3, 1, 1))
	m.addLowRank("ft1", "layers.0.w", "base", shape, []float32{1, 0, 2, 0, 0, 0, 0, 1}, []float32{1, 1, 0, 0, 0, 1}, 1)
	m.add("ft1", "layers.0.b", tensor.F32, tensor.Shape{3}, ramp(3, 1, 1))
	m.addLowRank("ft2", "layers.0.w", "base", shape, []float32{0, 1, 0, 1, 0, 0, 0, 0}, []float32{0, 2, 2, 0, 0, 0}, 1)
	m.add("ft2", "layers.0.b", tensor.F32, tensor.Shape{3}, ramp(3, 2, 1))
	m.addLowRank("lr", "layers.0.w", "", shape, []float32{1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2}, []float32{1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0}, 2)
	m.add("dense", "layers.0.w", tensor.F32, shape, ramp(48, 0, 2))
	return m
}

// tiedFixture: "tied" and "tied2" hold only their embedding (tied
// lm_head); "untied" has its own lm_head.weight; "tbase" is a tied base.
func tiedFixture() *memStorage {
	m := newMem()
	for i, model := range []string{"tied", "tied2", "untied", "tbase"} {
		off := float32(10 * i)
		m.add(model, "model.embed_tokens.weight", tensor.F32, tensor.Shape{3, 2}, ramp(6, off, 1))
		m.add(model, "model.layers.0.w", tensor.F32, tensor.Shape{2}, ramp(2, off, 1))
		if model == "untied" {
			m.add(model, "lm_head.weight", tensor.F32, tensor.Shape{3, 2}, ramp(6, 100, 1))
		}
	}
	return m
}
