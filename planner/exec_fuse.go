package planner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/vsdb/vsdb/kernel"
	"github.com/vsdb/vsdb/tensor"
)

// runFuse streams every group window by window: read each input's window
// widened to float32, one weighted-sum pass, narrow to the output dtype,
// then hand the bytes to the model writer (INTO) or keep them (returned).
func runFuse(ctx context.Context, n *FuseNode, st Storage) (res *Result, err error) {
	var w ModelWriter
	if n.Into != "" {
		outs := make([]OutTensor, len(n.Groups))
		for i, g := range n.Groups {
			outs[i] = g.Out
		}
		if w, err = st.Create(n.Into, fuseSource(n), outs); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				w.Abort()
			}
		}()
	}
	f := &fuser{ctx: ctx, n: n, st: st, w: w, window: max(1, st.ChunkBytes()/4)}
	res = table("name", "dtype", "shape", "elements")
	for i := range n.Groups {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("vsdb: FUSE cancelled")
		}
		t, err := f.group(i)
		if err != nil {
			return nil, err
		}
		g := &n.Groups[i]
		res.add(g.Out.Name, g.Out.DType.String(), shapeList(TensorInfo{Shape: g.Out.Shape}), g.Elems)
		if t != nil {
			res.Tensors = append(res.Tensors, t)
		}
	}
	if w != nil {
		if err := w.Commit(ctx); err != nil {
			return nil, err
		}
		res.Tensors = nil
	}
	return res, nil
}

func fuseSource(n *FuseNode) string {
	parts := make([]string, len(n.Inputs))
	for i, in := range n.Inputs {
		parts[i] = fmt.Sprintf("%g*%s", n.Weights[i], in)
	}
	return "FUSE " + strings.Join(parts, " + ")
}

type fuser struct {
	ctx    context.Context
	n      *FuseNode
	st     Storage
	w      ModelWriter
	window int64
	bufs   [][]float32
	out    []float32
	raw    []byte
}

// group computes output tensor i. Without a writer it returns the tensor.
func (f *fuser) group(i int) (_ *tensor.Tensor, err error) {
	g := &f.n.Groups[i]
	readers := make([]TensorReader, len(g.In))
	defer func() {
		for _, r := range readers {
			if r != nil {
				err = errors.Join(err, r.Close())
			}
		}
	}()
	for k, t := range g.In {
		if readers[k], err = f.st.Open(t); err != nil {
			return nil, err
		}
	}
	var keep []byte
	if f.w == nil {
		size, _ := g.Out.Shape.Bytes(g.Out.DType)
		keep = make([]byte, 0, size)
	}
	for off := int64(0); off < g.Elems; off += f.window {
		if err := f.ctx.Err(); err != nil {
			return nil, fmt.Errorf("vsdb: FUSE cancelled")
		}
		n := min(f.window, g.Elems-off)
		raw, err := f.windowBytes(g, readers, off, int(n))
		if err != nil {
			return nil, err
		}
		if f.w != nil {
			if err := f.w.Write(i, raw); err != nil {
				return nil, err
			}
		} else {
			keep = append(keep, raw...)
		}
	}
	if f.w != nil {
		return nil, nil
	}
	return &tensor.Tensor{Name: g.Out.Name, DType: g.Out.DType, Shape: g.Out.Shape, Data: keep}, nil
}

// windowBytes computes elements [off, off+n) of a group in its output dtype.
func (f *fuser) windowBytes(g *FuseGroup, readers []TensorReader, off int64, n int) ([]byte, error) {
	if g.Copy {
		return f.copyWindow(g, readers, off, n)
	}
	for len(f.bufs) < len(readers) {
		f.bufs = append(f.bufs, nil)
	}
	ins := make([][]float32, len(readers))
	ws := make([]float32, len(readers))
	for k, r := range readers {
		if cap(f.bufs[k]) < n {
			f.bufs[k] = make([]float32, n)
		}
		ins[k], ws[k] = f.bufs[k][:n], float32(f.n.Weights[k])
		if err := r.ReadFloat32(off, ins[k]); err != nil {
			return nil, err
		}
	}
	if cap(f.out) < n {
		f.out = make([]float32, n)
	}
	out := f.out[:n]
	var err error
	if len(ins) == 2 {
		err = kernel.AxpbyParallel(out, ins[0], ins[1], ws[0], ws[1])
	} else {
		err = kernel.WeightedSumParallel(out, ins, ws)
	}
	if err != nil {
		return nil, err
	}
	if j := firstNonFinite(out); j >= 0 {
		return nil, f.nonFinite(g, readers, off+int64(j), out[j])
	}
	size := g.Out.DType.Size()
	f.raw = grow(f.raw, n*size)
	if err := tensor.FromFloat32(g.Out.DType, out, f.raw); err != nil {
		return nil, err
	}
	return f.raw, nil
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// copyWindow passes a non-float tensor through when every input agrees.
func (f *fuser) copyWindow(g *FuseGroup, readers []TensorReader, off int64, n int) ([]byte, error) {
	size := g.Out.DType.Size()
	f.raw = grow(f.raw, n*size)
	if err := readers[0].ReadRaw(off*int64(size), f.raw); err != nil {
		return nil, err
	}
	other := make([]byte, n*size)
	for k := 1; k < len(readers); k++ {
		if err := readers[k].ReadRaw(off*int64(size), other); err != nil {
			return nil, err
		}
		if !bytes.Equal(other, f.raw) {
			return nil, fmt.Errorf("vsdb: cannot fuse %s tensors %s and %s: their values differ (only equal non-float tensors are carried over)", g.Out.DType, g.In[0].Ref(), g.In[k].Ref())
		}
	}
	return f.raw, nil
}

func firstNonFinite(v []float32) int {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return i
		}
	}
	return -1
}

// nonFinite reports where a non-finite result came from.
func (f *fuser) nonFinite(g *FuseGroup, readers []TensorReader, at int64, v float32) error {
	one := make([]float32, 1)
	for k, r := range readers {
		if err := r.ReadFloat32(at, one); err == nil && (math.IsNaN(float64(one[0])) || math.IsInf(float64(one[0]), 0)) {
			return fmt.Errorf("vsdb: input %s holds %v at element %d; FUSE refuses non-finite values", g.In[k].Ref(), one[0], at)
		}
	}
	return fmt.Errorf("vsdb: FUSE result for %s is %v at element %d (float32 overflow); nothing was written", g.Out.Name, v, at)
}
