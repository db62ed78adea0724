package planner

// estimateCost fills in FUSE's and DIFF's cost: every input (and base) read
// once, the output written once (or returned), one multiply-add per input
// element (more for whole-tensor methods), and the memory the executor
// holds at once.
func estimateCost(p *Plan, cat Catalog) (bool, error) {
	switch n := p.Root.(type) {
	case *FuseNode:
		n.Cost = fuseCost(n, cat.ChunkBytes())
		return true, nil
	case *DiffNode:
		var c Cost
		for _, g := range n.Groups {
			for _, t := range g.In {
				c.BytesRead += t.storedRead()
				c.BytesCached += t.CachedBytes
			}
			c.Flops += 6 * g.Elems
		}
		c.PeakMemory = cat.ChunkBytes() * 8
		n.Cost = c
		return true, nil
	}
	return false, nil
}

func fuseCost(n *FuseNode, window int64) Cost {
	var c Cost
	var largest, factored int64
	for i := range n.Groups {
		g := &n.Groups[i]
		gc, whole := denseGroupCost(n, g)
		if g.LowRank != nil {
			out := gc.PeakMemory // the returned output, if any
			gc = g.LowRank.Factored
			factored = max(factored, gc.PeakMemory)
			gc.PeakMemory = out
		}
		c.BytesRead += gc.BytesRead
		c.BytesCached += gc.BytesCached
		c.BytesWritten += gc.BytesWritten
		c.Flops += gc.Flops
		c.PeakMemory += gc.PeakMemory
		largest = max(largest, whole)
	}
	if n.Streaming {
		// Per input: the encoded chunk, the decoded chunk and its float32
		// window; plus the float32 output window and its encoded form.
		inputs := int64(len(n.Inputs))
		if n.Base != "" {
			inputs++
		}
		// A group merged in factored space holds its factors and product.
		c.PeakMemory += max(window*(3*inputs+2), factored)
	} else {
		// Whole tensors in float32: every input, the base and the output.
		c.PeakMemory += largest
	}
	return c
}

// denseGroupCost is one group's cost when its sources are read and summed
// element by element: every source read once, the output written (or, as
// PeakMemory, kept when returned), the method's operations per element and
// source plus the product that rebuilds each low-rank source. whole is the
// memory of merging it as whole float32 tensors.
func denseGroupCost(n *FuseNode, g *FuseGroup) (c Cost, whole int64) {
	sources := g.In
	if g.Base != nil {
		sources = append(append([]TensorInfo{}, g.In...), *g.Base)
	}
	for _, t := range sources {
		c.BytesRead += t.storedRead()
		c.BytesCached += t.CachedBytes
		if t.Rank > 0 {
			c.Flops += 2 * int64(t.Rank) * g.Elems
		}
	}
	outBytes := g.Elems * int64(g.Out.DType.Size())
	if n.Into != "" {
		c.BytesWritten = outBytes
	} else {
		c.PeakMemory = outBytes
	}
	if !g.Copy {
		c.Flops += methodFlops(n.Method) * g.Elems * int64(len(sources))
	}
	return c, g.Elems * 4 * int64(len(sources)+1)
}

// methodFlops is a rough count of operations per element and input.
func methodFlops(method string) int64 {
	switch method {
	case "", "linear":
		return 2
	case "task_arithmetic":
		return 3
	case "slerp":
		return 6
	}
	return 8 // ties, dare, model_stock: selection, masks, norms
}
