package planner

import (
	"fmt"
	"strings"
)

// Explain prints a plan as indented text: the operation, its inputs, the
// indexes or scans it uses, the cost estimate and the rules that shaped it.
// The output is stable, so it is kept in golden files.
func Explain(p *Plan) string {
	var b strings.Builder
	switch n := p.Root.(type) {
	case *ShowModelsNode:
		b.WriteString("ShowModels\n  scan: model records\n")
	case *ShowLayersNode:
		fmt.Fprintf(&b, "ShowLayers from=%s\n  scan: tensor records, grouped by layer\n", fromText(n.Model))
	case *ShowTensorsNode:
		explainShowTensors(&b, n)
	case *DescribeNode:
		fmt.Fprintf(&b, "Describe model=%s\n  scan: tensor records of the model\n", n.Model)
	case *StatsNode:
		fmt.Fprintf(&b, "Stats from=%s\n  scan: tensor records, summed per codec\n", fromText(n.Model))
	case *DeleteNode:
		fmt.Fprintf(&b, "DeleteModel model=%s\n  write: one batch (records, names, bitmaps, chunk range delete)\n", n.Model)
	case *CheckNode:
		fmt.Fprintf(&b, "Check from=%s\n  read: every record, bitmap and chunk; decode and checksum\n", fromText(n.Model))
	case *GetNode:
		fmt.Fprintf(&b, "Get %s\n  tensor: %s %s %s codec=%s stored=%s\n", n.Sel, n.Tensor.Name, n.Tensor.DType, n.Tensor.Shape, n.Tensor.Codec, Bytes(n.Tensor.StoredBytes))
	case *DiffNode:
		explainDiff(&b, n)
	case *FuseNode:
		explainFuse(&b, n)
	case *IngestNode:
		fmt.Fprintf(&b, "Ingest path=%q as=%s%s\n  write: chunks as one ingested sstable, then one batch of records and bitmaps\n", n.Path, orDefault(n.Load.Name, "(from the file name)"), loadText(n.Load))
	case *ExportNode:
		opts := ""
		if n.Options.ShardSize > 0 {
			opts += " shard_size=" + Bytes(n.Options.ShardSize)
		}
		if n.Options.DType != "" {
			opts += " dtype=" + n.Options.DType
		}
		fmt.Fprintf(&b, "Export model=%s path=%q%s\n  read: every chunk once; write: a temporary file (or folder) renamed into place\n", n.Model, n.Path, opts)
	case *CompressNode:
		fmt.Fprintf(&b, "Compress model=%s into=%s%s\n  read: every chunk once; write: as Ingest\n", n.Model, n.Load.Name, loadText(n.Load))
	case *AttachNode, *DetachNode, *VacuumNode:
		explainTier(&b, n)
	}
	if len(p.Rules) > 0 {
		fmt.Fprintf(&b, "  rules: %s\n", strings.Join(p.Rules, ", "))
	}
	return b.String()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func loadText(o LoadOptions) string {
	out := ""
	if o.Codec != "" {
		out += " codec=" + o.Codec
	}
	if o.Rank > 0 {
		out += fmt.Sprintf(" rank=%d", o.Rank)
	}
	if o.Budget > 0 {
		out += fmt.Sprintf(" budget=%g", o.Budget)
	}
	if o.Base != "" {
		out += " base=" + o.Base
	}
	return out
}

func fromText(model string) string {
	if model == "" {
		return "all models"
	}
	return "model " + model
}

func explainShowTensors(b *strings.Builder, n *ShowTensorsNode) {
	fmt.Fprintf(b, "ShowTensors from=%s\n", fromText(n.Model))
	if n.Model != "" && len(n.Index) > 0 {
		fmt.Fprintf(b, "  bitmap: model = '%s'\n", n.Model)
	}
	if len(n.Index) == 0 {
		b.WriteString("  scan: tensor records\n")
	}
	for _, c := range n.Index {
		kind := "bitmap"
		if c.Field == "reads" {
			kind = "bit-sliced index"
		}
		fmt.Fprintf(b, "  %s: %s\n", kind, c)
	}
	if n.Filter != nil {
		fmt.Fprintf(b, "  filter: %s\n", n.Filter)
	}
}

func explainDiff(b *strings.Builder, n *DiffNode) {
	fmt.Fprintf(b, "Diff pairing=%s\n  left: %s\n  right: %s\n", n.Pairing, n.Left, n.Right)
	c := n.Cost
	fmt.Fprintf(b, "  estimate: tensors=%d read=%s%s flops=%s peak_memory=%s\n", len(n.Groups), Bytes(c.BytesRead), cachedText(c), count(c.Flops), Bytes(c.PeakMemory))
}

func explainFuse(b *strings.Builder, n *FuseNode) {
	into := "returned"
	if n.Into != "" {
		into = "INTO " + n.Into
	}
	method, exec := "weighted_sum", "streaming"
	if n.Method != "" {
		method = n.Method
	}
	if !n.Streaming {
		exec = "whole tensors"
	}
	fmt.Fprintf(b, "Fuse method=%s execution=%s pairing=%s output=%s\n", method, exec, n.Pairing, into)
	for i, in := range n.Inputs {
		w := ""
		if i < len(n.Weights) {
			w = " weight=" + n.Weights[i].String()
		}
		fmt.Fprintf(b, "  input %d: %s%s\n", i+1, in, w)
	}
	if n.Base != "" {
		fmt.Fprintf(b, "  base: %s\n", n.Base)
	}
	if len(n.Options) > 0 {
		opts := make([]string, len(n.Options))
		for i, o := range n.Options {
			opts[i] = o.String()
		}
		fmt.Fprintf(b, "  options: %s\n", strings.Join(opts, ", "))
	}
	if n.Where != nil {
		fmt.Fprintf(b, "  filter: %s\n", n.Where)
	}
	c := n.Cost
	fmt.Fprintf(b, "  estimate: tensors=%d read=%s%s write=%s flops=%s peak_memory=%s\n",
		len(n.Groups), Bytes(c.BytesRead), cachedText(c), Bytes(c.BytesWritten), count(c.Flops), Bytes(c.PeakMemory))
	for _, g := range n.Groups {
		op := "merge"
		if g.Copy {
			op = "copy"
		}
		fmt.Fprintf(b, "  %s %s %s %s <- %d inputs%s%s\n", op, g.Out.Name, g.Out.DType, g.Out.Shape, len(g.In), baseText(g), weightsText(n, g))
		if g.LowRank != nil {
			explainLowRank(b, g.LowRank)
		}
	}
}

// explainLowRank shows the factored path a group takes and the estimated
// cost of both paths.
func explainLowRank(b *strings.Builder, p *LowRankPath) {
	out := "dense product"
	if p.Store {
		out = "factors"
		if p.DeltaBase != nil && p.Beta == 1 {
			out += " (delta against " + p.DeltaBase.Ref() + ")"
		}
	} else if p.DeltaBase != nil && p.Beta != 0 {
		out += fmt.Sprintf(" + %.4g·%s", p.Beta, p.DeltaBase.Ref())
	}
	f, d := p.Factored, p.Dense
	fmt.Fprintf(b, "    path: factored space, %d×%d at rank %d, output %s\n", p.M, p.N, p.Rank, out)
	fmt.Fprintf(b, "    cost: factored flops=%s read=%s write=%s memory=%s; dense flops=%s read=%s write=%s memory=%s\n",
		count(f.Flops), Bytes(f.BytesRead), Bytes(f.BytesWritten), Bytes(f.PeakMemory),
		count(d.Flops), Bytes(d.BytesRead), Bytes(d.BytesWritten), Bytes(d.PeakMemory))
}

// cachedText notes bytes the hot-tensor cache serves.
func cachedText(c Cost) string {
	if c.BytesCached == 0 {
		return ""
	}
	return " (+" + Bytes(c.BytesCached) + " cached)"
}

func baseText(g FuseGroup) string {
	if g.Base == nil {
		return ""
	}
	return " + base"
}

// weightsText shows a group's weights when they vary by layer.
func weightsText(n *FuseNode, g FuseGroup) string {
	gradient := false
	for _, w := range n.Weights {
		gradient = gradient || w.Gradient != nil
	}
	if !gradient || len(g.Weights) == 0 {
		return ""
	}
	parts := make([]string, len(g.Weights))
	for i, w := range g.Weights {
		parts[i] = fmt.Sprintf("%.4g", w)
	}
	return " w=[" + strings.Join(parts, ", ") + "]"
}

// Bytes formats a byte count in binary units (B, KiB, MiB, GiB, TiB).
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), 0
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB"}
	for v /= unit; v >= unit && i < len(units)-1; v /= unit {
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

func count(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1fG", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
