package planner

import (
	"context"
	"fmt"
	"path"
	"strings"
)

// Run executes a plan (or prints it, for EXPLAIN; EXPLAIN ANALYZE runs it
// and prints the plan with measured figures).
func Run(ctx context.Context, p *Plan, st Storage) (*Result, error) {
	if p.Explain && !p.Analyze {
		return explainResult(Explain(p)), nil
	}
	if p.Analyze {
		return analyze(ctx, p, st)
	}
	return run(ctx, p, st)
}

func explainResult(text string) *Result {
	r := table("plan")
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		r.add(line)
	}
	return r
}

func run(ctx context.Context, p *Plan, st Storage) (*Result, error) {
	switch n := p.Root.(type) {
	case *ShowModelsNode:
		return showModels(st)
	case *ShowLayersNode:
		return showLayers(n, st)
	case *ShowTensorsNode:
		return showTensors(n, st)
	case *DescribeNode:
		return describe(n, st)
	case *StatsNode:
		return statsWithTier(n, st)
	case *DiffNode:
		return runDiff(ctx, n, st)
	case *DeleteNode:
		return deleteModel(n, st)
	case *CheckNode:
		return check(n, st)
	case *GetNode:
		return get(n, st)
	case *FuseNode:
		return runFuse(ctx, n, st)
	case *IngestNode:
		return runIngest(ctx, n, st)
	case *ExportNode:
		return runExport(ctx, n, st)
	case *CompressNode:
		return runCompress(ctx, n, st)
	case *AttachNode:
		return runAttach(ctx, n, st)
	case *DetachNode:
		return runDetach(ctx, n, st)
	case *VacuumNode:
		return runVacuum(ctx, st)
	}
	return nil, fmt.Errorf("vsdb: cannot run %T", p.Root)
}

func showModels(cat Catalog) (*Result, error) {
	ms, err := cat.Models()
	if err != nil {
		return nil, err
	}
	r := table("model", "tensors", "raw_bytes", "stored_bytes", "ratio", "source", "created")
	for _, m := range ms {
		r.add(m.Name, m.Tensors, m.RawBytes, m.StoredBytes, ratio(m.RawBytes, m.StoredBytes), m.Source, m.Created)
	}
	return r, nil
}

func ratio(raw, stored int64) float64 {
	if stored == 0 {
		return 1
	}
	return float64(int64(float64(raw)/float64(stored)*1000+0.5)) / 1000
}

func showTensors(n *ShowTensorsNode, cat Catalog) (*Result, error) {
	ts, err := candidates(n, cat)
	if err != nil {
		return nil, err
	}
	r := table("model", "name", "layer", "param", "dtype", "shape", "codec", "raw_bytes", "stored_bytes", "rel_error", "reads", "tier")
	for _, t := range ts {
		if !eval(n.Filter, t) {
			continue
		}
		r.add(t.Model, t.Name, t.Layer, t.Param, t.DType.String(), shapeList(t), t.Codec, t.RawBytes, t.StoredBytes, t.RelError, t.Reads, t.Tier)
	}
	return r, nil
}

func shapeList(t TensorInfo) []int64 {
	if t.Shape == nil {
		return []int64{}
	}
	return t.Shape
}

// candidates lists the tensors the indexes leave, or the model (or every
// model) when no index applies.
func candidates(n *ShowTensorsNode, cat Catalog) ([]TensorInfo, error) {
	if len(n.Index) == 0 {
		return listTensors(n.Model, cat)
	}
	ids, err := indexCandidates(n, cat)
	if err != nil {
		return nil, err
	}
	return cat.TensorsByID(ids)
}

func listTensors(model string, cat Catalog) ([]TensorInfo, error) {
	if model != "" {
		return cat.Tensors(model)
	}
	ms, err := cat.Models()
	if err != nil {
		return nil, err
	}
	var out []TensorInfo
	for _, m := range ms {
		ts, err := cat.Tensors(m.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
	}
	return out, nil
}

// like matches SQL LIKE patterns: % any run, _ one character.
func like(pattern, s string) bool {
	var b strings.Builder
	for _, r := range pattern {
		switch r {
		case '%':
			b.WriteByte('*')
		case '_':
			b.WriteByte('?')
		case '*', '?', '[', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	ok, _ := path.Match(b.String(), s)
	return ok
}
