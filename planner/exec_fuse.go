package planner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"

	"github.com/vsdb/vsdb/kernel"
	"github.com/vsdb/vsdb/merge"
	"github.com/vsdb/vsdb/tensor"
)

// runFuse computes every group and hands each output to the model writer
// (INTO) or keeps it (returned). Linear methods stream window by window
// through the fused kernel; the others merge whole tensors in memory.
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
	f := &fuser{ctx: ctx, n: n, st: st, w: w, window: max(1, st.ChunkBytes()/4), report: ProgressFrom(ctx)}
	for i := range n.Groups {
		f.total += outBytes(&n.Groups[i])
	}
	f.progress(0)
	res = table("name", "dtype", "shape", "elements")
	var end int64 // output bytes of the groups done
	for i := range n.Groups {
		if err := ctx.Err(); err != nil {
			return nil, errFuseCancelled
		}
		t, err := f.group(i)
		if err != nil {
			return nil, err
		}
		g := &n.Groups[i]
		end += outBytes(g)
		f.progress(end - f.done) // the factored path writes no dense bytes
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

// fuseSource records how a fused model was made: the whole statement in
// canonical form (weights, method, options, base, filter), to replay it.
func fuseSource(n *FuseNode) string { return n.Statement }

type fuser struct {
	ctx    context.Context
	n      *FuseNode
	st     Storage
	w      ModelWriter
	window int64
	bufs   [][]float32
	out    []float32
	raw    []byte
	// report, if not nil, gets the output bytes done and total (see
	// WithProgress).
	report      func(done, total int64)
	done, total int64
}

// progress counts n more output bytes and reports them.
func (f *fuser) progress(n int64) {
	if f.report != nil {
		f.done += n
		f.report(min(f.done, f.total), f.total)
	}
}

// errFuseCancelled is what a FUSE whose context ended returns.
var errFuseCancelled = errors.New("vsdb: FUSE cancelled")

// outBytes is the size of group g's output tensor.
func outBytes(g *FuseGroup) int64 {
	size, _ := g.Out.Shape.Bytes(g.Out.DType)
	return size
}

// group computes output tensor i. Without a writer it returns the tensor.
func (f *fuser) group(i int) (_ *tensor.Tensor, err error) {
	g := &f.n.Groups[i]
	if g.LowRank != nil {
		sink := f.sink(i, g)
		if err := f.factored(i, g, sink); err != nil {
			return nil, err
		}
		return sink.tensor(), nil
	}
	sources := g.In
	if g.Base != nil && !g.Copy {
		sources = append(append([]TensorInfo{}, g.In...), *g.Base)
	}
	readers := make([]TensorReader, len(sources))
	defer func() {
		for _, r := range readers {
			if r != nil {
				err = errors.Join(err, r.Close())
			}
		}
	}()
	for k, t := range sources {
		if readers[k], err = f.st.Open(t); err != nil {
			return nil, err
		}
	}
	sink := f.sink(i, g)
	switch {
	case g.Copy:
		err = f.stream(g, sink, func(off int64, n int) ([]byte, error) { return f.copyWindow(g, readers, off, n) })
	case f.n.Streaming:
		var ws []float32
		if ws, err = coefficients(f.n, g); err == nil {
			err = f.stream(g, sink, func(off int64, n int) ([]byte, error) { return f.sumWindow(g, readers, ws, off, n) })
		}
	default:
		err = f.whole(g, readers, sink)
	}
	if err != nil {
		return nil, err
	}
	return sink.tensor(), nil
}

// outSink receives an output tensor's bytes: to the writer, or kept.
type outSink struct {
	f    *fuser
	i    int
	g    *FuseGroup
	keep []byte
}

func (f *fuser) sink(i int, g *FuseGroup) *outSink {
	s := &outSink{f: f, i: i, g: g}
	if f.w == nil {
		s.keep = make([]byte, 0, outBytes(g))
	}
	return s
}

func (s *outSink) write(raw []byte) error {
	if s.f.w != nil {
		if err := s.f.w.Write(s.i, raw); err != nil {
			return err
		}
	} else {
		s.keep = append(s.keep, raw...)
	}
	s.f.progress(int64(len(raw)))
	return nil
}

func (s *outSink) tensor() *tensor.Tensor {
	if s.f.w != nil {
		return nil
	}
	return &tensor.Tensor{Name: s.g.Out.Name, DType: s.g.Out.DType, Shape: s.g.Out.Shape, Data: s.keep}
}

// stream produces a group window by window.
func (f *fuser) stream(g *FuseGroup, sink *outSink, window func(off int64, n int) ([]byte, error)) error {
	for off := int64(0); off < g.Elems; off += f.window {
		if err := f.ctx.Err(); err != nil {
			return errFuseCancelled
		}
		raw, err := window(off, int(min(f.window, g.Elems-off)))
		if err != nil {
			return err
		}
		if err := sink.write(raw); err != nil {
			return err
		}
	}
	return nil
}

// coefficients turns a linear method into one weight per source (inputs,
// then the base if any): out = Σ cₖ·sourceₖ.
func coefficients(n *FuseNode, g *FuseGroup) ([]float32, error) {
	w := g.Weights
	sum := 0.0
	for _, x := range w {
		sum += x
	}
	pr := n.Params
	out := make([]float32, 0, len(w)+1)
	switch n.Method {
	case "":
		for _, x := range w {
			out = append(out, float32(x))
		}
	case "linear": // mergekit linear: Σwθ / Σw, normalize on by default
		d := 1.0
		if pr.Normalize == nil || *pr.Normalize {
			if math.Abs(sum) < 1e-8 { // as merge.Linear: dividing by ~0 gives garbage
				return nil, fmt.Errorf("vsdb: linear: the weights of %s sum to %g, too close to 0 to normalise (use normalize = false)", g.Out.Name, sum)
			}
			d = sum
		}
		for _, x := range w {
			out = append(out, float32(x/d))
		}
	case "task_arithmetic": // base + λ·Σwᵢ(θᵢ − base)/D
		d, lambda := 1.0, 1.0
		if pr.Normalize != nil && *pr.Normalize && math.Abs(sum) >= 1e-8 {
			d = sum
		}
		if pr.Lambda != nil {
			lambda = *pr.Lambda
		}
		for _, x := range w {
			out = append(out, float32(lambda*x/d))
		}
		out = append(out, float32(1-lambda*sum/d))
	}
	return out, nil
}

// sumWindow computes elements [off, off+n) of a linear group.
func (f *fuser) sumWindow(g *FuseGroup, readers []TensorReader, ws []float32, off int64, n int) ([]byte, error) {
	ins, err := f.readWindow(readers, off, n)
	if err != nil {
		return nil, err
	}
	if cap(f.out) < n {
		f.out = make([]float32, n)
	}
	out := f.out[:n]
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
	return f.narrow(g, out)
}

// readWindow reads elements [off, off+n) of every source as float32.
func (f *fuser) readWindow(readers []TensorReader, off int64, n int) ([][]float32, error) {
	for len(f.bufs) < len(readers) {
		f.bufs = append(f.bufs, nil)
	}
	ins := make([][]float32, len(readers))
	for k, r := range readers {
		if cap(f.bufs[k]) < n {
			f.bufs[k] = make([]float32, n)
		}
		ins[k] = f.bufs[k][:n]
		if err := r.ReadFloat32(off, ins[k]); err != nil {
			return nil, err
		}
	}
	return ins, nil
}

// narrow converts float32 results to the output dtype, refusing values
// the dtype cannot hold (an F16 result beyond ±65504 would become ±Inf).
func (f *fuser) narrow(g *FuseGroup, out []float32) ([]byte, error) {
	if limit := g.Out.DType.MaxFinite(); g.Out.DType.IsFloat() && limit < math.MaxFloat32 {
		for i, v := range out {
			if math.Abs(float64(v)) > limit {
				return nil, fmt.Errorf("vsdb: FUSE result for %s is %v at element %d, beyond what %s holds (±%g); nothing was written", g.Out.Name, v, i, g.Out.DType, limit)
			}
		}
	}
	f.raw = grow(f.raw, len(out)*g.Out.DType.Size())
	if err := tensor.FromFloat32(g.Out.DType, out, f.raw); err != nil {
		return nil, err
	}
	return f.raw, nil
}

// whole merges a group with a method that needs whole tensors: every
// source is read into memory as float32, merged, checked and narrowed.
func (f *fuser) whole(g *FuseGroup, readers []TensorReader, sink *outSink) error {
	all := make([][]float32, len(readers))
	for k, r := range readers {
		if f.ctx.Err() != nil {
			return errFuseCancelled
		}
		all[k] = make([]float32, g.Elems)
		if err := r.ReadFloat32(0, all[k]); err != nil {
			return err
		}
	}
	in, base := all[:len(g.In)], []float32(nil)
	if g.Base != nil {
		base = all[len(g.In)]
	}
	m, err := merge.Lookup(f.n.Method)
	if err != nil {
		return err
	}
	pr := f.n.Params
	pr.Weights = g.Weights
	pr.Done = f.ctx.Done()
	if hasOption(m, "seed") {
		pr.Seed = tensorSeed(pr.Seed, g.Out.Name)
	}
	out := make([]float32, g.Elems)
	if err := m.Run(out, base, in, pr); errors.Is(err, merge.ErrCancelled) {
		return errFuseCancelled
	} else if err != nil {
		return fmt.Errorf("vsdb: %s: %s", g.Out.Name, trimPrefix(err.Error()))
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

// tensorSeed gives every tensor its own DARE mask: the user's seed mixed
// with a hash of the tensor's name (same-shaped tensors would otherwise
// drop the same positions).
func tensorSeed(seed uint64, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return merge.SplitMix64(seed ^ h.Sum64())
}

func trimPrefix(s string) string {
	for _, p := range []string{"vsdb: merge: ", "vsdb: "} {
		if len(s) >= len(p) && s[:len(p)] == p {
			return s[len(p):]
		}
	}
	return s
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
	for k := 1; k < len(g.In); k++ {
		if err := readers[k].ReadRaw(off*int64(size), other); err != nil {
			return nil, err
		}
		if !bytes.Equal(other, f.raw) {
			return nil, fmt.Errorf("vsdb: cannot fuse %s tensors %s and %s: their values differ (only equal non-float tensors are carried over)", g.Out.DType, g.In[0].Ref(), g.In[k].Ref())
		}
	}
	return f.raw, nil
}

// firstNonFinite finds the first NaN or ±Inf: all exponent bits set.
func firstNonFinite(v []float32) int {
	for i, x := range v {
		if math.Float32bits(x)&0x7f800000 == 0x7f800000 {
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
			ref := g.In[min(k, len(g.In)-1)].Ref()
			if k == len(g.In) && g.Base != nil {
				ref = g.Base.Ref()
			}
			return fmt.Errorf("vsdb: input %s holds %v at element %d; FUSE refuses non-finite values", ref, one[0], at)
		}
	}
	return fmt.Errorf("vsdb: FUSE result for %s is %v at element %d (float32 overflow); nothing was written", g.Out.Name, v, at)
}
