package planner

import (
	"fmt"
	"strings"
)

// Explain prints a plan as indented text: the operation, its inputs, the
// rules that shaped it and the cost estimate. The output is stable, so it
// is kept in golden files.
func Explain(p *Plan) string {
	var b strings.Builder
	switch n := p.Root.(type) {
	case *ShowModelsNode:
		b.WriteString("ShowModels\n  scan: model records\n")
	case *ShowTensorsNode:
		explainShowTensors(&b, n)
	case *GetNode:
		fmt.Fprintf(&b, "Get %s\n  tensor: %s %s %s codec=%s stored=%s\n", n.Sel, n.Tensor.Name, n.Tensor.DType, n.Tensor.Shape, n.Tensor.Codec, Bytes(n.Tensor.StoredBytes))
	case *FuseNode:
		explainFuse(&b, n)
	}
	if len(p.Rules) > 0 {
		fmt.Fprintf(&b, "  rules: %s\n", strings.Join(p.Rules, ", "))
	}
	return b.String()
}

func explainShowTensors(b *strings.Builder, n *ShowTensorsNode) {
	from := "all models"
	if n.Model != "" {
		from = "model " + n.Model
	}
	fmt.Fprintf(b, "ShowTensors from=%s\n", from)
	if len(n.Index) == 0 {
		b.WriteString("  scan: tensor records\n")
	}
	for _, p := range n.Index {
		fmt.Fprintf(b, "  bitmap: %s\n", p)
	}
	for _, p := range n.Filter {
		fmt.Fprintf(b, "  filter: %s\n", p)
	}
}

func explainFuse(b *strings.Builder, n *FuseNode) {
	into := "returned"
	if n.Into != "" {
		into = "INTO " + n.Into
	}
	fmt.Fprintf(b, "Fuse method=weighted_sum pairing=%s output=%s\n", n.Pairing, into)
	for i, in := range n.Inputs {
		fmt.Fprintf(b, "  input %d: %s weight=%g\n", i+1, in, n.Weights[i])
	}
	c := n.Cost
	fmt.Fprintf(b, "  estimate: tensors=%d read=%s write=%s flops=%s peak_memory=%s\n",
		len(n.Groups), Bytes(c.BytesRead), Bytes(c.BytesWritten), count(c.Flops), Bytes(c.PeakMemory))
	for _, g := range n.Groups {
		op := "sum"
		if g.Copy {
			op = "copy"
		}
		key := g.Key
		if key == "" {
			key = g.Out.Name
		}
		fmt.Fprintf(b, "  %s %s %s %s <- %d inputs\n", op, key, g.Out.DType, g.Out.Shape, len(g.In))
	}
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
