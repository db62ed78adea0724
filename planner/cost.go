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
	var largest int64
	for _, g := range n.Groups {
		inputs := int64(len(g.In))
		for _, t := range g.In {
			c.BytesRead += t.storedRead()
			c.BytesCached += t.CachedBytes
		}
		if g.Base != nil {
			c.BytesRead += g.Base.storedRead()
			c.BytesCached += g.Base.CachedBytes
			inputs++
		}
		outBytes := g.Elems * int64(g.Out.DType.Size())
		if n.Into != "" {
			c.BytesWritten += outBytes
		} else {
			c.PeakMemory += outBytes
		}
		if !g.Copy {
			c.Flops += methodFlops(n.Method) * g.Elems * inputs
		}
		largest = max(largest, g.Elems*4*(inputs+1))
	}
	if n.Streaming {
		// Per input: the encoded chunk, the decoded chunk and its float32
		// window; plus the float32 output window and its encoded form.
		inputs := int64(len(n.Inputs))
		if n.Base != "" {
			inputs++
		}
		c.PeakMemory += window * (3*inputs + 2)
	} else {
		// Whole tensors in float32: every input, the base and the output.
		c.PeakMemory += largest
	}
	return c
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
